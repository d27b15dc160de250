"""Per-chemistry plausibility: a chemistry never refuses a reading, the common range still refuses corruption.

A pack's chemistry (``DeviceInfo.chemistry``: the device's battery type register where its protocol has one — DALY
D2 0x89 — else the user's ``SessionOptions.chemistry``, else unknown) names the cells outside the chemistry's
operating window in ``raw``; the refusal range of a cell is the same for every chemistry (docs/model.md,
"Chemistry"). A real overcharge — an LFP cell at 3.9 V with the BMS's over-voltage alarm, or further at 4.3 / 4.9 V —
reaches the model with its alarm; a corrupt 6.5 V cell is refused whatever the chemistry.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vectors import load_vectors
from tests.vendor_plugins.sim_links import served
from vendor_plugins import plausibility
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import table as t
from vendor_plugins.daly import table_settings as ts
from vendor_plugins.daly.plugin import PLUGIN as DALY
from vendor_plugins.daly.simulator import ModbusSimulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import FrameError, ImplausibleValueError
from vendor_plugins.model import Alarm, BmsSnapshot, Chemistry, DeviceInfo
from vendor_plugins.plugin import SessionOptions, SimulatorOptions
from vendor_plugins.reader import PackReader
from vendor_plugins.registry import default_registry

CHEMISTRIES: list[Chemistry | None] = [None, *Chemistry]
CEILING = plausibility.RANGES["cell_voltage"].high


def _pack(cells: list[float], **kwargs: object) -> BmsSnapshot:
    return BmsSnapshot(voltage=round(sum(cells), 3), current=0.0, cell_voltages=tuple(cells), **kwargs)  # type: ignore[arg-type]


# --- the tables ---------------------------------------------------------------------------------------------------
def test_every_chemistry_has_a_window_inside_the_common_range() -> None:
    assert set(plausibility.CELL_WINDOWS) == {str(c) for c in Chemistry}
    common = plausibility.RANGES["cell_voltage"]
    for name, window in plausibility.CELL_WINDOWS.items():
        assert common.low < window.low < window.high < common.high, name
    # Datasheet cut-offs (docs/model.md): LFP 2.5-3.65 V, NMC 2.5-4.2 V, LTO 1.5-2.8 V.
    assert plausibility.CELL_WINDOWS["lfp"].high == 3.65
    assert plausibility.CELL_WINDOWS["nmc"].high == 4.2
    assert plausibility.CELL_WINDOWS["lto"].high == 2.8


@pytest.mark.parametrize("chemistry", CHEMISTRIES, ids=str)
def test_the_refusal_range_is_the_same_for_every_chemistry(chemistry: Chemistry | None) -> None:
    """A per-chemistry ceiling would turn a real overcharge (LFP float-charged at 4.05-5.0 V) into a failed read."""
    assert plausibility.cell_range(chemistry) == plausibility.RANGES["cell_voltage"]


# --- property tests per chemistry ---------------------------------------------------------------------------------
_REAL_CELL = st.floats(0.0, CEILING, allow_nan=False).map(lambda v: round(v, 3))


@pytest.mark.parametrize("chemistry", CHEMISTRIES, ids=str)
@settings(max_examples=150, deadline=None)
@given(cells=st.lists(_REAL_CELL, min_size=1, max_size=32))
def test_any_cell_inside_the_common_range_is_kept_and_named_outside_its_window(
    chemistry: Chemistry | None, cells: list[float]
) -> None:
    snapshot = _pack(cells)  # never refused, whatever the chemistry
    assert snapshot.cell_voltages == tuple(cells)
    above, below = plausibility.cells_outside_window(cells, chemistry)
    if chemistry is None:
        assert (above, below) == ((), ())
        assert plausibility.chemistry_notes(cells, chemistry) == {}
        return
    window = plausibility.CELL_WINDOWS[chemistry]
    assert above == tuple(n for n, v in enumerate(cells, 1) if v > window.high)
    assert below == tuple(n for n, v in enumerate(cells, 1) if v < window.low)
    notes = plausibility.chemistry_notes(cells, chemistry)
    assert notes.get("cells_above_chemistry_window", "") == ",".join(map(str, above))
    assert notes.get("cells_below_chemistry_window", "") == ",".join(map(str, below))
    assert ("chemistry_window" in notes) == bool(above or below)


@pytest.mark.parametrize("chemistry", CHEMISTRIES, ids=str)
@settings(max_examples=100, deadline=None)
@given(
    cells=st.lists(_REAL_CELL, min_size=1, max_size=16),
    bad=st.one_of(st.floats(CEILING, 1e6, exclude_min=True), st.floats(-1e6, 0.0, exclude_max=True)),
    at=st.integers(0, 15),
)
def test_a_cell_outside_the_common_range_is_refused_for_every_chemistry(
    chemistry: Chemistry | None, cells: list[float], bad: float, at: int
) -> None:
    cells[at % len(cells)] = bad
    with pytest.raises(ImplausibleValueError, match="cell"):
        _pack(cells)


# --- through the one reader: a real overcharge is shown, a corrupt cell is not -------------------------------------
def _d2_state(cells: list[float], faults: set[str] | None = None) -> DalyState:
    return DalyState(cell_voltages=cells, temperatures=[20.0], faults=faults or set())


async def _read(sim: ModbusSimulator, options: SessionOptions) -> tuple[DeviceInfo | None, BmsSnapshot | None, str]:
    async with served(sim, "tcp") as link:
        reader = PackReader(DALY.open_session(link, options), [None])
        (result,) = await reader.read_round()
    return result.device, result.snapshot, result.error or ""


@pytest.mark.parametrize("volts", [3.9, 4.3, 4.9, CEILING])
async def test_an_overcharged_lfp_cell_reaches_the_model_with_its_alarm(volts: float) -> None:
    """A DALY D2 pack whose battery type says LFP, one cell overcharged, the BMS's level-2 over-voltage set."""
    cells = [3.4] * 15 + [volts]
    sim = ModbusSimulator(_d2_state(cells, {"cell_overvoltage_l2"}), family="d2")
    device, snapshot, error = await _read(sim, SessionOptions(family="d2"))
    assert error == "" and snapshot is not None and device is not None
    assert device.chemistry is Chemistry.LFP
    assert snapshot.cell_voltages[15] == volts and snapshot.cell_max == volts
    assert Alarm.CELL_OVERVOLTAGE in snapshot.alarms
    assert snapshot.raw["cells_above_chemistry_window"] == "16"
    assert snapshot.raw["chemistry_window"] == "lfp 2.5-3.65 V"


@pytest.mark.parametrize("chemistry", CHEMISTRIES, ids=str)
async def test_a_corrupt_cell_is_refused_whatever_the_chemistry(chemistry: Chemistry | None) -> None:
    sim = ModbusSimulator(_d2_state([3.3] * 15 + [6.5]), family="d2")
    if chemistry is not None:  # the battery type register says it
        sim.settings.registers[t.D2_REG_BATTERY_TYPE] = {v: k for k, v in t.D2_BATTERY_TYPES.items()}[chemistry]
    _, snapshot, error = await _read(sim, SessionOptions(family="d2"))
    assert snapshot is None
    assert "cell 16 at 6.5 V" in error and "impossible" in error


async def test_a_normal_pack_has_no_chemistry_notes() -> None:
    sim = ModbusSimulator(_d2_state([3.3] * 16), family="d2")
    _, snapshot, error = await _read(sim, SessionOptions(family="d2"))
    assert error == "" and snapshot is not None
    assert not {k for k in snapshot.raw if "chemistry" in k}


# --- where the chemistry comes from ------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "chemistry"), [(0, "lfp"), (1, "nmc"), (2, "lto"), (3, None), (0xFFFF, None)])
async def test_the_d2_battery_type_register_gives_the_chemistry(raw: int, chemistry: str | None) -> None:
    sim = ModbusSimulator(_d2_state([3.3] * 8), family="d2")
    sim.settings.registers[t.D2_REG_BATTERY_TYPE] = raw
    async with served(sim, "tcp") as link:
        info = await DALY.open_session(link, SessionOptions(family="d2")).device_info()
    assert info.chemistry == chemistry
    assert info.to_dict()["chemistry"] == chemistry


def test_the_real_settings_frame_decodes_as_lfp() -> None:
    """esphome-daly-bms' settings frame (SETTINGS_FRAME_1: 105 Ah, 3200 mV reference cell, 4 cells) has type 0."""
    (entry,) = [e for e in load_vectors("daly_ble_modbus") if e["id"] == "esphome_settings"]
    frame = bytes.fromhex(entry["response_hex"])
    block = frame[3 : 3 + frame[2]]
    assert len(block) == 2 * ts.SETTINGS_REGS
    assert d2.decode_chemistry(block, ts.SETTINGS_START) is Chemistry.LFP
    with pytest.raises(FrameError):
        d2.decode_chemistry(block[:10], ts.SETTINGS_START)


async def test_p81_has_no_battery_type() -> None:
    async with served(ModbusSimulator(_d2_state([3.3] * 8), family="p81"), "tcp") as link:
        info = await DALY.open_session(link, SessionOptions(family="p81")).device_info()
    assert info.chemistry is None


async def test_the_users_option_fills_in_what_the_device_does_not_say() -> None:
    """A pack with no chemistry in its protocol takes the user's option; a device that says one keeps its own."""
    jbd = default_registry().get("jbd")
    sim = jbd.create_simulator(SimulatorOptions(profile="static", seed=1))
    async with served(sim, "tcp") as link:
        reader = PackReader(jbd.open_session(link, SessionOptions(chemistry=Chemistry.NMC)), [None])
        (result,) = await reader.read_round()
    assert result.device is not None and result.device.chemistry is Chemistry.NMC
    device, _, _ = await _read(
        ModbusSimulator(_d2_state([3.3] * 8), family="d2"), SessionOptions(family="d2", chemistry=Chemistry.NMC)
    )
    assert device is not None and device.chemistry is Chemistry.LFP  # the D2 unit's own register
