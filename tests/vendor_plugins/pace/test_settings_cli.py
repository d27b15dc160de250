"""``bmsgw settings`` against the PACE ASCII v0x25 simulator: get --json and a verified set.

In-process runs (``cli.main``) against a simulator served over TCP from a thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.vendor_plugins.sim_links import threaded_tcp
from vendor_plugins import cli
from vendor_plugins.pace import table_settings_ascii as ta
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator

pytestmark = pytest.mark.timeout(60)

LINK = ("--vendor", "pace", "--family", "ascii-25", "--address", "1")


@pytest.fixture
def served() -> Iterator[tuple[str, PaceAsciiSimulator]]:
    sim = PaceAsciiSimulator(address=1)
    with threaded_tcp(sim) as where:
        yield where, sim


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_get_and_set(served: tuple[str, PaceAsciiSimulator], capsys: pytest.CaptureFixture[str]) -> None:
    where, sim = served
    code, out, err = run(capsys, "settings", "get", "--tcp", where, *LINK, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == set(ta.TABLE.names) and data["cell_overvoltage_release"] == 3.38
    code, out, err = run(
        capsys, "settings", "set", "charge_overcurrent_protect=120", "--tcp", where, *LINK, "--allow-control", "--yes"
    )
    assert code == 0, err
    assert "charge_overcurrent_protect: 110 -> 120 A" in out
    assert sim.settings.values["charge_overcurrent_protect"] == 120
