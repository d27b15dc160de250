"""Turn a real DALY capture into a simulator state that answers with exactly the captured bytes.

Every value the codecs decode becomes a :class:`DalyState` field; what they do not decode (stale reserved bytes,
unused cell/temperature slots, undocumented registers) becomes the state's replay data (``a5_reserved``,
``d2_extra``/``p81_extra``). Tests check that the replay data never covers a decoded register — so a reproduced
capture proves the simulator generated every decoded value itself.
"""

from __future__ import annotations

from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import codec_faults as faults
from vendor_plugins.daly import table as t
from vendor_plugins.daly.simulator import ModbusSimulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.framing import Frame


def _t(raw: int) -> float:
    return float(raw - t.TEMP_OFFSET)


def a5_state(frames: list[Frame]) -> DalyState:
    """A state whose A5 answer to ``frames[0].command`` is ``frames`` (one answer, possibly multi-frame)."""
    command = frames[0].command
    state = DalyState(a5_reserved={})
    if command in t.A5_LAYOUTS:
        layout = t.A5_LAYOUTS[command]
        v = a5.decode_fields(command, frames[0].payload)
        state.a5_reserved[command] = a5.reserved_bytes(layout, frames[0].payload)
        if command == t.CMD_PACK:
            state.voltage, state.gather_voltage = v["voltage"] / 10, v["gather_voltage"] / 10
            state.current, state.soc = a5.current_from_raw(v["current"]), v["soc"] / 10
        elif command == t.CMD_CELL_RANGE:
            state.cell_max, state.cell_max_no = v["cell_max"] / 1000, v["cell_max_no"]
            state.cell_min, state.cell_min_no = v["cell_min"] / 1000, v["cell_min_no"]
        elif command == t.CMD_TEMP_RANGE:
            state.temp_max, state.temp_max_no = _t(v["temp_max"]), v["temp_max_no"]
            state.temp_min, state.temp_min_no = _t(v["temp_min"]), v["temp_min_no"]
        elif command == t.CMD_MOSFET:
            state.charge_state, state.life = v["charge_state"], v["life"]
            state.charge_mosfet, state.discharge_mosfet = bool(v["charge_mosfet"]), bool(v["discharge_mosfet"])
            state.remaining_capacity = v["remaining_capacity"] / 1000
        else:
            state.cell_voltages = [3.3] * v["cell_count"]
            state.temperatures = [25.0] * v["temp_count"]
            state.charger, state.load, state.dio, state.cycles = v["charger"], v["load"], v["dio"], v["cycles"]
    elif command == t.CMD_CELLS:
        cells = a5.decode_cells(frames, 3 * len(frames))
        last = max((i for i, mv in enumerate(cells) if mv), default=-1)
        state.cell_voltages = [mv / 1000 for mv in cells[: last + 1]]
        state.cell_frames = len(frames)
        state.a5_reserved[command] = a5.reserved_bytes(t.A5_CELL_FRAME, frames[0].payload)
    elif command == t.CMD_TEMPS:
        temps = a5.decode_temps(frames, 7 * len(frames))
        last = max((i for i, raw in enumerate(temps) if raw), default=-1)
        state.temperatures = [_t(raw) for raw in temps[: last + 1]]
        state.temp_frames = len(frames)
    return state


def status_state(block: d2.StatusBlock) -> DalyState:
    """A state holding every value a D2/P81 status block decodes to."""
    v = block.values
    no_sensor = t.NO_SENSOR
    state = DalyState(
        cell_voltages=[mv / 1000 for mv in block.cells_mv],
        temperatures=[_t(raw) for raw in block.temps_raw],
        voltage=v["voltage"] / 10,
        current=d2.current_from_raw(v["current"]),
        soc=v["soc"] / 10,
        remaining_capacity=v["remaining_capacity"] / 10,
        cycles=v["cycles"],
        charge_mosfet=bool(v["charge_mosfet"]),
        discharge_mosfet=bool(v["discharge_mosfet"]),
        balancer=v["balancer"],
        charge_state=v["charge_state"],
        power=v["power"],
        cell_max=v["cell_max"] / 1000,
        cell_average=v["cell_average"] / 1000,
        temp_max=_t(v["temp_max"]),
        temp_min=_t(v["temp_min"]),
        mosfet_temperature=None if v.get("mosfet_temp", 0) in no_sensor else _t(v["mosfet_temp"]),
        board_temperature=None if v.get("board_temp", 0) in no_sensor else _t(v["board_temp"]),
        balance_current=(v.get("balance_current", t.CURRENT_OFFSET) - t.CURRENT_OFFSET) / 1000,
    )
    masks = [v.get(f"balance_mask_{i}", 0) for i in (1, 2, 3)]
    state.balancing = {16 * i + bit + 1 for i, mask in enumerate(masks) for bit in range(16) if mask >> bit & 1}
    if block.family == "d2":
        state.cell_min, state.cell_delta = v["cell_min"] / 1000, v["cell_delta"] / 1000
        state.faults = set(faults.decode(faults.legacy_from_registers(v[n] for n in t.D2_FAULT_FIELDS)).names)
        state.fault_status_4 = v[t.D2_FAULT_RESERVED]
    else:
        state.life, state.cell_max_no, state.energy = v["heartbeat"], v["cell_max_no"], v["energy"]
        state.temp_max_no, state.temp_min_no = v["temp_max_no"], v["temp_min_no"]
        state.precharge_mosfet, state.heating_mosfet = bool(v["precharge_mosfet"]), bool(v["heating_mosfet"])
    return state


def replay_registers(state: DalyState, family: str, start: int, payload: bytes) -> dict[int, int]:
    """Registers of a captured read that the state does not generate: stored in the state's replay data."""
    generated = ModbusSimulator(state, family=family).image()
    extra: dict[int, int] = {}
    for i in range(len(payload) // 2):
        register = start + i
        captured = int.from_bytes(payload[2 * i : 2 * i + 2], "big")
        if int.from_bytes(generated[2 * register : 2 * register + 2], "big") != captured:
            extra[register] = captured
    (state.p81_extra if family == "p81" else state.d2_extra).update(extra)
    return extra
