"""PACE over Modbus: the pymodbus link against the pymodbus simulator server on loopback, and an RTU bus.

Modbus-TCP and RTU-over-TCP reads of the V1.3 map; the captured requests appear byte for byte on the wire; a unit
that rejects the 0-7 block (the real Revov capture) is read register by register; exceptions, silence and a
refused connection become DeviceError, DeviceTimeout and TransportError with one-line messages.
"""

from __future__ import annotations

import socket

import pytest

from tests.vectors import vector
from vendor_plugins.errors import ConfigError, ControlRefused, DeviceError, DeviceTimeout, TransportError
from vendor_plugins.model import Alarm, Switch
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.session_modbus import PaceModbusSession
from vendor_plugins.pace.simulator_modbus import PaceRtuSimulator, serve_modbus_tcp
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.poller import BusPoller
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import ModbusLink, TcpLink


def _state() -> PaceState:
    return PaceState(
        cells=[3.312, 3.315, 3.309, 3.311] * 4,
        current=-12.34,
        remaining_capacity=61.5,
        full_capacity=98.0,
        design_capacity=100.0,
        cycles=321,
        temperatures=[21.5, 21.7, 21.6, 21.4, 25.2, -3.5],
        balancing={3, 14},
        alarms={Alarm.CHARGE_OVERTEMP},
        warnings={Alarm.LOW_SOC},
        charge_mosfet=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_modbus_tcp_read_against_pymodbus_server() -> None:
    """Every field of the V1.3 map arrives through pymodbus, in model units and signs."""
    state = _state()
    async with await serve_modbus_tcp({1: state, 2: PaceState()}) as server:
        link = ModbusLink.tcp(server.host, server.port, timeout=1.0)
        try:
            session = PLUGIN.open_session(link)
            assert isinstance(session, PaceModbusSession) and session.family == "modbus"
            snap = await session.read(1)
            info = await session.device_info(1)
            other = await session.read(2)
        finally:
            await link.close()
    assert list(snap.cell_voltages) == state.cells
    assert snap.voltage == round(sum(state.cells), 2) and snap.current == -12.34
    assert snap.soc == 63.0 and snap.soh == 98.0 and snap.cycles == 321
    assert (snap.remaining_capacity, snap.full_capacity, snap.design_capacity) == (61.5, 98.0, 100.0)
    assert [x.celsius for x in snap.temperatures] == state.temperatures
    assert snap.charge_mosfet is False and snap.discharge_mosfet is True
    assert snap.balancing == frozenset({3, 14})
    assert snap.alarms == frozenset({Alarm.CHARGE_OVERTEMP}) and snap.warnings == frozenset({Alarm.LOW_SOC})
    assert snap.raw["discharging"] == 1
    assert info.serial_number == state.serial_number and info.cell_count == 16 and info.model == state.model_serial
    assert other.cycles == PaceState().cycles


async def test_rtu_over_tcp_sends_the_captured_requests_and_falls_back() -> None:
    """RTU through a bridge: the first request is the real one (01 03 0000 0008 440C); exception 2 as captured →
    the session reads register by register from then on and still gets the values."""
    sent: list[str] = []
    received: list[str] = []
    async with await serve_modbus_tcp({1: _state()}, rtu=True, reject_pack_block=True) as server:
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=1.0)
        link.trace = lambda sending, packet: (sent if sending else received).append(packet.hex())
        try:
            session = PLUGIN.open_session(link, SessionOptions(extra={"protocol": "modbus"}))
            snap = await session.read(1)
        finally:
            await link.close()
    assert sent[0] == vector("pace_modbus", "pace_modbus_read_0_8_exception")["request_hex"]
    assert received[0] == vector("pace_modbus", "pace_modbus_read_0_8_exception")["response_hex"]
    assert vector("pace_modbus", "pace_modbus_read_9_4")["request_hex"] in sent
    assert vector("pace_modbus", "pace_modbus_req_cells_15_22")["request_hex"] in sent
    assert snap.cycles == 321 and snap.current == -12.34


async def test_exception_answer_is_device_error() -> None:
    """Reading reserved register 8: exception 2, one line."""
    async with await serve_modbus_tcp({1: PaceState()}) as server:
        link = ModbusLink.tcp(server.host, server.port, timeout=1.0)
        try:
            with pytest.raises(DeviceError, match=r"exception 2 \(illegal data address\)") as err:
                await link.read_registers(1, 0, 9)
            assert "\n" not in str(err.value)
            assert await link.read_registers(1, 9, 4) == [0, 0, 0x0C00, 0]  # reg 11: both MOSFETs on
        finally:
            await link.close()


async def test_rtu_bus_absent_unit_times_out_and_backs_off() -> None:
    """Two RTU packs on one bridge (sans-IO simulator, silent for other units): unit 3 times out, 1-2 keep going."""
    sims = [PaceRtuSimulator(PaceState(cycles=10 + unit), unit=unit) for unit in (1, 2)]
    async with await serve_tcp(sims) as server:
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=0.2)
        try:
            session = PLUGIN.open_session(link, SessionOptions(family="modbus"))
            with pytest.raises(DeviceTimeout, match="no answer from unit 3"):
                await session.read(3)
            poller = BusPoller(session, [1, 2, 3], absent_timeout=0.3)
            for _ in range(3):
                results = await poller.poll()
            assert [getattr(results[u], "cycles", None) for u in (1, 2)] == [11, 12]
            assert isinstance(results[3], DeviceTimeout)
            assert poller.attempts == {1: 3, 2: 3, 3: 2}
        finally:
            await link.close()


async def test_connection_refused_is_transport_error() -> None:
    """Nobody listening: TransportError naming the target."""
    port = _free_port()
    link = ModbusLink.tcp("127.0.0.1", port, timeout=0.3)
    with pytest.raises(TransportError, match=f"modbus-tcp://127.0.0.1:{port}: cannot connect") as err:
        await link.read_registers(1, 0, 1)
    assert "\n" not in str(err.value)
    await link.close()


async def test_modbus_session_needs_a_modbus_link_and_refuses_control() -> None:
    """A raw TCP link cannot carry the Modbus session; V1.3 has no MOSFET register."""
    with pytest.raises(ConfigError, match="needs a Modbus link"):
        PLUGIN.open_session(TcpLink("127.0.0.1", 9), SessionOptions(extra={"protocol": "modbus"}))
    link = ModbusLink.tcp("127.0.0.1", 9)
    session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
    with pytest.raises(ControlRefused, match="no MOSFET register"):
        await session.set_switch(1, Switch.CHARGE, False)
    with pytest.raises(ConfigError):
        await session.read(17)
    with pytest.raises(ConfigError, match="needs a byte link"):
        PLUGIN.open_session(link, SessionOptions(extra={"protocol": "ascii"}))


async def test_rtu_on_a_serial_port() -> None:
    """pymodbus' serial client on a pty (virtual RS485 adapter) with the RTU simulator behind it."""
    from vendor_plugins.sim.pty import serve_pty

    async with await serve_pty([PaceRtuSimulator(_state(), unit=5)]) as server:
        link = ModbusLink.rtu_serial(server.path, 9600, timeout=1.0)
        try:
            snap = await PLUGIN.open_session(link).read(5)
        finally:
            await link.close()
    assert link.description == f"modbus-rtu://{server.path}@9600"
    assert snap.cycles == 321 and snap.alarms == frozenset({Alarm.CHARGE_OVERTEMP})
