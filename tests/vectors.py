"""Access to the shared, real protocol vectors (``../shared/protocols/vectors``), read in place.

Tests that need them skip with a clear reason when the folder is absent (a clone without ``../shared`` beside it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTOR_DIR = Path(os.environ.get("BMS_VECTOR_DIR", ROOT.parent / "shared" / "protocols" / "vectors"))


def load_vectors(name: str) -> list[dict[str, Any]]:
    """Entries of ``<name>.json``; skips the calling test when the shared vectors are not beside the checkout."""
    path = VECTOR_DIR / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"shared protocol vectors not found at {path} (clone with ../shared beside it)")
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def vector_ids(name: str) -> list[str]:
    """Vector ids for parametrisation (empty when the file is missing; the tests then skip)."""
    path = VECTOR_DIR / f"{name}.json"
    if not path.is_file():
        return ["vectors-missing"]
    return [entry["id"] for entry in json.loads(path.read_text())]


def vector(name: str, vector_id: str) -> dict[str, Any]:
    """One entry by id (skips when the vectors are missing)."""
    for entry in load_vectors(name):
        if entry["id"] == vector_id:
            return entry
    raise KeyError(vector_id)
