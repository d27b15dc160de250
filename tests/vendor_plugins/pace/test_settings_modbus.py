"""PACE Modbus battery settings: holding registers 60-114 of the V1.3 map, read in one block, written with FC 0x10.

Sources: vendor PDF "PACE BMS Modbus Protocol for RS485 V1.3 2017-06-27" (register list and units, FC 0x03/0x10,
exception codes), its register comments in syssi/esphome-pace-bms@db83caac ``esp32-example.yaml`` ("60 Pack OV alarm
… uint16 mV", "63 … 0.1S 1~255", "83 … 0.025S", "111 … 25uS Max 500uS", "112 SOC alarm … 0~100%", "113/114
Charging OC-2", written with ``use_write_multiple``), and the real request ``01 03 00 3C 00 37 C4 10`` (read 55
registers from 60, esphome-pace-bms issue #17; ``vectors/pace_modbus.json``). No public capture of a reply to it
exists: the values are read from the simulator only (what is missing: a real 60-114 reply).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vectors import vector
from vendor_plugins.crc import crc16_modbus_bytes
from vendor_plugins.errors import (
    ControlNotConfirmed,
    ControlRefused,
    DeviceError,
    DeviceTimeout,
    SettingsPartiallyWritten,
    SettingsRefused,
    SettingsUnsupported,
)
from vendor_plugins.kinds import LinkKind
from vendor_plugins.model import Alarm
from vendor_plugins.pace import codec_modbus
from vendor_plugins.pace import table_settings_modbus as tm
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.simulator_modbus import PaceRtuSimulator
from vendor_plugins.pace.simulator_settings import PaceSettingsSim
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.pace.table_settings import DEFAULTS
from vendor_plugins.plugin import Session, SessionOptions
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import ModbusLink
from vendor_plugins.transports.base import Link, RegisterLink

READ_60_55 = "0103003c0037c410"


class DirectRegisterLink(RegisterLink):
    """RTU frames straight to a simulator (fast, for property tests)."""

    kind = LinkKind.MODBUS

    def __init__(self, sim: PaceRtuSimulator) -> None:
        self.sim = sim

    @property
    def description(self) -> str:
        return "direct://simulator"

    def _send(self, body: bytes) -> bytes:
        reply = self.sim.handle(body + crc16_modbus_bytes(body))
        if reply is None:
            raise DeviceTimeout("direct://simulator: no answer")
        if reply[1] & 0x80:
            raise DeviceError(f"direct://simulator: exception {reply[2]}")
        return reply

    async def read_registers(
        self, unit: int, address: int, count: int, *, reply_timeout: float | None = None
    ) -> list[int]:
        reply = self._send(bytes((unit, 3)) + address.to_bytes(2, "big") + count.to_bytes(2, "big"))
        return codec_modbus.parse_read_response(reply, unit, count)

    async def write_registers(
        self, unit: int, address: int, values: Sequence[int], *, reply_timeout: float | None = None
    ) -> None:
        data = b"".join(v.to_bytes(2, "big") for v in values)
        head = bytes((unit, 0x10)) + address.to_bytes(2, "big") + len(values).to_bytes(2, "big")
        self._send(head + bytes((len(data),)) + data)

    async def close(self) -> None:
        return None


def _session(link: Link, *, control: bool = True) -> Session:
    return PLUGIN.open_session(link, SessionOptions(family="modbus", control_enabled=control))


def _writes(sim: PaceRtuSimulator) -> list[bytes]:
    return [r for r in sim.requests if r[1] == 0x10]


def _state(cells: float = 3.30) -> PaceState:
    return PaceState(cells=[cells] * 16)


@asynccontextmanager
async def served(sim: PaceRtuSimulator, kind: str) -> AsyncIterator[Link]:
    if kind == "tcp":  # RTU through a TCP bridge
        async with await serve_tcp(sim) as server:
            link: Link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=1.0)
            async with link:
                yield link
    else:  # RTU on a serial port
        async with await serve_pty([sim]) as pty:
            link = ModbusLink.rtu_serial(pty.path, 9600, timeout=1.0)
            async with link:
                yield link


def test_table_covers_registers_60_to_114_once() -> None:
    assert sorted(tm.BY_REGISTER) == list(range(60, 115))
    assert set(tm.TABLE.names) <= set(DEFAULTS)


def test_simulator_answers_the_real_settings_request() -> None:
    entry = vector("pace_modbus", "pace_modbus_req_60_55")
    assert entry["request_hex"] == READ_60_55
    reply = PaceRtuSimulator(_state()).handle(bytes.fromhex(READ_60_55))
    registers = codec_modbus.parse_read_response(reply or b"", 1, 55)
    assert registers[0:4] == [57600, 59200, 54000, 10]  # pack OV alarm/protect/release mV, delay 0.1 s
    assert registers[24:27] == [510, 550, 500]  # charge OT 0.1 °C
    assert registers[30:33] == [0, (-50) & 0xFFFF, 0]  # charge UT int16: -5.0 °C
    assert registers[51] == 12  # short-circuit delay 300 µs in 25 µs


@pytest.mark.parametrize("kind", ["tcp", "pty"])
async def test_read_write_read_back_round_trip(kind: str) -> None:
    sim = PaceRtuSimulator(_state())
    async with served(sim, kind) as link:
        session = _session(link)
        before = await session.read_settings(1)
        assert bytes.fromhex(READ_60_55) in sim.requests  # the real request, byte for byte
        assert before.family == "modbus" and before.cell_count == 16
        assert before.to_dict() == pytest.approx({n: DEFAULTS[n] for n in sorted(tm.TABLE.names)})
        changes = {"cell_overvoltage_protect": 3.65, "charge_undertemp_protect": -8, "sleep_delay": 600}
        after = await session.write_settings(1, changes)
    for name, value in changes.items():
        assert after.values[name] == pytest.approx(value)
        assert sim.settings.values[name] == pytest.approx(value)
    (write,) = _writes(sim)  # one FC 0x10 request from register 65 to 110
    assert write[2:4] == (65).to_bytes(2, "big") and write[4:6] == (46).to_bytes(2, "big") and write[6] == 92


async def test_refusals_send_nothing() -> None:
    sim = PaceRtuSimulator(_state())
    session = _session(DirectRegisterLink(sim), control=False)
    with pytest.raises(ControlRefused):
        await session.write_settings(1, {"cell_overvoltage_protect": 3.6})
    session = _session(DirectRegisterLink(sim))
    with pytest.raises(SettingsRefused):
        await session.write_settings(1, {"soc_low_alarm": 101})
    with pytest.raises(SettingsUnsupported, match="no documented way to set the SoC"):
        await session.set_soc(1, 50)
    with pytest.raises(SettingsUnsupported, match="balancer"):
        await session.set_balancer(1, True)
    assert sim.requests == []


async def test_rule_against_the_packs_values_refused_before_any_write() -> None:
    sim = PaceRtuSimulator(_state())
    session = _session(DirectRegisterLink(sim))
    with pytest.raises(SettingsRefused, match="level 2 must be above level 1"):
        await session.write_settings(1, {"discharge_overcurrent_protect": 160})  # above the OC2 150 A
    assert _writes(sim) == []


async def test_simulator_refuses_an_out_of_range_write_whole() -> None:
    sim = PaceRtuSimulator(_state())
    link = DirectRegisterLink(sim)
    with pytest.raises(DeviceError, match="exception 3"):
        await link.write_registers(1, 64, [3500, 9999])  # cell OV alarm fine, protect 9.999 V not
    assert sim.settings.values["cell_overvoltage_alarm"] == 3.6
    sim.settings = RefusesEverything()
    with pytest.raises(ControlRefused, match="nothing was taken"):
        await _session(link).write_settings(1, {"cell_overvoltage_delay": 2.0})


class RefusesEverything(PaceSettingsSim):
    """A pack whose own checks refuse every settings write."""

    def write_registers(self, first: int, raws: Sequence[int], state: PaceState) -> int | None:
        return 3


async def test_a_value_the_pack_ignores_is_named() -> None:
    sim = PaceRtuSimulator(_state())
    sim.settings.ignored = {"ambient_overtemp_release"}
    session = _session(DirectRegisterLink(sim))
    with pytest.raises(ControlNotConfirmed) as err:
        await session.write_settings(1, {"ambient_overtemp_release": 60.0, "soc_low_alarm": 10})
    assert err.value.names == ("ambient_overtemp_release",)


async def test_lowering_under_voltage_above_the_cells_protects_and_opens_discharge() -> None:
    sim = PaceRtuSimulator(_state(cells=3.00))
    session = _session(DirectRegisterLink(sim))
    await session.write_settings(
        1, {"cell_undervoltage_alarm": 3.10, "cell_undervoltage_protect": 3.05, "cell_undervoltage_release": 3.20}
    )
    snapshot = await session.read(1)
    assert Alarm.CELL_UNDERVOLTAGE in snapshot.alarms and snapshot.discharge_mosfet is False
    assert snapshot.charge_mosfet is True


def _value(name: str) -> st.SearchStrategy[object]:
    spec = tm.BY_NAME[name]
    steps = round((spec.maximum - spec.minimum) / spec.step)
    inside = st.integers(0, steps).map(lambda n: round(spec.minimum + n * spec.step, 9))
    outside = st.sampled_from([spec.minimum - 10 * spec.step, spec.maximum + 10 * spec.step])
    return st.one_of(inside, inside, inside, outside)


CHANGES = st.lists(st.sampled_from(tm.TABLE.names), min_size=1, max_size=6, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({name: _value(name) for name in keys})
)


@settings(max_examples=50, deadline=None)
@given(changes=CHANGES)
async def test_any_change_set_is_refused_before_a_byte_or_round_trips(changes: dict[str, object]) -> None:
    sim = PaceRtuSimulator(_state())
    session = _session(DirectRegisterLink(sim))
    current = await session.read_settings(1)
    try:
        expected = tm.TABLE.validate(current, changes)
    except SettingsRefused:
        with pytest.raises(SettingsRefused):
            await session.write_settings(1, changes)
        assert _writes(sim) == []
        return
    after = await session.write_settings(1, changes)
    assert tm.TABLE.changed(expected, after) == ()
    assert len(_writes(sim)) <= 1


class AnswerLost(PaceRtuSimulator):
    """The pack takes the FC 0x10 write but its answer is lost on the line."""

    def handle(self, request: bytes) -> bytes | None:
        reply = super().handle(request)
        return None if request[1] == 0x10 else reply


async def test_a_lost_answer_to_the_one_write_reports_what_changed() -> None:
    sim = AnswerLost(_state())
    session = _session(DirectRegisterLink(sim))
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(1, {"cell_overvoltage_protect": 3.65, "soc_low_alarm": 10})
    assert set(err.value.changed) == {"cell_overvoltage_protect", "soc_low_alarm"} and err.value.unchanged == ()
