"""``bmsgw read --address all --bank``: end to end against a simulated bus of three packs, usage errors, rendering."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from vendor_plugins import cli
from vendor_plugins.bank import BankConfig, BankMode, FreshnessPolicy
from vendor_plugins.cli.bank_output import bank_of, render_bank
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.model import Alarm, BmsSnapshot
from vendor_plugins.reader import PackResult

from .cli_runner import bmsgw, running

GOLDEN_BUS = Path(__file__).resolve().parents[1] / "golden" / "read" / "pace-bus.json"


def _read_bus(*extra: str) -> tuple[int, str, str]:
    """``bmsgw read --address all EXTRA`` against ``simulate --packs 3`` (static profile, seed 7)."""
    sim = ("simulate", "--vendor", "pace", "--packs", "3", "--tcp", "127.0.0.1:0", "--profile", "static", "--seed", "7")
    with running(*sim) as (url, _):
        where = url.removeprefix("tcp://")
        result = bmsgw("read", "--tcp", where, "--vendor", "pace", "--address", "all", *extra, timeout=30)
    return result.returncode, re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", result.stdout), result.stderr


def test_json_bank_of_a_simulated_bus() -> None:
    """The bank object sums / extremes the very packs of the document, and the rest of the document is unchanged."""
    code, out, err = _read_bus("--bank", "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    bank = document.pop("bank")
    assert document == json.loads(GOLDEN_BUS.read_text())  # the golden pace-bus document, byte for byte in content
    packs = {p["address"]: p["snapshot"] for p in document["packs"]}
    assert bank["mode"] == "parallel" and bank["members"] == [1, 2, 3]
    assert bank["missing"] == [] and bank["degraded"] is False
    snap = bank["snapshot"]
    for name in ("current", "power", "stored_energy", "remaining_capacity", "full_capacity"):
        assert snap[name] == pytest.approx(math.fsum(p[name] for p in packs.values()), abs=1e-3), name
    assert min(p["soc"] for p in packs.values()) <= snap["soc"] <= max(p["soc"] for p in packs.values())
    assert snap["cell_min"] == min(p["cell_min"] for p in packs.values())
    at = snap["cell_min_at"]
    assert packs[at["pack"]]["cell_voltages"][at["cell"] - 1] == snap["cell_min"]
    assert snap["cell_min"] <= snap["cell_average"] <= snap["cell_max"]


def test_series_bank_and_table_output() -> None:
    """Series: voltage is the sum; the table shows the bank block after the last pack."""
    code, out, err = _read_bus("--bank", "--bank-mode", "series", "--json")
    assert code == 0, err
    document = json.loads(out)
    volts = [p["snapshot"]["voltage"] for p in document["packs"]]
    assert document["bank"]["mode"] == "series"
    assert document["bank"]["snapshot"]["voltage"] == pytest.approx(sum(volts), abs=1e-3)
    code, out, err = _read_bus("--bank")
    assert code == 0, err
    assert out.index("Bank (parallel): packs 1, 2, 3") > out.index("Pack 3")
    assert "Cells            min " in out and "(pack " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vendor", "pace", "--bank"], "add --address all"),
        (["--vendor", "pace", "--address", "1", "--bank"], "add --address all"),
        (["--vendor", "jbd", "--address", "all", "--bank"], "one pack per connection"),
        (["--vendor", "pace", "--address", "all", "--bank-mode", "series"], "need --bank"),
        (["--vendor", "pace", "--address", "all", "--bank", "--bank-mode", "ring"], "invalid choice"),
    ],
)
def test_bank_without_a_bus_is_a_usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    """--bank needs a bus (--address all on a multi-address vendor): one line, exit 2, nothing opened."""
    code = cli.main(["read", "--tcp", "127.0.0.1:1", *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def _results() -> list[PackResult]:
    a = BmsSnapshot(voltage=53.0, current=-5.0, charge_mosfet=False, alarms=frozenset({Alarm.LOW_SOC}))
    b = BmsSnapshot(voltage=53.2, current=-7.0, charge_mosfet=True)
    return [
        PackResult(1, None, a),
        PackResult(2, None, None, DeviceTimeout("no reply")),
        PackResult(3, None, b),
    ]


def test_a_silent_pack_under_both_policies() -> None:
    """A pack that did not answer this round: no bank values (all), or the others', degraded (available)."""
    blocked = bank_of(_results(), BankConfig())
    assert blocked.to_dict() == {
        "mode": "parallel",
        "members": [1, 2, 3],
        "missing": [2],
        "degraded": True,
        "snapshot": None,
    }
    assert render_bank(blocked) == "Bank (parallel): packs 1, 2, 3; missing 2, no bank values"
    partial = bank_of(_results(), BankConfig(mode=BankMode.PARALLEL, policy=FreshnessPolicy.AVAILABLE))
    assert partial.available and partial.degraded and partial.current == -12.0
    text = render_bank(partial)
    assert text.startswith("Bank (parallel): packs 1, 2, 3; missing 2\n")
    assert "charge off, discharge - (charge off: pack 1)" in text
    assert "low_soc (pack 1)" in text
