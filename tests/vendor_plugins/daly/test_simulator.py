"""The DALY simulators generate real frames from their state.

Set to a real capture's state they answer with exactly the captured bytes (a hand-typed state from the sources'
stated values, and every capture in both vector files through :mod:`.replay`), and codec(simulator(random state))
== state for any state each protocol can carry.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.plausible import decoded_unless_refused
from tests.vectors import load_vectors, vector
from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import codec_faults as faults
from vendor_plugins.daly import table as t
from vendor_plugins.daly.plugin import PLUGIN
from vendor_plugins.daly.simulator import A5Simulator, ModbusSimulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import ConfigError
from vendor_plugins.model import Alarm, Switch, TemperatureKind
from vendor_plugins.plausibility import sensor_plausible
from vendor_plugins.plugin import SimulatorOptions

from .replay import a5_state, replay_registers, status_state

LEGACY, MODBUS = "daly_uart_legacy", "daly_ble_modbus"


def _response(entry_id: str, file: str) -> bytes:
    return bytes.fromhex(vector(file, entry_id)["response_hex"])


# --- hand-typed states reproduce real captures --------------------------------------------------------------
def test_hand_typed_a5_state_reproduces_the_mpp_solar_captures() -> None:
    """A 16S pack typed in from mpp-solar's stated values (not decoded by our codec) answers with its bytes.

    The stated current is +2.1 A in the source's discharge-positive convention: the model state says -2.1 A.
    The 0x93 answer says "stationary" at another moment (kept as the unit reported it), and the reserved bytes are
    the stale ones that unit sent.
    """
    cells = [3.325, 3.326, 3.326, 3.326, 3.326, 3.326, 3.326, 3.326, 3.326, 3.326, 3.324, 3.326, 3.326, 3.327]
    state = DalyState(
        cell_voltages=[*cells, 3.326, 3.324],
        temperatures=[15.0],
        voltage=53.2,
        current=-2.1,
        soc=88.8,
        charge_state=0,
        life=154,
        remaining_capacity=172.76,
        cycles=3,
        cell_max=3.328,
        cell_max_no=15,
        cell_min=3.326,
        cell_min_no=1,
        cell_frames=16,
        temp_frames=2,
        a5_reserved={
            t.CMD_CELL_RANGE: bytes.fromhex("0378"),
            t.CMD_STATUS: bytes.fromhex("40"),
            t.CMD_CELLS: bytes.fromhex("40"),
        },
    )
    sim = A5Simulator(state)
    for command, vid in (
        (t.CMD_PACK, "mpp_solar_soc"),
        (t.CMD_CELL_RANGE, "mpp_solar_cellminmax"),
        (t.CMD_MOSFET, "mpp_solar_mosstatus"),
        (t.CMD_STATUS, "mpp_solar_status"),
        (t.CMD_CELLS, "mpp_solar_cellvoltages_16frames"),
        (t.CMD_TEMPS, "mpp_solar_celltemps"),
    ):
        assert sim.handle(a5.build_request(command, t.HOST_RS485)) == _response(vid, LEGACY), vid


def test_hand_typed_d2_state_reproduces_the_real_80_register_capture() -> None:
    """esphome_status80_frame2 (real) from its source's stated values; everything else is derived by the simulator
    (status "discharging" from the negative current, power = floor(V x |I|), average = floor(mean), max/min)."""
    stated = vector(MODBUS, "esphome_status80_frame2")
    state = DalyState(
        cell_voltages=[mv / 1000 for mv in stated["decoded_here"]["cell_mV"]],
        temperatures=[15.0, 15.0, 15.0, 15.0],
        voltage=52.5,
        current=-3.1,
        soc=53.0,
        remaining_capacity=111.3,
        cycles=57,
        mosfet_temperature=15.0,
        board_temperature=None,
    )
    request = d2.build_read(t.D2_DEVICE, 0, t.D2_STATUS_REGS_EXTENDED)
    assert ModbusSimulator(state).handle(request) == bytes.fromhex(stated["response_hex"])


def test_hand_typed_versions_reproduce_the_real_app_capture() -> None:
    """btsnoop_daly_version (real Daly-app traffic): the vendor map's 16-byte software and hardware slots."""
    state = DalyState(software_version="B002_111132_03", hardware_version="E303-032DG-SMB", machine_code="")
    request = d2.build_read(t.D2_DEVICE, t.D2_VERSION_START, t.D2_VERSION_REGS)
    assert ModbusSimulator(state).handle(request) == _response("btsnoop_daly_version", MODBUS)


# --- every capture, replayed -----------------------------------------------------------------------------
def test_every_a5_response_capture_is_reproduced() -> None:
    """Each real A5 answer (single and multi-frame): a simulator in that state answers with identical bytes."""
    reproduced = 0
    for entry in load_vectors(LEGACY):
        if not entry["response_hex"]:
            continue
        raw = bytes.fromhex(entry["response_hex"])
        frames = a5.A5Assembler().feed(raw)
        request = a5.build_request(frames[0].command, t.HOST_UART_BLE)
        assert A5Simulator(a5_state(frames)).handle(request) == raw, entry["id"]
        reproduced += 1
    assert reproduced == 21


def _requests_for(entry: dict[str, Any]) -> list[tuple[str, bytes, int, bytes]]:
    """(family, request, start register, payload) of a read vector, the request rebuilt when only implied."""
    raw = bytes.fromhex(entry["response_hex"])
    frame = d2.parse_frame(raw)
    family = "p81" if frame.address == t.P81_RESPONSE_DEVICE else "d2"
    device = t.P81_REQUEST_DEVICE if family == "p81" else t.D2_DEVICE
    if entry["request_hex"]:
        request = bytes.fromhex(entry["request_hex"])
    else:  # issue #55 / #60 pdus: status reads without the request logged
        request = d2.build_read(device, 0, len(frame.payload) // 2)
    start = int.from_bytes(request[2:4], "big")
    return [(family, request, start, frame.payload)]


def test_every_modbus_read_capture_is_reproduced_without_replaying_decoded_registers() -> None:
    """Status, version and balancer-switch reads (D2 and P81): identical bytes, and the replayed registers never
    include one the codec decodes — those the simulator generated from the state alone."""
    entries = [e for e in load_vectors(MODBUS) if e["response_hex"] and e["checksum_recomputed"]["response"] == "pass"]
    rt1 = d2.parse_frame(_response("p81_rt1_cells", MODBUS)).payload
    rt2 = d2.parse_frame(_response("p81_rt2_status", MODBUS)).payload
    p81_block = d2.decode_status("p81", d2.p81_image(rt1, rt2))
    reproduced = 0
    for entry in entries:
        frame = d2.parse_frame(bytes.fromhex(entry["response_hex"]))
        if frame.command != t.FC_READ:
            continue
        ((family, request, start, payload),) = _requests_for(entry)
        if family == "p81":
            block, state = p81_block, status_state(p81_block)
        elif start == 0 and len(payload) in (2 * t.D2_STATUS_REGS, 2 * t.D2_STATUS_REGS_EXTENDED):
            block = d2.decode_status("d2", payload)
            state = status_state(block)
        else:
            block, state = None, DalyState(software_version="", hardware_version="", machine_code="")
        extra = replay_registers(state, family, start, payload)
        if block is not None and start in (0, t.P81_RT2_START):
            assert not set(extra) & d2.decoded_registers(block), entry["id"]
        assert ModbusSimulator(state, family=family).handle(request) == bytes.fromhex(entry["response_hex"])
        reproduced += 1
    assert reproduced == 38


def test_write_echoes_are_reproduced() -> None:
    """The real balancer-switch writes: the simulator echoes them exactly like the unit did."""
    sim = ModbusSimulator()
    for vid in ("btsnoop_daly_write_balancer_off", "btsnoop_daly_write_balancer_on"):
        entry = vector(MODBUS, vid)
        assert sim.handle(bytes.fromhex(entry["request_hex"])) == bytes.fromhex(entry["response_hex"])


# --- control and errors --------------------------------------------------------------------------------------
def test_a5_switch_commands_change_the_state_and_echo() -> None:
    """0xD9 off then 0xDA off: B0 echoes the requested state (dreadnought's quoted replies), 0x93 shows it."""
    sim = A5Simulator()
    reply = a5.parse_frame(sim.handle(a5.build_switch(Switch.DISCHARGE, False, t.HOST_RS485)) or b"")
    assert reply.command == t.CMD_DISCHARGE_SWITCH and reply.payload[0] == 0
    a5.parse_frame(sim.handle(a5.build_switch(Switch.CHARGE, False, t.HOST_RS485)) or b"")
    mosfet = a5.decode_fields(t.CMD_MOSFET, a5.parse_frame(sim.handle(a5.build_request(0x93, 0x40)) or b"").payload)
    assert (mosfet["charge_mosfet"], mosfet["discharge_mosfet"]) == (0, 0)


def test_d2_switch_registers_are_echoed_and_read_back() -> None:
    """FC06 to 0xA5/0xA6 is echoed; the status block's MOSFET registers follow."""
    sim = ModbusSimulator()
    request = d2.build_write(t.D2_DEVICE, t.D2_REG_DISCHARGE_SWITCH, 0)
    assert sim.handle(request) == request
    status = d2.decode_status("d2", d2.parse_frame(sim.handle(d2.build_read(0xD2, 0, 80)) or b"").payload)
    assert status.values["discharge_mosfet"] == 0 and status.values["charge_mosfet"] == 1


def test_unknown_requests() -> None:
    """A5: silence for an undocumented command. D2: exceptions for unknown registers, values and functions."""
    assert A5Simulator().handle(a5.build_request(0x02, t.HOST_RS485)) is None  # the Daly app's probe
    sim = ModbusSimulator()
    for request, code in (
        (d2.build_read(t.D2_DEVICE, 0x60, 4), 2),
        (d2.build_write(t.D2_DEVICE, 0x10, 1), 2),
        (d2.build_write(t.D2_DEVICE, t.D2_REG_CHARGE_SWITCH, 7), 3),
        (bytes.fromhex("d21000d40003180b0709341cf7d8"), 1),  # the app's clock write (FC16)
    ):
        frame = d2.parse_frame(sim.handle(request) or b"")
        assert frame.command & t.EXCEPTION_FLAG and frame.status == code
    p81 = ModbusSimulator(family="p81")
    assert p81.handle(d2.build_read(t.D2_DEVICE, 0, 62)) is None  # not its device byte
    frame = d2.parse_frame(p81.handle(d2.build_write(t.P81_REQUEST_DEVICE, t.D2_REG_CHARGE_SWITCH, 0)) or b"")
    assert frame.address == t.P81_RESPONSE_DEVICE and frame.status == 2  # no documented P81 switch registers


def test_profiles_and_families() -> None:
    """``create_simulator``: family default d2, "live" moves, "static" does not, unknown names refused."""
    assert PLUGIN.create_simulator(SimulatorOptions()).family == "d2"
    for family in t.FAMILIES:
        assert PLUGIN.create_simulator(SimulatorOptions(family=family, profile="static")).family == family
    live = PLUGIN.create_simulator(SimulatorOptions(family="a5", seed=4))
    static = PLUGIN.create_simulator(SimulatorOptions(family="a5", profile="static"))
    before = live.state.remaining_capacity
    for _ in range(30):
        live.advance(5.0)
        static.advance(5.0)
    assert live.state.remaining_capacity != before and live.state.current != -5.2
    assert static.state == DalyState()
    with pytest.raises(ConfigError):
        PLUGIN.create_simulator(SimulatorOptions(family="x9"))
    with pytest.raises(ConfigError):
        PLUGIN.create_simulator(SimulatorOptions(profile="wobbly"))


def test_extra_frames_carry_zeros_beyond_the_cells() -> None:
    """``extra_frames``: 16 cell frames and 3 temperature frames; a decoder takes only what the counts need."""
    sim = A5Simulator(extra_frames=True)
    frames = a5.A5Assembler().feed(sim.handle(a5.build_request(t.CMD_CELLS, t.HOST_UART_BLE)) or b"")
    assert a5.frame_numbers(frames) == list(range(1, 17))
    assert [mv / 1000 for mv in a5.decode_cells(frames, 16)] == sim.state.cell_voltages
    temps = a5.A5Assembler().feed(sim.handle(a5.build_request(t.CMD_TEMPS, t.HOST_UART_BLE)) or b"")
    assert a5.frame_numbers(temps) == [1, 2, 3]


# --- property: codec(simulator(random state)) == state -------------------------------------------------------
def _expected_alarms(names: set[str]) -> tuple[set[Alarm], set[Alarm]]:
    alarms, warnings = set(), set()
    for name in names:
        bit = t.FAULT_BITS_BY_NAME.get(name)
        if bit is not None and bit.alarm is not None:
            (warnings if bit.is_warning else alarms).add(bit.alarm)
    return alarms, warnings


def _common(state: DalyState, snap: Any) -> None:
    assert snap.voltage == state.voltage
    assert snap.current == state.current
    assert snap.soc == state.soc
    assert snap.remaining_capacity == state.remaining_capacity
    assert snap.cycles == state.cycles
    assert snap.cell_voltages == tuple(state.cell_voltages)
    shown = [c for c in state.temperatures if sensor_plausible(c)]  # a broken sensor's reading is left out
    assert [x.celsius for x in snap.temperatures if x.kind is TemperatureKind.CELL] == shown
    assert snap.charge_mosfet is state.charge_mosfet and snap.discharge_mosfet is state.discharge_mosfet


def _values(state: DalyState) -> dict[str, Any]:
    """The state's values the model checks for plausibility (``tests.support.plausible``)."""
    sensors = [c for c in (state.mosfet_temperature, state.board_temperature) if c is not None]
    return {
        "voltage": state.voltage,
        "current": state.current,
        "soc": state.soc,
        "remaining_capacity": state.remaining_capacity,
        "cycles": state.cycles,
        "cell_voltages": state.cell_voltages,
        "temperatures": [*state.temperatures, *sensors],
    }


def _deci(lo: int, hi: int) -> st.SearchStrategy[float]:
    return st.integers(lo, hi).map(lambda v: v / 10)


@st.composite
def _pack_voltage(draw: st.DrawFn, cells: list[float]) -> float:
    """A 0x90 voltage the codec accepts with these cells: their sum within the tolerance (any, without cells)."""
    if not cells:
        return draw(_deci(0, 65535))
    total = sum(cells)
    relative, absolute = t.A5_PACK_VS_CELLS_TOLERANCE
    slack = max(absolute, relative * total) - 0.05  # the 0.1 V resolution of the field must stay inside
    return draw(st.integers(max(0, round((total - slack) * 10)), round((total + slack) * 10)).map(lambda v: v / 10))


@st.composite
def _cells_and_voltage(draw: st.DrawFn) -> tuple[list[float], float]:
    cells = draw(st.lists(st.integers(0, t.A5_MAX_CELL_MV).map(lambda mv: mv / 1000), max_size=t.MAX_CELLS))
    return cells, draw(_pack_voltage(cells))


a5_states = st.builds(
    lambda cv, **kw: DalyState(cell_voltages=cv[0], voltage=cv[1], **kw),
    cv=_cells_and_voltage(),
    temperatures=st.lists(st.integers(-40, 215).map(float), max_size=t.MAX_TEMPS),
    current=st.integers(0, 65535).map(a5.current_from_raw),
    soc=_deci(0, 1000),  # a state of charge above 100 % is rejected as implausible (model.py)
    remaining_capacity=st.integers(0, 2**32 - 1).map(lambda mah: mah / 1000),
    cycles=st.integers(0, 65535),
    charge_mosfet=st.booleans(),
    discharge_mosfet=st.booleans(),
    balancing=st.sets(st.integers(1, 48)),
    faults=st.sets(st.sampled_from(faults.BIT_NAMES)),
    fault_code=st.integers(0, 255),
    charge_state=st.integers(0, 255),
    life=st.integers(0, 255),
    charger=st.integers(0, 1),
    load=st.integers(0, 1),
    dio=st.integers(0, 255),
)


@settings(max_examples=200, deadline=None)
@given(a5_states, st.booleans())
def test_a5_codec_decodes_the_simulator_state(state: DalyState, extra_frames: bool) -> None:
    """Whatever the state, the snapshot decoded from the simulator's A5 answers is that state."""
    sim = A5Simulator(state, extra_frames=extra_frames)
    answers = {
        cmd: a5.A5Assembler().feed(sim.handle(a5.build_request(cmd, t.HOST_UART_BLE)) or b"")
        for cmd in t.A5_READ_SEQUENCE
    }
    status = a5.decode_fields(t.CMD_STATUS, answers[t.CMD_STATUS][0].payload)
    reading = a5.A5Reading(
        pack=a5.decode_fields(t.CMD_PACK, answers[t.CMD_PACK][0].payload),
        mosfet=a5.decode_fields(t.CMD_MOSFET, answers[t.CMD_MOSFET][0].payload),
        status=status,
        cells_mv=a5.decode_cells(answers[t.CMD_CELLS], status["cell_count"]),
        temps_raw=a5.decode_temps(answers[t.CMD_TEMPS], status["temp_count"]),
        balance=answers[t.CMD_BALANCE][0].payload,
        failure=answers[t.CMD_FAILURE][0].payload,
    )
    snap = decoded_unless_refused(lambda: a5.to_snapshot(reading, t.HOST_UART_BLE), **_values(state))
    if snap is None:
        return
    _common(state, snap)
    assert snap.balancing == frozenset(state.balancing)
    assert (set(snap.alarms), set(snap.warnings)) == _expected_alarms(state.faults)
    assert set(filter(None, str(snap.raw.get("fault_bits", "")).split(","))) == state.faults
    assert snap.raw.get("fault_code", 0) == state.fault_code
    assert snap.raw["charge_state"] == a5.charge_state_name(state.charge_state or 0)
    assert snap.raw["bms_life"] == state.life


def _modbus_states(family: str) -> st.SearchStrategy[DalyState]:
    cells = t.P81_CELL_SLOTS if family == "p81" else t.D2_CELL_SLOTS
    sensor = st.none() | st.integers(1 - t.TEMP_OFFSET, 0xFFFE - t.TEMP_OFFSET).map(float)
    return st.builds(
        DalyState,
        cell_voltages=st.lists(st.integers(0, 65535).map(lambda mv: mv / 1000), max_size=cells),
        temperatures=st.lists(st.integers(-40, 65495).map(float), max_size=8),
        voltage=_deci(0, 65535),
        current=st.integers(0, 65535).map(d2.current_from_raw),
        soc=_deci(0, 1000),  # a state of charge above 100 % is rejected as implausible (model.py)
        remaining_capacity=_deci(0, 65535),
        cycles=st.integers(0, 65535),
        charge_mosfet=st.booleans(),
        discharge_mosfet=st.booleans(),
        balancing=st.sets(st.integers(1, cells)),
        faults=st.sets(st.sampled_from(faults.D2_BIT_NAMES)) if family == "d2" else st.just(set()),
        mosfet_temperature=sensor,
        board_temperature=sensor,
        charge_state=st.integers(0, 2),
        balancer=st.integers(0, 2),
        life=st.integers(0, 65535),
    )


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_modbus_codec_decodes_the_simulator_state(data: st.DataObject) -> None:
    """D2 (80 registers) and P81 (RT1 + RT2): the decoded snapshot is the state, whatever the state."""
    family = data.draw(st.sampled_from(["d2", "p81"]))
    state = data.draw(_modbus_states(family))
    sim = ModbusSimulator(state, family=family)
    if family == "p81":
        rt1 = d2.parse_frame(sim.handle(d2.build_read(0x81, 0, 64)) or b"").payload
        rt2 = d2.parse_frame(sim.handle(d2.build_read(0x81, 0x41, 62)) or b"").payload
        image = d2.p81_image(rt1, rt2)
    else:
        image = d2.parse_frame(sim.handle(d2.build_read(0xD2, 0, 80)) or b"").payload
    snap = decoded_unless_refused(lambda: d2.to_snapshot(d2.decode_status(family, image)), **_values(state))
    if snap is None:
        return
    _common(state, snap)
    assert snap.balancing == frozenset(state.balancing)
    mosfet = [x.celsius for x in snap.temperatures if x.kind is TemperatureKind.MOSFET]
    board = [x.celsius for x in snap.temperatures if x.kind is TemperatureKind.BOARD]
    assert mosfet == [c for c in (state.mosfet_temperature,) if c is not None and sensor_plausible(c)]
    assert board == [c for c in (state.board_temperature,) if c is not None and sensor_plausible(c)]
    assert snap.raw["balancer_state"] == state.balancer
    assert snap.raw["charge_state"] == t.CHARGE_STATES[state.charge_state or 0]
    if family == "d2":
        assert (set(snap.alarms), set(snap.warnings)) == _expected_alarms(state.faults)
        assert set(filter(None, str(snap.raw.get("fault_bits", "")).split(","))) == state.faults
    else:
        assert snap.raw["heartbeat"] == state.life
