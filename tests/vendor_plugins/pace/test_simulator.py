"""The PACE simulators generate real frames from their state.

Set to a capture's state, a pack answers with exactly the captured bytes (ASCII v0x25 and v0x20, device info,
control replies, the Modbus RTU captures); and codec(simulator(random state)) == state for any state the protocol
can carry.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.plausible import decoded_unless_refused
from tests.vectors import load_vectors, vector
from vendor_plugins.model import Alarm
from vendor_plugins.pace import codec_ascii as codec
from vendor_plugins.pace import codec_ascii_layout as layout
from vendor_plugins.pace import codec_modbus as mb
from vendor_plugins.pace import table as t
from vendor_plugins.pace.codec_bits import bit_numbers
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.pace.simulator_modbus import PaceRtuSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.plausibility import sensor_plausible


def _raw(vid: str, key: str = "response_hex") -> bytes:
    return bytes.fromhex(vector("pace_ascii", vid)[key])


def test_hand_typed_state_reproduces_the_vendor_example() -> None:
    """State typed in from the PDF's stated values (not decoded by our codec) → the PDF's response, byte for byte."""
    stated: dict[str, Any] = vector("pace_ascii", "pace_doc_resp_analog")["expected"]
    state = PaceState(
        cells=[mv / 1000 for mv in stated["cell_mV"]],
        voltage=stated["voltage_V"],
        current=stated["current_A"],
        remaining_capacity=stated["remaining_Ah"],
        full_capacity=stated["full_Ah"],
        design_capacity=stated["design_Ah"],
        cycles=stated["cycles"],
        temperatures=list(stated["temps_C"]),
    )
    sim = PaceAsciiSimulator(state, address=0)
    assert sim.handle(codec.build_read(codec.V25, 0, t.Cid2.ANALOG, command=t.ALL_PACKS)) == _raw(
        "pace_doc_resp_analog"
    )


def test_every_analog_and_status_capture_is_reproduced() -> None:
    """For each 0x42/0x44 capture (v0x25, the Easun variant, v0x20 EG4): a pack in that state sends those bytes."""
    reproduced = 0
    for entry in load_vectors("pace_ascii"):
        if entry["response_hex"] is None:
            continue
        request = codec.parse_frame(bytes.fromhex(entry["request_hex"]))
        if request.cid2 not in (t.Cid2.ANALOG, t.Cid2.WARN):
            continue
        raw = bytes.fromhex(entry["response_hex"])
        frame = codec.parse_frame(raw)
        variant = codec.V25 if frame.version == t.VER_25 else codec.V20
        all_packs = bool(request.info) and request.info[0] == t.ALL_PACKS
        if request.cid2 == t.Cid2.ANALOG:
            analog = layout.decode_analog(frame.info, frame.version, all_packs=all_packs)
            state = PaceState.from_ascii(analog.blocks[0], infoflag=analog.infoflag)
        else:
            warn = layout.decode_warn(frame.info, frame.version)
            state = PaceState.from_ascii(_block(len(warn.cell_warn), len(warn.temp_warn)), warn)
        sim = PaceAsciiSimulator(state, address=request.address, variant=variant)
        assert sim.handle(bytes.fromhex(entry["request_hex"])) == raw, entry["id"]
        reproduced += 1
    assert reproduced == 6  # 3 analog (PDF, v0x25, v0x20 EG4) + 3 status (v0x25, Easun, v0x20 EG4)


def _block(cells: int, temps: int) -> layout.AnalogBlock:
    return layout.AnalogBlock(
        cells=(3.3,) * cells,
        temperatures=(25.0,) * temps,
        current=0.0,
        voltage=52.8,
        remaining_capacity=50.0,
        full_capacity=100.0,
        cycles=1,
        design_capacity=100.0,
    )


def test_device_info_and_pack_number_captures() -> None:
    """0xC1 / 0xC2 from a hand-typed state; 0x90 from the bus log of issue #24 (ADR 01: 2 packs, ADR 02: 1)."""
    state = PaceState(software_version="P16S100A-1812-1.00 ", serial_number="1812101380309D")
    sim = PaceAsciiSimulator(state, address=1)
    assert sim.handle(_raw("nkinnan_v25_hwver", "request_hex")) == _raw("nkinnan_v25_hwver")
    assert sim.handle(_raw("nkinnan_v25_serial", "request_hex")) == _raw("nkinnan_v25_serial")
    master = PaceAsciiSimulator(PaceState(pack_count=2), address=1)
    assert master.handle(codec.build_request(codec.V25, 1, t.Cid2.PACK_NUMBER)) == b"~25014600E00202FD35\r"
    second = PaceAsciiSimulator(PaceState(pack_count=1), address=2)
    assert second.handle(codec.build_request(codec.V25, 2, t.Cid2.PACK_NUMBER)) == b"~25024600E00201FD35\r"


def test_mosfet_control_replies_match_the_captures() -> None:
    """Real PbmsTools traffic at ADR 0: state byte 0x26 → 9A/01 → 0x24; 9B/01 with charge off → RTN 0x09 (04)."""
    state = PaceState(current=1.0)  # charging: InstructionState bit 5 as in the captured 0x26
    sim = PaceAsciiSimulator(state, address=0)
    assert sim.handle(_raw("nkinnan_v25_chg_mos_00", "request_hex")) == _raw("nkinnan_v25_chg_mos_00")
    assert sim.handle(_raw("nkinnan_v25_chg_mos_01", "request_hex")) == _raw("nkinnan_v25_chg_mos_01")
    assert state.charge_mosfet is False
    state.current = 0.0
    assert sim.handle(_raw("nkinnan_v25_dsg_mos_00", "request_hex")) == _raw("nkinnan_v25_dsg_mos_00")
    assert sim.handle(_raw("nkinnan_v25_dsg_mos_01", "request_hex")) == _raw("nkinnan_v25_dsg_mos_01")
    assert state.discharge_mosfet is True  # refused: the BMS keeps one MOSFET on


def test_control_99_replies_follow_control_state() -> None:
    """Each 0x99 capture: set the other ControlState bits as captured, the command sets/clears its own bit."""
    for vid in (
        "nkinnan_v25_buzzer_on",
        "nkinnan_v25_buzzer_off",
        "nkinnan_v25_led_open",
        "nkinnan_v25_led_close",
        "nkinnan_v25_limiter_open",
        "nkinnan_v25_limiter_close",
        "nkinnan_v25_limiter_low_gear",
        "nkinnan_v25_limiter_high_gear",
    ):
        reply = codec.parse_frame(_raw(vid))
        command, after = reply.info
        state = PaceState(control_state=after ^ 0xC0)  # start from something else in the undefined bits
        state.control_state = after
        sim = PaceAsciiSimulator(state, address=0)
        assert sim.handle(_raw(vid, "request_hex")) == _raw(vid), vid
        assert command == codec.parse_frame(_raw(vid, "request_hex")).info[0]


def test_pack_answers_only_its_own_address_and_version() -> None:
    """Another address, another VER or CID1: silence (as on a real bus)."""
    sim = PaceAsciiSimulator(address=3)
    assert sim.handle(codec.build_read(codec.V25, 4, t.Cid2.ANALOG)) is None
    assert sim.handle(codec.build_read(codec.V20, 3, t.Cid2.ANALOG)) is None
    assert sim.handle(codec.build_read(codec.V25, 3, t.Cid2.ANALOG)) is not None
    unknown = codec.parse_frame(sim.handle(codec.build_request(codec.V25, 3, 0x47)) or b"")
    assert unknown.rtn == t.RTN_CID2_UNDEFINED


def test_modbus_rtu_simulator_reproduces_the_real_captures() -> None:
    """A unit that rejects the 0-7 block (Revov R100) and a clean pack: the captured answers byte for byte."""
    for entry in load_vectors("pace_modbus"):
        if entry["response_hex"] is None:
            continue
        sim = PaceRtuSimulator(PaceState(charge_mosfet=False, discharge_mosfet=False), reject_pack_block=True)
        assert sim.handle(bytes.fromhex(entry["request_hex"])) == bytes.fromhex(entry["response_hex"]), entry["id"]


def test_live_profile_moves_current_and_soc() -> None:
    """``advance`` changes the state over time in live mode only."""
    live, static = PaceAsciiSimulator(live=True, seed=1), PaceAsciiSimulator(seed=1)
    before = live.state.remaining_capacity
    currents = set()
    for _ in range(30):
        live.advance(5.0)
        static.advance(5.0)
        currents.add(live.state.current)
    assert live.state.remaining_capacity != before and currents != {0.0}  # full by now: tapered to 0 A
    assert static.state == PaceState()


# --- property: codec(simulator(random state)) == state ---------------------------------------------------------
_STATE_ALARMS = sorted(
    {b.alarm for _, table, sev in t.STATE_BYTES if sev is t.Severity.ALARM for b in table.values() if b.alarm}
)
_STATE_WARNINGS = sorted(
    {b.alarm for _, table, sev in t.STATE_BYTES if sev is t.Severity.WARNING for b in table.values() if b.alarm}
)


@st.composite
def _states(draw: st.DrawFn) -> PaceState:
    cells = draw(st.lists(st.integers(2000, 4500).map(lambda mv: mv / 1000), min_size=1, max_size=16))
    temps = draw(st.lists(st.integers(-400, 900).map(lambda d: d / 10), min_size=0, max_size=8))
    return PaceState(
        cells=cells,
        voltage=draw(st.integers(0, 65535)) / 1000,
        current=draw(st.integers(-32768, 32767)) / 100,
        remaining_capacity=draw(st.integers(0, 65535)) / 100,
        full_capacity=draw(st.integers(0, 65535)) / 100,
        design_capacity=draw(st.integers(0, 65535)) / 100,
        cycles=draw(st.integers(0, 65535)),
        temperatures=temps,
        charge_mosfet=draw(st.booleans()),
        discharge_mosfet=draw(st.booleans()),
        balancing=draw(st.sets(st.integers(1, len(cells)))),
        alarms=draw(st.sets(st.sampled_from(_STATE_ALARMS))),
        warnings=draw(st.sets(st.sampled_from(_STATE_WARNINGS))),
        cell_warn=draw(st.dictionaries(st.integers(1, len(cells)), st.sampled_from([1, 2, 0xF0]))),
    )


def _values(state: PaceState) -> dict[str, Any]:
    """The state's values the model checks for plausibility (``tests.support.plausible``)."""
    return {
        "voltage": state.pack_voltage,
        "current": state.current,
        "remaining_capacity": state.remaining_capacity,
        "full_capacity": state.full_capacity,
        "design_capacity": state.design_capacity,
        "cycles": state.cycles,
        "cell_voltages": state.cells,
        "temperatures": state.temperatures,
    }


@settings(max_examples=300, deadline=None)
@given(_states(), st.integers(0, 15))
def test_ascii_codec_decodes_simulator_state(state: PaceState, address: int) -> None:
    """Whatever the state, 0x42 + 0x44 from the simulator decode back to it."""
    sim = PaceAsciiSimulator(state, address=address)
    analog = codec.parse_frame(sim.handle(codec.build_read(codec.V25, address, t.Cid2.ANALOG)) or b"")
    warn = codec.parse_frame(sim.handle(codec.build_read(codec.V25, address, t.Cid2.WARN)) or b"")
    block = layout.decode_analog(analog.info).blocks[0]
    snap = decoded_unless_refused(lambda: layout.to_snapshot(block, layout.decode_warn(warn.info)), **_values(state))
    if snap is None:
        return
    assert list(snap.cell_voltages) == state.cells
    assert snap.voltage == state.voltage and snap.current == state.current
    assert (snap.remaining_capacity, snap.full_capacity) == (state.remaining_capacity, state.full_capacity)
    assert (snap.design_capacity, snap.cycles) == (state.design_capacity, state.cycles)
    assert [x.celsius for x in snap.temperatures] == [c for c in state.temperatures if sensor_plausible(c)]
    assert (snap.charge_mosfet, snap.discharge_mosfet) == (state.charge_mosfet, state.discharge_mosfet)
    assert snap.balancing == frozenset(state.balancing)
    cell_alarms = {Alarm.CELL_FAULT} if 0xF0 in state.cell_warn.values() else set()
    assert snap.alarms == frozenset(state.alarms | cell_alarms)
    cell_warnings = {t.CELL_WARN[v] for v in state.cell_warn.values() if v in t.CELL_WARN}
    assert snap.warnings == frozenset(state.warnings | cell_warnings)
    assert {n: snap.raw[f"cell_{n}_warn"] for n in state.cell_warn} == state.cell_warn
    assert snap.raw.get("charging") == (1 if state.current > 0 else None)
    assert snap.raw.get("discharging") == (1 if state.current < 0 else None)


@settings(max_examples=150, deadline=None)
@given(_states())
def test_v20_codec_decodes_simulator_state(state: PaceState) -> None:
    """The EG4 v0x20 layout (10 mV voltage, SoC/SoH reported) round-trips too."""
    state.voltage = round(state.pack_voltage, 2)
    state.temperatures = state.temperatures[:3] + [20.0] * (6 - len(state.temperatures[:3]))
    sim = PaceAsciiSimulator(state, address=1, variant=codec.V20)
    analog = codec.parse_frame(sim.handle(codec.build_read(codec.V20, 1, t.Cid2.ANALOG)) or b"")
    block = layout.decode_analog(analog.info, t.VER_20).blocks[0]
    values = _values(state) | {"soc": state.soc_percent, "soh": state.soh_percent, "design_capacity": None}  # none sent
    snap = decoded_unless_refused(lambda: layout.to_snapshot(block, None, version=t.VER_20), **values)
    if snap is None:
        return
    assert snap.voltage == state.voltage and list(snap.cell_voltages) == state.cells
    assert snap.soc == state.soc_percent and snap.soh == state.soh_percent


@settings(max_examples=150, deadline=None)
@given(_states())
def test_modbus_codec_decodes_simulator_state(state: PaceState) -> None:
    """Registers from the RTU simulator decode back to the state (0.01 V voltage, 0.1 °C temperatures)."""
    state.temperatures = (state.temperatures + [0.0] * 6)[:6]  # registers 31-36 always exist
    state.voltage = round(state.pack_voltage, 2)
    assert all(mv > 0 for mv in state.cells)
    sim = PaceRtuSimulator(state, unit=1)
    blocks = {}
    for first, count in t.MODBUS_READ_BLOCKS:
        answer = sim.handle(mb.build_read_request(1, first, count)) or b""
        blocks[first] = mb.parse_read_response(answer, 1, count)
    snap = decoded_unless_refused(lambda: mb.to_snapshot(mb.decode_registers(mb.image_of(blocks))), **_values(state))
    if snap is None:
        return
    assert list(snap.cell_voltages) == state.cells and snap.voltage == state.voltage
    assert snap.current == state.current and snap.cycles == state.cycles
    assert [x.celsius for x in snap.temperatures] == [c for c in state.temperatures if sensor_plausible(c)]
    assert (snap.charge_mosfet, snap.discharge_mosfet) == (state.charge_mosfet, state.discharge_mosfet)
    assert snap.balancing == frozenset(state.balancing) == bit_numbers(sum(1 << (c - 1) for c in state.balancing))
    modbus_alarms = {b.alarm for b in (*t.MODBUS_PROTECTION_FLAG.values(), *t.MODBUS_FAULT_BITS.values())}
    assert snap.alarms == frozenset(a for a in state.alarms if a in modbus_alarms)
    assert snap.warnings == frozenset(state.warnings)
