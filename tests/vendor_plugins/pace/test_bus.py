"""A simulated RS485 bus of PACE packs behind one TCP bridge: scan, poll, back-off, control.

15 packs at addresses 1-15 on one SimEndpoint; the session's requests go strictly one at a time through one link.
Removing a pack mid-run leaves the other 14 updating while the missing one is retried only every 2^n cycles.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from vendor_plugins.errors import ConfigError, ControlNotConfirmed, ControlRefused, DeviceTimeout
from vendor_plugins.model import BmsSnapshot, Switch
from vendor_plugins.pace import codec_ascii as codec
from vendor_plugins.pace import table as t
from vendor_plugins.pace.plugin import PLUGIN, resolve_family
from vendor_plugins.pace.session_ascii import PaceAsciiSession
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.plugin import SessionOptions, SimulatorOptions
from vendor_plugins.poller import BusPoller, scan
from vendor_plugins.registry import load_registry
from vendor_plugins.sim.tcp import SimServer, serve_tcp
from vendor_plugins.transports import TcpLink

ABSENT = 0.15  # short timeout for absent packs (keeps the suite fast)


def _bus(count: int = 15, *, live: bool = True) -> list[PaceAsciiSimulator]:
    sims = []
    for address in range(1, count + 1):
        sim = PLUGIN.create_simulator(
            SimulatorOptions(address=address, seed=address, profile="live" if live else "static")
        )
        assert isinstance(sim, PaceAsciiSimulator)
        sims.append(sim)
    return sims


@pytest.fixture
async def bus() -> AsyncIterator[tuple[SimServer, TcpLink, list[PaceAsciiSimulator]]]:
    """15 live packs on one TCP bridge, and a link to it."""
    sims = _bus()
    async with await serve_tcp(sims) as server, TcpLink(server.host, server.port, timeout=0.5) as link:
        yield server, link, sims


async def test_scan_finds_all_15_packs_and_poll_reads_them(
    bus: tuple[SimServer, TcpLink, list[PaceAsciiSimulator]],
) -> None:
    """Address 0 is silent; 1-15 answer; one poll cycle reads every pack with its own values."""
    server, link, sims = bus
    session = PLUGIN.open_session(link)
    found = await scan(session, range(16), absent_timeout=ABSENT)
    assert found == list(range(1, 16))
    poller = BusPoller(session, found, absent_timeout=ABSENT)
    results = await poller.poll()
    assert sorted(results) == found
    for address, result in results.items():
        assert isinstance(result, BmsSnapshot), (address, result)
        assert result.cycles == sims[address - 1].state.cycles
        assert len(result.cell_voltages) == 16
    assert len({r.cycles for r in results.values() if isinstance(r, BmsSnapshot)}) == 15
    assert server.connections == 1  # one bridge connection shared by the whole bus


async def test_removed_pack_backs_off_while_the_others_keep_updating(
    bus: tuple[SimServer, TcpLink, list[PaceAsciiSimulator]],
) -> None:
    """Pack 7 disappears: 14 packs keep new readings every cycle; pack 7 is asked only every 2^n cycles."""
    _, link, sims = bus
    poller = BusPoller(PLUGIN.open_session(link), range(1, 16), absent_timeout=ABSENT, max_backoff=8)
    first = await poller.poll()
    assert all(isinstance(r, BmsSnapshot) for r in first.values())
    sims[6].present = False
    attempts_before = dict(poller.attempts)
    seen: dict[int, set[float | None]] = {a: set() for a in range(1, 16)}
    for _ in range(14):
        await asyncio.sleep(0.02)  # let the live packs move on
        results = await poller.poll()
        for address, result in results.items():
            if isinstance(result, BmsSnapshot):
                seen[address].add(result.current)
        assert isinstance(results[7], DeviceTimeout)
    tried = poller.attempts[7] - attempts_before[7]
    others = [poller.attempts[a] - attempts_before[a] for a in range(1, 16) if a != 7]
    assert others == [14] * 14  # every other pack read in every cycle
    assert tried == 3  # asked at cycles 1, 3, 7 (waits of 2, 4, 8 cycles); the next attempt is at cycle 15
    assert all(len(seen[a]) > 1 for a in range(1, 16) if a != 7)  # their readings changed
    sims[6].present = True
    for _ in range(9):
        results = await poller.poll()
    assert isinstance(results[7], BmsSnapshot)


async def test_control_round_trip_and_refusal(bus: tuple[SimServer, TcpLink, list[PaceAsciiSimulator]]) -> None:
    """Charge off on pack 4 is confirmed by 0x44; discharge off as well would leave no MOSFET on: refused."""
    _, link, sims = bus
    session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
    snap = await session.set_switch(4, Switch.CHARGE, False)
    assert snap.charge_mosfet is False and snap.discharge_mosfet is True
    assert sims[3].state.charge_mosfet is False and sims[4].state.charge_mosfet is True
    with pytest.raises(ControlRefused, match=r"RTN 0x09 \(operation or write error"):
        await session.set_switch(4, Switch.DISCHARGE, False)
    assert sims[3].state.discharge_mosfet is True
    snap = await session.set_switch(4, Switch.CHARGE, True)
    assert snap.charge_mosfet is True
    requests = [codec.parse_frame(r).cid2 for r in sims[3].requests]
    # The first write of the session is preceded by a read that confirms the pack (issue 21: no blind writes).
    assert requests[:5] == [t.Cid2.ANALOG, t.Cid2.WARN, t.Cid2.CHARGE_MOSFET, t.Cid2.ANALOG, t.Cid2.WARN]


async def test_control_needs_opt_in_and_sends_nothing() -> None:
    """Default options: ControlRefused before any byte goes out."""
    sim = PaceAsciiSimulator(address=1)
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.5) as link:
        with pytest.raises(ControlRefused, match="not enabled"):
            await PLUGIN.open_session(link).set_switch(1, Switch.DISCHARGE, False)
    assert sim.requests == []


class _StuckPack(PaceAsciiSimulator):
    """Accepts MOSFET commands but never changes (a protection holds the MOSFET)."""

    def _switch(self, charge: bool, on: bool) -> bytes | tuple[int, bytes]:
        return bytes((self.state.instruction_state(),))


async def test_control_not_confirmed_when_read_back_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pack says OK but InstructionState keeps the MOSFET on: ControlNotConfirmed."""
    monkeypatch.setattr("vendor_plugins.pace.session_ascii.CONFIRM_INTERVAL", 0.01)
    sim = _StuckPack(address=2)
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.5) as link:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        with pytest.raises(ControlNotConfirmed, match="still shows it on"):
            await session.set_switch(2, Switch.CHARGE, False)


async def test_a_late_reply_from_another_pack_is_not_taken(
    bus: tuple[SimServer, TcpLink, list[PaceAsciiSimulator]],
) -> None:
    """A frame from pack 9 arriving while pack 3 is asked is ignored (matched by ADR); pack 3's answer is used."""
    _, link, sims = bus
    session = PLUGIN.open_session(link)
    assert isinstance(session, PaceAsciiSession)
    stray = PaceAsciiSimulator(PaceState(cycles=9999), address=9).handle(codec.build_read(codec.V25, 9, t.Cid2.ANALOG))
    original = sims[2].handle

    def late_then_answer(request: bytes) -> bytes | None:
        answer = original(request)
        return None if answer is None else (stray or b"") + answer

    sims[2].handle = late_then_answer  # type: ignore[method-assign]
    analog = await session.read_analog(3)
    assert analog.blocks[0].cycles == sims[2].state.cycles != 9999


async def test_device_info_over_the_bus(bus: tuple[SimServer, TcpLink, list[PaceAsciiSimulator]]) -> None:
    """0xC1 / 0xC2 / cell count of pack 12; probe finds the plugin at address 12."""
    _, link, sims = bus
    info = await PLUGIN.open_session(link).device_info(12)
    assert info.serial_number == sims[11].state.serial_number and info.cell_count == 16 and info.address == 12
    probe = await PLUGIN.probe(link, 12)
    assert probe is not None and probe.family == "ascii-25" and probe.address == 12


def test_protocol_options_resolve() -> None:
    """--protocol / --family choose the session; contradictions and unknown names are usage errors."""
    assert resolve_family(None, SessionOptions()) == "ascii-25"
    assert resolve_family(None, SessionOptions(extra={"protocol": "modbus"})) == "modbus"
    assert resolve_family(None, SessionOptions(family="ascii-20", extra={"protocol": "ascii"})) == "ascii-20"
    for bad in (
        SessionOptions(extra={"protocol": "can"}),
        SessionOptions(family="x"),
        SessionOptions(family="modbus", extra={"protocol": "ascii"}),
    ):
        with pytest.raises(ConfigError):
            resolve_family(None, bad)
    assert "pace" in load_registry(include_third_party=False)
    assert PLUGIN.capabilities.multi_address


async def test_address_out_of_range_is_a_usage_error() -> None:
    """ASCII addresses are 0-15."""
    link = TcpLink("127.0.0.1", 9, timeout=0.1)
    with pytest.raises(ConfigError):
        await PLUGIN.open_session(link).read(16)
