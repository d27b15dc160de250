"""``bmsgw read --ble … --vendor pace --address all`` against a simulated PACEEX master with two slaves.

The command runs in-process; the only thing replaced is the Bluetooth radio: the link the CLI opens through
:func:`vendor_plugins.connect.open_link` gets the host-access hook every Bluetooth host uses (``BleAccess``) with the
library's :class:`~vendor_plugins.sim.ble.FakeBleClient` in front of the simulator as its client. Everything else —
argument checking, family choice (a Bluetooth PACE link speaks PACEEX), the bus scan, the JSON document — is the
product's own path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from vendor_plugins import cli, connect
from vendor_plugins.connect import BleAccess, LinkSettings
from vendor_plugins.pace import table_paceex as t
from vendor_plugins.pace.simulator_paceex import PaceexSimulator
from vendor_plugins.plugin import LinkKind, SessionOptions, VendorPlugin
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports.base import Link

from .test_paceex_session import ADDRESS, bank


@pytest.fixture
def radio(monkeypatch: pytest.MonkeyPatch) -> PaceexSimulator:
    """A master holding packs 1-3, reached by ``--ble ADDRESS`` through the fake BLE client."""
    sim = bank(3)
    real_open_link = connect.open_link

    def open_link(
        settings: LinkSettings, plugin: VendorPlugin, options: SessionOptions | None = None, **kwargs: Any
    ) -> Link:
        if settings.kind is LinkKind.BLE:
            assert settings.address == ADDRESS
            profile = plugin.ble_profile
            assert profile is not None
            kwargs["ble"] = BleAccess(device=ADDRESS, client_factory=lambda: FakeBleClient(sim, profile))
        return real_open_link(settings, plugin, options, **kwargs)

    monkeypatch.setattr(connect, "open_link", open_link)
    return sim


def test_read_all_packs_as_json(radio: PaceexSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["read", "--ble", ADDRESS, "--vendor", "pace", "--address", "all", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert (document["vendor"], document["family"], document["transport"]) == ("pace", "paceex", f"ble://{ADDRESS}")
    packs = document["packs"]
    assert [p["address"] for p in packs] == [1, 2, 3]
    for pack in packs:
        image = radio.packs[pack["address"]]
        assert pack["error"] is None
        assert pack["snapshot"]["cell_voltages"] == image.cells and len(image.cells) == 16
        assert pack["snapshot"]["current"] == image.current
        assert pack["snapshot"]["remaining_capacity"] == image.remaining_capacity
        assert pack["device"]["family"] == "paceex" and pack["device"]["address"] == pack["address"]
    assert packs[0]["device"]["serial_number"] == radio.serial_number
    per_pack = [r for r in radio.requests if r[1 : 1 + t.TYPE_SIZE] == t.FrameType.PACK.to_bytes(t.TYPE_SIZE)]
    assert {r[t.HEADER_SIZE] for r in per_pack} >= {1, 2, 3}


def test_read_all_packs_as_a_table(radio: PaceexSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["read", "--ble", ADDRESS, "--vendor", "pace", "--address", "all"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "(paceex)" in out.splitlines()[0]
    for n in (1, 2, 3):
        assert f"{radio.packs[n].remaining_capacity:g}" in out


def test_one_slave_by_address(radio: PaceexSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["read", "--ble", ADDRESS, "--vendor", "pace", "--address", "3", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    [pack] = json.loads(out)["packs"]
    assert pack["address"] == 3 and pack["snapshot"]["cycles"] == radio.packs[3].cycles


def test_switching_is_refused_with_exit_4(radio: PaceexSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["set", "--ble", ADDRESS, "--vendor", "pace", "--switch", "charge", "--off", "--allow-control"]
    code = cli.main(argv)
    _, err = capsys.readouterr()
    assert code == 4
    assert err.count("\n") == 1 and "no documented command" in err
    assert list(radio.requests) == []
