"""Golden comparison: ``bmsgw read --json`` against each simulator state gives the same document as before.

Each case serves a simulator (``bmsgw simulate --profile static --seed N``) and reads it with ``bmsgw read --json``
as two real processes; the document (with the simulator's ephemeral port replaced) must equal the stored one in
``tests/golden/read/<case>.json``. The stored documents were written by the code as it stood before the architecture
rework (issue 15); ``BMS_GOLDEN_UPDATE=1`` rewrites them — only do that for an intended change of the output.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.vendor_plugins.cli_runner import bmsgw, running

GOLDEN = Path(__file__).with_name("read")

#: case name -> (simulate arguments, read arguments after the transport)
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "jbd": (("--vendor", "jbd"), ("--vendor", "jbd")),
    "daly-a5": (("--vendor", "daly", "--family", "a5"), ("--vendor", "daly", "--family", "a5")),
    "daly-d2": (("--vendor", "daly", "--family", "d2"), ("--vendor", "daly", "--family", "d2")),
    "daly-p81": (("--vendor", "daly", "--family", "p81"), ("--vendor", "daly", "--family", "p81")),
    "daly-auto": (("--vendor", "daly", "--family", "d2"), ("--vendor", "daly")),
    "pace-ascii-25": (("--vendor", "pace", "--family", "ascii-25"), ("--vendor", "pace")),
    "pace-ascii-20": (("--vendor", "pace", "--family", "ascii-20"), ("--vendor", "pace", "--family", "ascii-20")),
    "pace-bus": (("--vendor", "pace", "--packs", "3"), ("--vendor", "pace", "--address", "all")),
    "pace-modbus-rtu": (
        ("--vendor", "pace", "--family", "modbus"),
        ("--vendor", "pace", "--protocol", "modbus", "--address", "1"),
    ),
    "hiximi-jbd": (("--vendor", "hiximi", "--family", "jbd"), ("--vendor", "hiximi")),
    "hiximi-daly-d2": (("--vendor", "hiximi", "--family", "daly-d2"), ("--vendor", "hiximi")),
    "hiximi-daly-a5": (("--vendor", "hiximi", "--family", "daly-a5"), ("--vendor", "hiximi")),
}


def _read(case: str) -> dict[str, object]:
    sim_args, read_args = CASES[case]
    with running("simulate", *sim_args, "--tcp", "127.0.0.1:0", "--profile", "static", "--seed", "7") as (url, _):
        where = url.removeprefix("tcp://")
        result = bmsgw("read", "--tcp", where, *read_args, "--json", timeout=30)
    assert result.returncode == 0, result.stderr
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", result.stdout)
    document: dict[str, object] = json.loads(text)
    return document


@pytest.mark.parametrize("case", sorted(CASES))
def test_read_json_matches_golden(case: str) -> None:
    document = _read(case)
    path = GOLDEN / f"{case}.json"
    if os.environ.get("BMS_GOLDEN_UPDATE") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no golden document {path.name} (BMS_GOLDEN_UPDATE=1 writes it)"
    assert document == json.loads(path.read_text())
