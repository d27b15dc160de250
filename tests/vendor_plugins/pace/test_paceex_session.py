"""The PACEEX session over the library's BLE link and the fake BLE client: a bank's master answering for its packs.

A simulated master holding packs 1-3 (each different) sits behind :class:`~vendor_plugins.sim.ble.FakeBleClient`
(20-byte notifications, like a real BLE stack). Reading, scanning (``--address all``), device info, the
not-master case (aiobmsble PR #259: zeros for the bank query), refused control, and the plugin's wiring
(a Bluetooth link speaks PACEEX; ``PC-`` advertisements from public captures are PACE's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vendor_plugins.connect import BleAccess, LinkSettings, open_link
from vendor_plugins.errors import AddressError, ConfigError, ControlRefused, UnsupportedError
from vendor_plugins.model import Switch
from vendor_plugins.pace import table_paceex as t
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.session_paceex import PaceexSession
from vendor_plugins.pace.simulator_paceex import PaceexSimulator, image_of
from vendor_plugins.pace.simulator_state import initial_state
from vendor_plugins.plugin import Advertisement, SessionOptions
from vendor_plugins.reader import PackReader
from vendor_plugins.registry import default_registry
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports.base import Link

from ..readonly import assert_read_only

ADDRESS = "28:BB:ED:01:89:2E"
#: Real advertisements of PACEEX units: BMS_BLE-HA issue #470 (PC-892E at 28:BB:ED:01:89:2E, manufacturer data
#: 04 28 BB ED 01 89 2E 50 43 00 34 33 32 31 00…: id 0x2804, then the rest) and aiobmsble's test data pace_bms.json
#: (PC-9662, "source advmon", BMS_BLE-HA issue #521; no address given: the one its manufacturer data carries).
REAL_ADVERTS = (
    Advertisement(
        address="28:BB:ED:01:89:2E",
        local_name="PC-892E",
        manufacturer_data={0x2804: bytes.fromhex("bbed01892e504300" + "34333231" + "00" * 9)},
    ),
    Advertisement(
        address="B4:C2:E0:01:01:01",
        local_name="PC-9662",
        manufacturer_data={1: bytes.fromhex("04b4c2e00101015043003132333435363738393031325a")},
    ),
)


def bank(count: int = 3) -> PaceexSimulator:
    """A master answering for ``count`` packs (each its own state), zeros for the pack numbers it does not have."""
    images = {n: image_of(initial_state(n, n)) for n in range(1, count + 1)}
    for n, img in images.items():
        img.current = round(-2.5 * n, 2)
    return PaceexSimulator(images, empty_for_absent=True, serial_number="PC892E0001")


def ble_link(sim: PaceexSimulator, options: SessionOptions | None = None) -> Link:
    """The link the product opens for a Bluetooth PACE device, its client the fake one in front of ``sim``."""
    access = BleAccess(device=ADDRESS, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE, address=ADDRESS))
    return open_link(LinkSettings.ble(ADDRESS, timeout=1.0), PLUGIN, options, ble=access)


@pytest.fixture
async def master() -> AsyncIterator[tuple[PaceexSession, PaceexSimulator]]:
    sim = bank()
    link = ble_link(sim)
    session = PLUGIN.open_session(link)
    assert isinstance(session, PaceexSession)
    try:
        yield session, sim
    finally:
        await link.close()


async def test_a_bluetooth_link_speaks_paceex(master: tuple[PaceexSession, PaceexSimulator]) -> None:
    session, _ = master
    assert session.family == "paceex" and session.link.kind == "ble"


async def test_each_pack_of_the_bank_reads_its_own_values(master: tuple[PaceexSession, PaceexSimulator]) -> None:
    session, sim = master
    for n in (1, 2, 3):
        snap = await session.read(n)
        img = sim.packs[n]
        assert snap.cell_voltages == tuple(img.cells)
        assert snap.current == img.current == -2.5 * n
        assert snap.remaining_capacity == img.remaining_capacity
        assert snap.cycles == img.cycles
        assert [x.name for x in snap.temperatures] == ["cell_1", "cell_2", "cell_3", "cell_4", "mosfet", "ambient"]
    asked = [bytes(r) for r in sim.requests]
    assert {r[t.HEADER_SIZE] for r in asked} == {1, 2, 3}  # the pack number is the first data byte


async def test_scan_finds_the_three_packs(master: tuple[PaceexSession, PaceexSimulator]) -> None:
    session, session_sim = master
    reader = PackReader.scanning(session, range(16))
    results = await reader.read_round()
    assert [r.address for r in results] == [1, 2, 3]
    assert all(r.snapshot is not None and len(r.snapshot.cell_voltages) == 16 for r in results)
    assert len({r.snapshot.current for r in results if r.snapshot}) == 3
    assert results[0].device is not None and results[0].device.serial_number == "PC892E0001"
    assert results[1].device is not None and results[1].device.serial_number is None  # texts describe pack 1 only
    assert [r.device.cell_count for r in results if r.device] == [16, 16, 16]
    assert assert_read_only(session_sim.requests) > 16  # scanning sends only queries


async def test_a_missing_pack_number_is_no_pack(master: tuple[PaceexSession, PaceexSimulator]) -> None:
    session, _ = master
    with pytest.raises(AddressError):
        await session.read(4)
    with pytest.raises(ConfigError):
        await session.read(0)


async def test_master_and_slave_answer_the_bank_query(master: tuple[PaceexSession, PaceexSimulator]) -> None:
    session, _ = master
    system = await session.read_system()
    assert system["pack_count"] == 3 and system["current"] == -1500  # -2.5 - 5 - 7.5 A in 0.01 A
    slave = PaceexSimulator(image_of(initial_state(1, 1)), master=False)
    link = ble_link(slave)
    try:
        other = PLUGIN.open_session(link)
        assert isinstance(other, PaceexSession)
        assert not any((await other.read_system()).values())  # zeros: the bank query belongs to the master
        assert (await other.read()).cell_voltages == tuple(slave.packs[1].cells)  # its own pack query works
    finally:
        await link.close()


async def test_device_info_of_the_connected_pack(master: tuple[PaceexSession, PaceexSimulator]) -> None:
    session, _ = master
    info = await session.device_info()
    assert (info.vendor, info.family, info.address, info.cell_count) == ("PACE", "paceex", 1, 16)
    assert (info.model, info.software_version, info.hardware_version) == ("P16S100A", "P16S100A-SIM-1.00", "SIMV100")


async def test_control_is_refused_without_a_byte_sent() -> None:
    sim = bank(1)
    link = ble_link(sim, SessionOptions(control_enabled=True))
    try:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        for switch in Switch:
            with pytest.raises(ControlRefused) as refused:
                await session.set_switch(1, switch, False)
            assert isinstance(refused.value, UnsupportedError)
            assert "no documented command" in str(refused.value)
        assert list(sim.requests) == []
    finally:
        await link.close()


def test_family_choice() -> None:
    from vendor_plugins.pace.plugin import resolve_family

    assert resolve_family(None, SessionOptions(family="paceex")) == "paceex"
    with pytest.raises(ConfigError):
        resolve_family(None, SessionOptions(family="paceex", extra={"protocol": "ascii"}))


@pytest.mark.parametrize("adv", REAL_ADVERTS, ids=lambda a: a.local_name)
def test_real_pc_advertisements_are_pace(adv: Advertisement) -> None:
    assert PLUGIN.matches_advertisement(adv)
    assert "pace" in [p.name for p in default_registry().match_advertisement(adv)]


def test_simulator_factory_numbers_packs() -> None:
    from vendor_plugins.plugin import SimulatorOptions

    sim = PLUGIN.create_simulator(SimulatorOptions(family="paceex", address=2, profile="static"))
    assert isinstance(sim, PaceexSimulator) and list(sim.packs) == [2] and not sim.master
    with pytest.raises(ConfigError):
        PLUGIN.create_simulator(SimulatorOptions(family="paceex", address=0))
