"""JBD sessions over real links to the simulator: reads, device info and opt-in, read-back-verified control."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vendor_plugins.errors import ControlNotConfirmed, ControlRefused, DeviceTimeout
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.session import JbdSession
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.model import Alarm, Switch
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import BleLink, TcpLink


def _state() -> JbdState:
    return JbdState(
        cell_voltages=[3.401, 3.399, 3.402, 3.398, 3.400, 3.405, 3.397, 3.401],
        current=-12.34,
        remaining_capacity=150.5,
        design_capacity=200.0,
        cycles=321,
        temperatures=[18.5, 19.0, 21.2],
        balancing={6},
    )


@pytest.fixture
async def ble_session() -> AsyncIterator[tuple[JbdSession, JbdSimulator]]:
    """A session over BleLink + FakeBleClient (20-byte notifications), control enabled."""
    sim = JbdSimulator(_state())
    link = BleLink(
        "A4:C1:38:00:00:01", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE), timeout=1.0
    )
    try:
        yield PLUGIN.open_session(link, SessionOptions(control_enabled=True)), sim
    finally:
        await link.close()


async def test_read_over_fake_ble_matches_state(ble_session: tuple[JbdSession, JbdSimulator]) -> None:
    """Every value of the simulated pack arrives through 20-byte notifications."""
    session, sim = ble_session
    snap = await session.read()
    state = sim.state
    assert snap.cell_voltages == tuple(state.cell_voltages)
    assert snap.voltage == round(sum(state.cell_voltages), 2)
    assert snap.current == -12.34
    assert snap.power == pytest.approx(snap.voltage * -12.34, abs=0.01)
    assert snap.remaining_capacity == 150.5
    assert snap.design_capacity == 200.0
    assert snap.cycles == 321
    assert [x.celsius for x in snap.temperatures] == [18.5, 19.0, 21.2]
    assert snap.balancing == frozenset({6})
    assert snap.charge_mosfet is True
    assert snap.discharge_mosfet is True
    assert snap.alarms == frozenset()


async def test_read_over_tcp_matches_state() -> None:
    """The same over a real loopback socket."""
    sim = JbdSimulator(_state())
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=1.0) as link:
        snap = await PLUGIN.open_session(link).read()
        info = await PLUGIN.open_session(link).device_info()
    assert snap.cell_voltages == tuple(sim.state.cell_voltages)
    assert snap.current == -12.34
    assert info.model == sim.state.model
    assert info.cell_count == 8
    assert info.manufacture_date == sim.state.production_date
    assert info.software_version == "8.0"


async def test_control_refused_without_opt_in_sends_nothing() -> None:
    """Without control enabled no write reaches the device."""
    sim = JbdSimulator(_state())
    link = BleLink("A4:C1:38:00:00:02", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
    try:
        session = PLUGIN.open_session(link)  # default options: control off
        with pytest.raises(ControlRefused):
            await session.set_switch(None, Switch.DISCHARGE, False)
    finally:
        await link.close()
    assert sim.requests == []
    assert sim.state.discharge_mosfet is True


async def test_switch_discharge_off_uses_the_captured_sequence(ble_session: tuple[JbdSession, JbdSimulator]) -> None:
    """Read, E1=0002, exit-without-save, read back: the frames of the real app capture, byte for byte."""
    session, sim = ble_session
    await session.confirm_device(None)  # the first write of a session reads first (issue 21: no blind writes)
    assert [r.hex() for r in sim.requests] == ["dda50300fffd77", "dda50400fffc77"]
    sim.requests.clear()
    snap = await session.set_switch(None, Switch.DISCHARGE, False)
    assert snap.discharge_mosfet is False
    assert snap.charge_mosfet is True
    assert Alarm.SOFTWARE_LOCK in snap.alarms
    assert [r.hex() for r in sim.requests] == [
        "dda50300fffd77",
        "dd5ae1020002ff1b77",  # vendor doc / real capture: discharge off
        "dd5a01020000fffd77",  # real capture: exit factory mode without saving
        "dda50300fffd77",
        "dda50400fffc77",
    ]
    snap = await session.set_switch(None, Switch.DISCHARGE, True)
    assert snap.discharge_mosfet is True
    assert Alarm.SOFTWARE_LOCK not in snap.alarms
    assert sim.requests[6].hex() == "dd5ae1020000ff1d77"  # both released


async def test_factory_mode_option_enters_first() -> None:
    """With factory_mode the session sends the captured enter frame before E1."""
    sim = JbdSimulator(_state())
    link = BleLink("A4:C1:38:00:00:03", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
    try:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True, extra={"factory_mode": 1}))
        await session.confirm_device(None)
        sim.requests.clear()
        snap = await session.set_switch(None, Switch.CHARGE, False)
    finally:
        await link.close()
    assert snap.charge_mosfet is False
    assert [r.hex() for r in sim.requests[1:4]] == ["dd5a00025678ff3077", "dd5ae1020001ff1c77", "dd5a01020000fffd77"]


async def test_other_switch_off_by_protection_is_released_not_locked() -> None:
    """Discharge off by a protection (no software lock): switching charge off must not lock discharge off too."""
    state = _state()
    state.discharge_mosfet = False
    state.alarms = {Alarm.CELL_UNDERVOLTAGE}
    sim = JbdSimulator(state)
    link = BleLink("A4:C1:38:00:00:04", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
    try:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        await session.confirm_device(None)
        sim.requests.clear()
        await session.set_switch(None, Switch.CHARGE, False)
    finally:
        await link.close()
    assert sim.requests[1] == codec.build_write(t.REG_MOS, codec.mos_value(False, True))


class _StubbornSimulator(JbdSimulator):
    """Acknowledges MOSFET writes but never changes state (a protection holding the MOSFET)."""

    def handle(self, request: bytes) -> bytes | None:
        frame = codec.parse_frame(request, request=True)
        if frame.status == t.MODE_WRITE and frame.command == t.REG_MOS:
            self.requests.append(request)
            return codec.build_response(t.REG_MOS, b"")
        return super().handle(request)


async def test_write_not_confirmed_by_read_back() -> None:
    """An acknowledged write that the read-back does not show is ControlNotConfirmed, never assumed."""
    sim = _StubbornSimulator(_state())
    link = BleLink("A4:C1:38:00:00:05", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
    try:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        with pytest.raises(ControlNotConfirmed, match="discharge MOSFET still on"):
            await session.set_switch(None, Switch.DISCHARGE, False)
    finally:
        await link.close()


class _CorruptingSimulator(JbdSimulator):
    """Answers every request with one byte flipped inside the data."""

    def handle(self, request: bytes) -> bytes | None:
        answer = bytearray(super().handle(request) or b"")
        answer[6] ^= 0x40
        return bytes(answer)


async def test_corrupted_answers_are_never_decoded() -> None:
    """A corrupt reply is dropped by the assembler: the read times out instead of showing wrong values."""
    sim = _CorruptingSimulator(_state())
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        with pytest.raises(DeviceTimeout):
            await PLUGIN.open_session(link).read()
