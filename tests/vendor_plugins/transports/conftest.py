"""Fixtures for the link tests (the line protocol itself lives in :mod:`.line_protocol`)."""

from __future__ import annotations

import pytest

from .line_protocol import LineSim


@pytest.fixture
def sim() -> LineSim:
    """A line simulator that stays silent for id 0xEE."""
    return LineSim(silent={0xEE})
