"""DALY D2 battery settings: the 0x80-0xA8 block, writes with function 06, SoC 0xA7, balancer 0xCF.

Facts and their sources (PROTOCOLS.md §2.2/§2.3):
* vendor sheet ``docs/dalyModbusProtocol.xlsx`` in syssi/esphome-daly-bms@ba082a19: registers 0x80-0xA8 R/W with
  units "0.1AH", "mV", "0.1V", "0.1A, 30000 Offset", "1°C, 40 Offset"; 0xA7 "SOC settings" is **W** only;
  "supports modbus protocol 3 6 16"; the write example ``D2 06 00 0C 00 01 9B AA``.
* esphome-daly-bms ``number/__init__.py``: factor/offset per register, writes with function 06.
* Real captures (``vectors/daly_ble_modbus.json``): the settings read ``d2 03 00 80 00 29 96 5f`` (issue #9),
  the esphome test's settings frame (SETTINGS_FRAME_1 from its faker config — the only settings reply in public
  sources, not a capture of a real unit), the balancer reads 0xCF on/off, and the Daly app's balancer writes
  ``d2 06 00 cf 00 00 aa 56`` / ``d2 06 00 cf 00 01 6b 96`` echoed by the unit (btsnoop log).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.vectors import vector
from vendor_plugins.battery_settings import BmsSettings
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import codec_settings as codec
from vendor_plugins.daly import table as t
from vendor_plugins.daly import table_settings as ts
from vendor_plugins.daly.plugin import PLUGIN
from vendor_plugins.daly.session import DalySession
from vendor_plugins.daly.simulator import ModbusSimulator
from vendor_plugins.daly.simulator_settings import D2SettingsSim
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import (
    ControlNotConfirmed,
    ControlRefused,
    DeviceTimeout,
    SettingsPartiallyWritten,
    SettingsRefused,
    SettingsUnsupported,
)
from vendor_plugins.framing import Expect, Frame
from vendor_plugins.kinds import LinkKind
from vendor_plugins.model import Alarm
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import BleLink, SerialLink, TcpLink
from vendor_plugins.transports.base import ByteLink, Link

# esphome-daly-bms' own names (its log lines / number keys) → the vocabulary, for the settings vector.
EXPECTED_NAMES = {
    "rated_capacity_Ah": "design_capacity",
    "sleep_wait_s": "sleep_delay",
    "cell_ov_warn_mV": ("cell_overvoltage_alarm", 0.001),
    "cell_uv_warn_mV": ("cell_undervoltage_alarm", 0.001),
    "pack_ov_warn_V": "pack_overvoltage_alarm",
    "pack_uv_warn_V": "pack_undervoltage_alarm",
    "chg_ot_warn_C": "charge_overtemp_alarm",
    "chg_ut_warn_C": "charge_undertemp_alarm",
    "dsg_ot_warn_C": "discharge_overtemp_alarm",
    "dsg_ut_warn_C": "discharge_undertemp_alarm",
    "balance_start_mV": ("balance_start_voltage", 0.001),
    "balance_delta_mV": ("balance_delta_voltage", 0.001),
    "mos_ot_alarm_C(0xA8)": "mosfet_overtemp_protect",
}
# The vector states signed currents (the source's raw-30000 convention); the vocabulary keeps magnitudes.
EXPECTED_CURRENTS = {
    "chg_oc_warn_A(raw29900)": "charge_overcurrent_alarm",
    "dsg_oc_warn_A(raw29840)": "discharge_overcurrent_alarm",
    "dsg_oc_alarm_A(raw30160)": "discharge_overcurrent_protect",
}


# The rest of the frame, as esphome-daly-bms' decoder comments state it (daly_bms_ble.cpp decode_settings_data_,
# "Critical: cell voltage too high (3500)" …), so that every row of the table is checked against the frame.
STATED_IN_DECODER = {
    "cell_overvoltage_protect": 3.5,
    "cell_undervoltage_protect": 2.6,
    "pack_overvoltage_protect": 14.0,
    "pack_undervoltage_protect": 10.4,
    "charge_overcurrent_protect": 10.0,  # "(-10.0)": a magnitude here
    "charge_overtemp_protect": 45,
    "charge_undertemp_protect": 0,
    "discharge_overtemp_protect": 70,
    "discharge_undertemp_protect": -1,
    "cell_delta_alarm": 0.255,
    "cell_delta_protect": 0.255,
    "temp_delta_alarm": 255,
    "temp_delta_protect": 255,
}


class DirectLink(ByteLink):
    """Hands each request straight to a simulator (fast, for property tests); silence is a timeout."""

    kind = LinkKind.TCP

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def description(self) -> str:
        return "direct://simulator"

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        reply = self.sim.handle(request)
        if reply is None:
            raise DeviceTimeout("direct://simulator: no answer")
        frames = [f for f in expect.assembler().feed(reply) if expect.accepts(f)]
        if not frames:
            raise DeviceTimeout("direct://simulator: no matching answer")
        return frames

    async def close(self) -> None:
        return None


def _state() -> DalyState:
    return DalyState(cell_voltages=[3.40, 3.41, 3.39, 3.40], temperatures=[22.0], current=0.0, rated_capacity=200.0)


def _session(link: Link, *, control: bool = True, family: str = "d2") -> DalySession:
    session = PLUGIN.open_session(link, SessionOptions(family=family, control_enabled=control))
    assert isinstance(session, DalySession)
    return session


def _writes(sim: ModbusSimulator) -> list[bytes]:
    return [r for r in sim.requests if r[1] == t.FC_WRITE]


@asynccontextmanager
async def served(sim: Simulator, kind: str) -> AsyncIterator[Link]:
    if kind == "ble":  # the Daly app's own link: 20-byte notifications through a fake GATT client
        link = BleLink("C0:DA:17:00:00:01", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE))
        async with link:
            yield link
    elif kind == "tcp":
        async with await serve_tcp(sim) as server:
            link: Link = TcpLink(server.host, server.port, timeout=0.5)
            async with link:
                yield link
    else:
        async with await serve_pty(sim, baud=9600) as pty:
            link = SerialLink(pty.path, baudrate=9600, timeout=1.0)
            async with link:
                yield link


# --- the real frames ----------------------------------------------------------------------------------------------
def test_settings_request_is_the_golden_frame() -> None:
    entry = vector("daly_ble_modbus", "esphome_req_settings")
    assert codec.read_request().hex() == entry["request_hex"] == "d20300800029965f"


def test_settings_vector_decodes_every_value_the_source_states() -> None:
    entry = vector("daly_ble_modbus", "esphome_settings")
    assert codec.read_request().hex() == entry["request_hex"]
    frame = d2.parse_frame(bytes.fromhex(entry["response_hex"]))
    values, _ = codec.decode_block(frame.payload)
    expected = entry["expected"]
    checked = 0
    for key, target in EXPECTED_NAMES.items():
        name, scale = (target, 1.0) if isinstance(target, str) else target
        assert values[name] == pytest.approx(expected[key] * scale), key
        checked += 1
    for key, name in EXPECTED_CURRENTS.items():
        assert values[name] == pytest.approx(abs(expected[key])), key
        checked += 1
    assert codec.cell_count(frame.payload) == expected["board1_cells"] == 4
    # 0xA5/0xA6 (switches) and 0xA7 (SoC, write-only per the vendor sheet) are not settings rows, but their words
    # sit in the block where the source says.
    assert codec.word(frame.payload, 0xA5) == codec.word(frame.payload, 0xA6) == 1
    assert codec.word(frame.payload, ts.REG_SOC) / 10 == expected["soc_setting_pct(0xA7)"] == 68.0
    for name, value in STATED_IN_DECODER.items():
        assert values[name] == pytest.approx(value), name
        checked += 1
    assert checked == len(values) == len(ts.BLOCK_SPECS) == 29  # every row of the block


def _vector_sim() -> ModbusSimulator:
    entry = vector("daly_ble_modbus", "esphome_settings")
    block = d2.parse_frame(bytes.fromhex(entry["response_hex"])).payload
    sim = ModbusSimulator(DalyState(cell_voltages=[3.30, 3.31, 3.30, 3.29], rated_capacity=105.0, soc=68.0))
    sim.settings = D2SettingsSim(registers={r: codec.word(block, r) for r in range(0x81, 0xA9)})
    return sim


def test_simulator_set_to_the_vector_answers_its_bytes() -> None:
    entry = vector("daly_ble_modbus", "esphome_settings")
    assert _vector_sim().handle(bytes.fromhex(entry["request_hex"])) == bytes.fromhex(entry["response_hex"])


async def test_writes_to_the_vectors_unit_keep_each_limits_stored_sign() -> None:
    """The frame stores the discharge warning negative (29840) and the protection positive (30160)."""
    sim = _vector_sim()
    session = _session(DirectLink(sim))
    after = await session.write_settings(
        None, {"discharge_overcurrent_alarm": 15.0, "discharge_overcurrent_protect": 20.0}
    )
    assert after.values["discharge_overcurrent_alarm"] == 15.0 and after.values["discharge_overcurrent_protect"] == 20.0
    assert sim.settings.registers[0x95] == 30000 - 150 and sim.settings.registers[0x96] == 30000 + 200


@pytest.mark.parametrize(("vector_id", "on"), [("esphome_balancer_on", True), ("esphome_balancer_off", False)])
def test_balancer_read_vectors(vector_id: str, on: bool) -> None:
    entry = vector("daly_ble_modbus", vector_id)
    payload = d2.parse_frame(bytes.fromhex(entry["response_hex"])).payload
    assert codec.decode_raw(ts.BY_NAME["balancer_enabled"], int.from_bytes(payload, "big")) is on
    assert entry["expected"]["balancer"] is on


@pytest.mark.parametrize(
    ("vector_id", "on"), [("btsnoop_daly_write_balancer_off", False), ("btsnoop_daly_write_balancer_on", True)]
)
def test_balancer_write_is_the_daly_apps_frame(vector_id: str, on: bool) -> None:
    entry = vector("daly_ble_modbus", vector_id)
    writes = codec.build_writes(t.D2_DEVICE, {"balancer_enabled": on}, ("balancer_enabled",), {})
    assert writes == [("balancer_enabled", bytes.fromhex(entry["request_hex"]))]
    assert entry["response_hex"] == entry["request_hex"]  # the unit echoes
    sim = ModbusSimulator(DalyState(balancer_switch=int(not on)))
    assert sim.handle(bytes.fromhex(entry["request_hex"])).hex() == entry["response_hex"]
    assert sim.state.balancer_switch == int(on)


def test_current_limits_keep_the_sign_the_device_stores() -> None:
    spec = ts.BY_NAME["charge_overcurrent_alarm"]
    assert codec.encode_raw(spec, 10.0, 29900) == 29900  # stored negative (the vector): stays negative
    assert codec.encode_raw(spec, 10.0, 30100) == 30100
    assert codec.encode_raw(spec, 10.0, None) == 29900  # vendor sheet: charge current negative
    assert codec.encode_raw(ts.BY_NAME["discharge_overcurrent_protect"], 16.0, None) == 30160


# --- end to end over TCP and a pty ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tcp", "pty", "ble"])
async def test_read_write_read_back_round_trip(kind: str) -> None:
    sim = ModbusSimulator(_state())
    async with served(sim, kind) as link:
        session = _session(link)
        before = await session.read_settings()
        assert before.vendor == "DALY" and before.family == "d2" and before.cell_count == 16
        assert before.values["cell_overvoltage_protect"] == 3.65 and before.values["balancer_enabled"] is True
        assert set(before.values) == set(ts.TABLE.names)
        changes = {
            "cell_overvoltage_protect": 3.62,
            "cell_overvoltage_alarm": 3.58,
            "charge_overcurrent_protect": 120.5,
        }
        after = await session.write_settings(None, changes)
    for name, value in changes.items():
        assert after.values[name] == pytest.approx(value)
    assert sim.settings.registers[0x8C] == 3620 and sim.settings.registers[0x8B] == 3580
    assert sim.settings.registers[0x94] == 30000 - 1205  # charge limits stored negative (the default sign)
    writes = _writes(sim)
    assert [int.from_bytes(w[2:4], "big") for w in writes] == [0x8B, 0x8C, 0x94]  # warning lowered first
    assert all(len(w) == 8 for w in writes)


@pytest.mark.parametrize("kind", ["tcp", "pty"])
async def test_set_soc_and_balancer(kind: str) -> None:
    sim = ModbusSimulator(_state())
    async with served(sim, kind) as link:
        session = _session(link)
        snapshot = await session.set_soc(None, 42.5)
        assert snapshot.soc == 42.5
        assert d2.build_write(t.D2_DEVICE, ts.REG_SOC, 425) in sim.requests
        await session.set_balancer(None, False)
        assert sim.state.balancer_switch == 0
        assert (await session.read_settings()).values["balancer_enabled"] is False


async def test_raising_over_voltage_writes_the_protection_first() -> None:
    sim = ModbusSimulator(_state())
    session = _session(DirectLink(sim))
    await session.write_settings(None, {"cell_overvoltage_protect": 3.70, "cell_overvoltage_alarm": 3.68})
    assert [int.from_bytes(w[2:4], "big") for w in _writes(sim)] == [0x8C, 0x8B]


# --- refusals: nothing sent -----------------------------------------------------------------------------------
async def test_refused_without_control_sends_nothing() -> None:
    sim = ModbusSimulator(_state())
    session = _session(DirectLink(sim), control=False)
    with pytest.raises(ControlRefused):
        await session.write_settings(None, {"cell_overvoltage_protect": 3.6})
    with pytest.raises(ControlRefused):
        await session.set_soc(None, 50)
    with pytest.raises(ControlRefused):
        await session.set_balancer(None, False)
    assert sim.requests == []


async def test_out_of_range_and_unknown_names_refused_before_any_byte() -> None:
    sim = ModbusSimulator(_state())
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsRefused) as err:
        await session.write_settings(None, {"cell_overvoltage_protect": 36.5, "cell_overvoltage_release": 3.4})
    assert len(err.value.problems) == 2
    assert "outside the device's range" in err.value.problems[0]
    assert "cell_overvoltage_release" in err.value.problems[1]  # DALY has no release values
    with pytest.raises(SettingsRefused):
        await session.set_soc(None, 101)
    assert sim.requests == []


async def test_rule_against_the_devices_values_refused_before_any_write() -> None:
    sim = ModbusSimulator(_state())
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsRefused) as err:
        await session.write_settings(None, {"cell_overvoltage_alarm": 3.70})  # above the stored protection 3.65
    assert "warning must not be above its protection" in str(err.value)
    assert _writes(sim) == []
    assert sim.settings.registers[0x8B] == 3550


@pytest.mark.parametrize("family", ["a5", "p81"])
async def test_undocumented_families_refused_before_any_io(family: str) -> None:
    sim = ModbusSimulator(_state(), family="p81")
    session = _session(DirectLink(sim), family=family)
    for call in (
        session.read_settings(),
        session.write_settings(None, {"cell_overvoltage_protect": 3.6}),
        session.set_soc(None, 50),
        session.set_balancer(None, True),
    ):
        with pytest.raises(SettingsUnsupported, match=f"DALY family {family.upper()}"):
            await call
    assert sim.requests == []


async def test_auto_detected_p81_refuses_settings_after_read_only_detection() -> None:
    sim = ModbusSimulator(_state(), family="p81")
    session = _session(DirectLink(sim), family="auto")
    with pytest.raises(SettingsUnsupported, match="P81"):
        await session.write_settings(None, {"cell_overvoltage_protect": 3.6})
    assert all(r[1] == t.FC_READ for r in sim.requests)


# --- the device's own answers ---------------------------------------------------------------------------------
def test_simulator_refuses_out_of_range_writes_with_exception_3() -> None:
    sim = ModbusSimulator(_state())
    reply = sim.handle(d2.build_write(t.D2_DEVICE, 0x8C, 9000))  # 9 V per cell
    assert reply == d2.build_exception(t.D2_DEVICE, t.FC_WRITE, 3)
    assert sim.settings.registers[0x8C] == 3650
    assert sim.handle(d2.build_write(t.D2_DEVICE, ts.REG_SOC, 1001)) == d2.build_exception(t.D2_DEVICE, t.FC_WRITE, 3)


async def test_a_value_the_unit_ignores_is_named() -> None:
    sim = ModbusSimulator(_state())
    sim.settings.ignored = {"charge_overcurrent_protect"}
    session = _session(DirectLink(sim))
    with pytest.raises(ControlNotConfirmed) as err:
        await session.write_settings(None, {"charge_overcurrent_protect": 120.0, "sleep_delay": 600})
    assert err.value.names == ("charge_overcurrent_protect",)
    assert sim.settings.registers[0x8A] == 600


class Refuses8E(D2SettingsSim):
    """A unit whose own limits refuse any write to 0x8E (cell under-voltage protection)."""

    def write(self, register: int, value: int, state: DalyState) -> int | None:
        return 3 if register == 0x8E else D2SettingsSim.write(self, register, value, state)


async def test_device_exception_mid_sequence_says_what_was_written() -> None:
    sim = ModbusSimulator(_state())
    sim.settings = Refuses8E()
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(None, {"sleep_delay": 900, "cell_undervoltage_protect": 2.5})
    assert "refused cell_undervoltage_protect (register 0x8E): exception 3" in str(err.value)
    assert err.value.changed == ("sleep_delay",) and err.value.unchanged == ("cell_undervoltage_protect",)
    assert sim.settings.registers[0x8A] == 900 and sim.settings.registers[0x8E] != 2500


async def test_device_exception_on_the_first_write_changes_nothing() -> None:
    sim = ModbusSimulator(_state())
    sim.settings = Refuses8E()
    session = _session(DirectLink(sim))
    with pytest.raises(ControlRefused, match="nothing was written before it"):
        await session.write_settings(None, {"cell_undervoltage_protect": 2.5})


class DropsOneWrite(ModbusSimulator):
    """The link drops exactly the ``n``-th write (no answer, not applied); reads keep working."""

    def __init__(self, state: DalyState, n: int) -> None:
        super().__init__(state)
        self.n = n
        self.seen = 0

    def handle(self, request: bytes) -> bytes | None:
        if request[1] == t.FC_WRITE:
            self.seen += 1
            if self.seen == self.n:
                return None
        return super().handle(request)


async def test_link_drop_between_writes_reports_exactly_what_changed() -> None:
    sim = DropsOneWrite(_state(), n=2)
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(None, {"sleep_delay": 900, "design_capacity": 150.0})
    assert err.value.changed == ("design_capacity",)  # written first (table order: 0x80 before 0x8A)
    assert err.value.unchanged == ("sleep_delay",)


# --- thresholds act on the simulated pack ------------------------------------------------------------------------
async def test_lowering_over_voltage_below_the_cells_protects_and_opens_charge() -> None:
    sim = ModbusSimulator(_state())
    session = _session(DirectLink(sim))
    snapshot = await session.read(None)
    assert snapshot.charge_mosfet is True and Alarm.CELL_OVERVOLTAGE not in snapshot.alarms
    await session.write_settings(
        None, {"cell_overvoltage_protect": 3.35, "cell_overvoltage_alarm": 3.30, "balance_start_voltage": 3.30}
    )
    snapshot = await session.read(None)
    assert Alarm.CELL_OVERVOLTAGE in snapshot.alarms
    assert snapshot.charge_mosfet is False and snapshot.discharge_mosfet is True
    await session.write_settings(None, {"cell_overvoltage_protect": 3.65, "cell_overvoltage_alarm": 3.55})
    snapshot = await session.read(None)
    assert Alarm.CELL_OVERVOLTAGE not in snapshot.alarms and snapshot.charge_mosfet is True


# --- hypothesis: refused before any byte, or round-trips ---------------------------------------------------------
def _value(name: str) -> st.SearchStrategy[object]:
    spec = ts.BY_NAME[name]
    if name == "balancer_enabled":
        return st.booleans()
    steps = round((spec.maximum - spec.minimum) / spec.step)
    inside = st.integers(0, steps).map(lambda n: round(spec.minimum + n * spec.step, 6))
    outside = st.sampled_from([spec.minimum - 10 * spec.step, spec.maximum + 10 * spec.step])
    return st.one_of(inside, inside, inside, outside)


CHANGES = st.dictionaries(st.sampled_from(ts.TABLE.names), st.none(), min_size=1, max_size=6).flatmap(
    lambda keys: st.fixed_dictionaries({name: _value(name) for name in keys})
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES)
async def test_any_change_set_is_refused_before_a_byte_or_round_trips(changes: dict[str, object]) -> None:
    sim = ModbusSimulator(_state())
    session = _session(DirectLink(sim))
    current = await session.read_settings()
    try:
        expected = ts.TABLE.validate(current, changes)
    except SettingsRefused:
        sim.requests.clear()
        with pytest.raises(SettingsRefused):
            await session.write_settings(None, changes)
        assert _writes(sim) == []
        return
    after = await session.write_settings(None, changes)
    assert ts.TABLE.changed(expected, after) == ()
    assert isinstance(after, BmsSettings)
