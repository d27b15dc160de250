"""``bmsgw settings`` against the DALY D2 simulator: get --json, set --yes (verified), backup and restore.

In-process runs (``cli.main``) against a simulator served over TCP from a thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vendor_plugins.sim_links import threaded_tcp
from vendor_plugins import cli
from vendor_plugins.daly import table as t
from vendor_plugins.daly import table_settings as ts
from vendor_plugins.daly.simulator import ModbusSimulator

pytestmark = pytest.mark.timeout(60)

LINK = ("--vendor", "daly", "--family", "d2")


@pytest.fixture
def served() -> Iterator[tuple[str, ModbusSimulator]]:
    sim = ModbusSimulator()
    with threaded_tcp(sim) as where:
        yield where, sim


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_get_set_backup_restore(
    served: tuple[str, ModbusSimulator], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    where, sim = served
    code, out, err = run(capsys, "settings", "get", "--tcp", where, *LINK, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == set(ts.TABLE.names) and data["cell_overvoltage_protect"] == 3.65
    backup = tmp_path / "daly.json"
    code, _, err = run(capsys, "settings", "backup", "--tcp", where, *LINK, "--out", str(backup))
    assert code == 0, err
    code, out, err = run(
        capsys, "settings", "set", "cell_overvoltage_alarm=3.5", "--tcp", where, *LINK, "--allow-control", "--yes"
    )
    assert code == 0, err
    assert "cell_overvoltage_alarm: 3.55 -> 3.5 V" in out
    assert sim.settings.registers[0x8B] == 3500
    code, out, err = run(capsys, "settings", "restore", str(backup), "--tcp", where, *LINK, "--allow-control", "--yes")
    assert code == 0, err
    assert sim.settings.registers[0x8B] == 3550
    assert sum(1 for r in sim.requests if r[1] == t.FC_WRITE) == 2


def test_set_without_allow_control_sends_nothing(
    served: tuple[str, ModbusSimulator], capsys: pytest.CaptureFixture[str]
) -> None:
    where, sim = served
    code, _, err = run(capsys, "settings", "set", "cell_overvoltage_alarm=3.5", "--tcp", where, *LINK)
    assert code == 4 and "--allow-control" in err
    assert list(sim.requests) == []


def test_a5_family_is_refused_with_the_reason(
    served: tuple[str, ModbusSimulator], capsys: pytest.CaptureFixture[str]
) -> None:
    where, sim = served
    code, _, err = run(capsys, "settings", "get", "--tcp", where, "--vendor", "daly", "--family", "a5")
    assert code == 3 and "A5" in err and "no documented settings map" in err
    assert list(sim.requests) == []
