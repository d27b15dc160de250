"""The JBD simulator generates real frames from its state: set to a real capture's state it answers with exactly
the captured bytes, and codec(simulator(random state)) == state for any state the protocol can carry.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.plausible import decoded_unless_refused
from tests.vectors import load_vectors, vector
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.model import Alarm
from vendor_plugins.plausibility import sensor_plausible

READ_BASIC = codec.build_read(t.REG_BASIC)
READ_CELLS = codec.build_read(t.REG_CELLS)
READ_HW = codec.build_read(t.REG_HARDWARE)


def test_hand_built_state_reproduces_real_uart_capture_byte_for_byte() -> None:
    """State typed in from the source's stated values (JBD-SP04S034), not decoded by our codec."""
    state = JbdState(
        cell_voltages=[3.909, 3.901, 3.895, 3.901],
        voltage=15.60,
        current=0.0,
        remaining_capacity=4.98,
        design_capacity=5.0,
        cycles=0,
        production_date=dt.date(2022, 3, 28),
        software_version=0x80,
        soc=100,
        charge_mosfet=True,
        discharge_mosfet=True,
        temperatures=[22.4, 22.3, 21.7],
        model="JBD-SP04S034-L4S-200A-B-U",
    )
    sim = JbdSimulator(state)
    assert sim.handle(READ_BASIC) == bytes.fromhex(vector("jbd", "syssi_sp04s034_basic")["response_hex"])
    assert sim.handle(READ_CELLS) == bytes.fromhex(vector("jbd", "syssi_sp04s034_cells")["response_hex"])
    assert sim.handle(READ_HW) == bytes.fromhex(vector("jbd", "syssi_sp04s034_hwver")["response_hex"])


def test_every_captured_basic_and_cell_frame_is_reproduced() -> None:
    """For each valid 0x03/0x04 capture: a simulator in that state answers with identical bytes."""
    reproduced = 0
    for entry in load_vectors("jbd"):
        valid = entry["checksum_recomputed"].get("response") == "pass"
        if not valid or not entry["response_hex"].startswith("dd"):
            continue
        raw = bytes.fromhex(entry["response_hex"])
        frame = codec.parse_frame(raw)
        if frame.command == t.REG_BASIC:
            basic = codec.decode_basic(frame.payload)
            state = JbdState.from_frames(basic, (3.3,) * basic.cell_count)
            assert JbdSimulator(state).handle(READ_BASIC) == raw, entry["id"]
        elif frame.command == t.REG_CELLS:
            state = JbdState(cell_voltages=list(codec.decode_cells(frame.payload)))
            assert JbdSimulator(state).handle(READ_CELLS) == raw, entry["id"]
        else:
            continue
        reproduced += 1
    assert reproduced == 19


def test_mos_write_with_and_without_factory_mode() -> None:
    """The sequence of the real app (E1 then exit) and the dbus-serialbattery one (enter, E1, exit) both work."""
    for with_factory in (False, True):
        sim = JbdSimulator()
        if with_factory:
            assert sim.handle(codec.build_write(t.REG_FACTORY_ENTER, t.FACTORY_ENTER_KEY)) == bytes.fromhex(
                "dd000000000077"
            )
            assert sim.factory_mode
        ack = sim.handle(bytes.fromhex("dd5ae1020002ff1b77"))  # the vendor document's "discharge off"
        assert ack == bytes.fromhex("dde10000000077")
        assert sim.handle(bytes.fromhex("dd5a01020000fffd77")) == bytes.fromhex("dd010000000077")
        assert not sim.factory_mode
        basic = codec.decode_basic(codec.parse_frame(sim.handle(READ_BASIC) or b"").payload)
        assert basic.fet == t.FET_CHARGE  # like the real capture btsnoop_basic_mos_lock_chg_only
        assert basic.protection == 1 << t.SOFTWARE_LOCK_BIT


def test_unknown_register_answers_error_status() -> None:
    """A register the simulated board does not have gets status 0x80, as real boards answer."""
    frame = codec.parse_frame(JbdSimulator().handle(codec.build_read(0x77)) or b"")
    assert frame.status == t.STATUS_ERROR


def test_live_profile_moves_current_and_soc() -> None:
    """``advance`` changes the state over time in live mode and leaves it alone when static."""
    live, static = JbdSimulator(live=True, seed=3), JbdSimulator(seed=3)
    before = live.state.remaining_capacity
    currents = set()
    for _ in range(30):
        live.advance(5.0)
        static.advance(5.0)
        currents.add(live.state.current)
    assert live.state.remaining_capacity != before
    assert currents != {0.0}  # charged, then full: tapered to 0 A
    assert static.state == JbdState()


# --- property: codec(simulator(random state)) == state --------------------------------------------------
cells = st.lists(st.integers(2000, 4500).map(lambda mv: mv / 1000), min_size=1, max_size=32)
states = st.builds(
    JbdState,
    cell_voltages=cells,
    voltage=st.integers(0, 65535).map(lambda v: v / 100),
    current=st.integers(-32768, 32767).map(lambda v: v / 100),
    remaining_capacity=st.integers(0, 65535).map(lambda v: v / 100),
    design_capacity=st.integers(0, 65535).map(lambda v: v / 100),
    cycles=st.integers(0, 65535),
    production_date=st.dates(dt.date(2000, 1, 1), dt.date(2127, 12, 31)),
    balancing=st.sets(st.integers(1, 32)),
    alarms=st.sets(st.sampled_from(sorted(t.PROTECTION_BITS.values()))),
    software_version=st.integers(0, 255),
    soc=st.integers(0, 100),
    charge_mosfet=st.booleans(),
    discharge_mosfet=st.booleans(),
    temperatures=st.lists(st.integers(-400, 1000).map(lambda d: d / 10), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(states)
def test_codec_decodes_simulator_state(state: JbdState) -> None:
    """Whatever the state, the snapshot decoded from the simulator's frames is that state."""
    sim = JbdSimulator(state)
    basic = codec.decode_basic(codec.parse_frame(sim.handle(READ_BASIC) or b"").payload)
    cells_read = codec.decode_cells(codec.parse_frame(sim.handle(READ_CELLS) or b"").payload)
    values = {"voltage": state.voltage, "current": state.current, "soc": state.soc, "cycles": state.cycles,
              "remaining_capacity": state.remaining_capacity, "design_capacity": state.design_capacity,
              "cell_voltages": state.cell_voltages, "temperatures": state.temperatures}  # fmt: skip
    snap = decoded_unless_refused(lambda: codec.to_snapshot(basic, cells_read), **values)
    if snap is None:
        return
    assert snap.cell_voltages == tuple(state.cell_voltages)
    assert snap.voltage == state.voltage
    assert snap.current == state.current
    assert snap.remaining_capacity == state.remaining_capacity
    assert snap.design_capacity == state.design_capacity
    assert snap.cycles == state.cycles
    assert snap.soc == state.soc
    assert basic.manufacture_date == state.production_date
    assert snap.balancing == frozenset(state.balancing)
    assert snap.alarms == frozenset(state.alarms)
    assert snap.charge_mosfet is state.charge_mosfet
    assert snap.discharge_mosfet is state.discharge_mosfet
    assert [x.celsius for x in snap.temperatures] == [c for c in state.temperatures if sensor_plausible(c)]
    assert basic.software_version == state.software_version


@settings(max_examples=100, deadline=None)
@given(
    current=st.integers(-32768, 32767).map(lambda v: v / 10),
    remaining=st.integers(0, 65535).map(lambda v: v / 10),
    design=st.integers(0, 65535).map(lambda v: v / 10),
)
def test_100ma_unit_variant_round_trips(current: float, remaining: float, design: float) -> None:
    """Firmware that reports 100 mA / 100 mAh units (flag bit 7 after the NTC words, PROTOCOLS.md §3.2)."""
    state = JbdState(current=current, remaining_capacity=remaining, design_capacity=design, coarse_units=True)
    basic = codec.decode_basic(codec.parse_frame(JbdSimulator(state).handle(READ_BASIC) or b"").payload)
    assert basic.coarse_units
    assert (basic.current, basic.remaining_capacity, basic.design_capacity) == (current, remaining, design)


def test_100ma_flag_scales_a_known_frame() -> None:
    """The same raw words read ten times larger when the flag is set (constructed from a real frame's payload)."""
    entry = vector("jbd", "syssi_sp04s034_basic")
    payload = codec.parse_frame(bytes.fromhex(entry["response_hex"])).payload
    flagged = codec.decode_basic(payload + bytes((t.UNIT_FLAG_BIT,)))
    plain = codec.decode_basic(payload)
    assert plain.remaining_capacity == 4.98 and flagged.remaining_capacity == pytest.approx(49.8)
    assert flagged.design_capacity == pytest.approx(50.0)
    assert flagged.voltage == plain.voltage  # the voltage unit does not change


def test_reserved_protection_bits_are_kept_in_raw() -> None:
    """Bits 13-15 are reserved: not mapped to an alarm, kept by name (aiobmsble's synthetic bit-15 frame)."""
    entry = vector("jbd", "aiobmsble_problem_bit15")
    basic = codec.decode_basic(codec.parse_frame(bytes.fromhex(entry["response_hex"])).payload)
    snap = codec.to_snapshot(basic, (3.3,) * basic.cell_count)
    assert snap.alarms == frozenset()
    assert snap.raw["protection_bit15"] == 1


def test_cell_count_mismatch_is_an_error_not_a_partial_snapshot() -> None:
    """0x03 says 4 cells but 0x04 carries 3: FrameError, no snapshot."""
    from vendor_plugins.errors import FrameError

    sim = JbdSimulator(JbdState(alarms={Alarm.CELL_OVERVOLTAGE}))
    basic = codec.decode_basic(codec.parse_frame(sim.handle(READ_BASIC) or b"").payload)
    with pytest.raises(FrameError):
        codec.to_snapshot(basic, (3.3, 3.3, 3.3))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF))
def test_every_alarm_a_snapshot_can_carry_is_declared(protection: int) -> None:
    """Home Assistant creates one binary sensor per declared alarm: a decoded alarm outside the set would be lost."""
    from vendor_plugins.jbd.plugin import PLUGIN

    alarms, _ = codec.alarms_of(protection)
    assert alarms <= PLUGIN.reported_alarms


def test_live_profile_raises_an_occasional_alarm_and_clears_it() -> None:
    """The demo's packs show an alarm now and then: 30 s of charge over-temperature every 5 simulated minutes."""
    from vendor_plugins.jbd.simulator import ALARM_LENGTH, ALARM_PERIOD

    sim = JbdSimulator(live=True, seed=1)
    seen: list[bool] = []
    for _ in range(int(2 * ALARM_PERIOD / 5)):
        sim.advance(5.0)
        hot = Alarm.CHARGE_OVERTEMP in sim.state.alarms
        seen.append(hot)
        if hot:
            assert min(sim.state.temperatures) > 40.0
            assert sim.state.current <= 0.0
    assert sum(seen) == pytest.approx(2 * ALARM_LENGTH / 5, abs=1)
    assert not seen[-1] or not seen[0]
