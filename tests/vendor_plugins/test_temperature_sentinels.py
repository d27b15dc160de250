"""No decoded temperature outside -40..+120 °C reaches the model: it is absent or the snapshot is refused.

Every vendor codec that decodes temperatures is driven with arbitrary raw temperature registers (whatever a broken
sensor, a sentinel or a corrupt frame can put there) through its real decode path into a ``BmsSnapshot``. The
result is either an :class:`ImplausibleValueError` or a snapshot whose every temperature, and every temperature
statistic the codec keeps in ``raw``, lies in -40..120 °C. The sentinels themselves: docs/model.md ("No sensor").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import table as daly_table
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import ImplausibleValueError
from vendor_plugins.jbd import codec as jbd
from vendor_plugins.jbd import table as jbd_table
from vendor_plugins.jbd.simulator import JbdState, daren_state
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.pace import codec_ascii_layout as pace_ascii
from vendor_plugins.pace import codec_modbus as pace_modbus
from vendor_plugins.pace import table as pace_table
from vendor_plugins.pace.simulator_state import initial_state as pace_state
from vendor_plugins.plausibility import RANGES

LOW, HIGH = -40.0, 120.0
u16 = st.integers(0, 0xFFFF)


def test_the_model_range_is_the_one_checked_here() -> None:
    assert (RANGES["temperature"].low, RANGES["temperature"].high) == (LOW, HIGH)


def _model_temperatures_in_range(build: Callable[[], BmsSnapshot]) -> None:
    try:
        snapshot = build()
    except ImplausibleValueError:
        return
    for reading in snapshot.temperatures:
        assert LOW <= reading.celsius <= HIGH, reading
    for key, value in snapshot.raw.items():
        if key.endswith("_c") and isinstance(value, int | float):
            assert LOW <= value <= HIGH, (key, value)


@given(ntcs=st.lists(u16, min_size=1, max_size=8))
def test_jbd_ntc_words(ntcs: list[int]) -> None:
    state = JbdState(temperatures=[20.0] * len(ntcs))
    payload = bytearray(jbd.encode_basic(state.basic_info()))
    for n, raw in enumerate(ntcs):
        at = jbd_table.BASIC_FIXED_SIZE + 2 * n
        payload[at : at + 2] = raw.to_bytes(2, "big")
    cells = tuple(state.cell_voltages)
    _model_temperatures_in_range(lambda: jbd.to_snapshot(jbd.decode_basic(bytes(payload)), cells))


@given(ntcs=st.tuples(u16, u16, u16, u16), mosfet=u16, ambient=u16)
def test_jbd_daren_extension_temperatures(ntcs: tuple[int, ...], mosfet: int, ambient: int) -> None:
    state = daren_state()
    payload = bytearray(jbd.encode_basic(state.basic_info()))
    words = [*ntcs, mosfet, ambient]  # the extension starts right after the 4 NTC words with MOSFET, ambient
    for n, raw in enumerate(words):
        at = jbd_table.BASIC_FIXED_SIZE + 2 * n
        payload[at : at + 2] = raw.to_bytes(2, "big")
    cells = tuple(state.cell_voltages)
    _model_temperatures_in_range(lambda: jbd.to_snapshot(jbd.decode_basic(bytes(payload)), cells))


@given(
    family=st.sampled_from(["d2", "p81"]),
    temps=st.lists(u16, max_size=daly_table.P81_TEMP_SLOTS),
    others=st.fixed_dictionaries({name: u16 for name in ("mosfet_temp", "board_temp", "temp_max", "temp_min")}),
)
def test_daly_modbus_temperature_registers(family: str, temps: list[int], others: dict[str, int]) -> None:
    block = DalyState().status_block(family)
    values = dict(block.values)
    values.update({name: raw for name, raw in others.items() if name in values})
    block = dataclasses.replace(block, temps_raw=tuple(temps), values=values)
    image = bytes(d2.encode_status(block))
    _model_temperatures_in_range(lambda: d2.to_snapshot(d2.decode_status(family, image)))


@given(temps=st.lists(st.integers(0, 0xFF), min_size=1, max_size=daly_table.MAX_TEMPS))
def test_daly_a5_temperature_bytes(temps: list[int]) -> None:
    state = DalyState(temperatures=[20.0] * len(temps))
    reading = a5.A5Reading(
        pack=state.a5_values(daly_table.CMD_PACK),
        mosfet=state.a5_values(daly_table.CMD_MOSFET),
        status=state.a5_values(daly_table.CMD_STATUS),
        cells_mv=tuple(round(v * 1000) for v in state.cell_voltages),
        temps_raw=tuple(temps),
    )
    _model_temperatures_in_range(lambda: a5.to_snapshot(reading))


@given(temps=st.lists(u16, min_size=1, max_size=6))
def test_pace_ascii_temperature_words(temps: list[int]) -> None:
    state = pace_state(1, seed=1)
    block = dataclasses.replace(
        state.analog_block(), temperatures=tuple((raw - pace_table.TEMP_OFFSET) / 10 for raw in temps)
    )
    info = pace_ascii.AnalogInfo(infoflag=0, pack=1, blocks=(block,))
    decoded = pace_ascii.decode_analog(pace_ascii.encode_analog(info))  # the wire bytes hold exactly ``temps``
    _model_temperatures_in_range(lambda: pace_ascii.to_snapshot(decoded.blocks[0], None))


@given(temps=st.lists(st.integers(-0x8000, 0x7FFF), min_size=1, max_size=6))
def test_pace_modbus_temperature_registers(temps: list[int]) -> None:
    regs = dataclasses.replace(pace_state(1, seed=1).modbus_registers(), temperatures=tuple(r / 10 for r in temps))
    decoded = pace_modbus.decode_registers(pace_modbus.encode_registers(regs))
    _model_temperatures_in_range(lambda: pace_modbus.to_snapshot(decoded))
