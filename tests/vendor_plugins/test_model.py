"""The common model: derived values computed once, unknown values stay None, the JSON shape is complete."""

from __future__ import annotations

import dataclasses

import pytest

from vendor_plugins.model import Alarm, BmsSnapshot, Temperature, TemperatureKind


def test_unknown_values_are_none_not_zero() -> None:
    """A snapshot with nothing reported derives nothing."""
    snap = BmsSnapshot()
    assert snap.power is None and snap.stored_energy is None and snap.soc is None
    assert snap.cell_min is None and snap.cell_delta is None and snap.charging is None
    assert snap.balancing is None


def test_derived_power_energy_and_soc() -> None:
    """Power = V x I (+ = charging), stored energy = remaining Ah x V, SoC from remaining/full capacity."""
    snap = BmsSnapshot(voltage=52.0, current=-10.0, remaining_capacity=50.0, full_capacity=100.0)
    assert snap.power == -520.0
    assert snap.discharging is True and snap.charging is False
    assert snap.stored_energy == 2600.0
    assert snap.soc == 50.0


def test_reported_values_win_over_derived() -> None:
    """A device-reported power or SoC is kept as reported."""
    snap = BmsSnapshot(voltage=52.0, current=10.0, power=500.0, soc=80.0, remaining_capacity=50.0, full_capacity=100.0)
    assert snap.power == 500.0 and snap.soc == 80.0


def test_cell_statistics() -> None:
    """Min, max, average and delta of the cells."""
    snap = BmsSnapshot(cell_voltages=(3.30, 3.35, 3.32))
    assert (snap.cell_min, snap.cell_max, snap.cell_delta) == (3.30, 3.35, pytest.approx(0.05))
    assert snap.cell_average == pytest.approx(3.3233, abs=1e-4)


def test_to_dict_has_every_field_and_round_trips() -> None:
    """The --json shape carries every field (null when unknown) and alarm names in lower case."""
    snap = BmsSnapshot(
        voltage=6.65,
        current=1.5,
        cell_voltages=(3.32, 3.33),
        temperatures=(Temperature("cell_1", TemperatureKind.CELL, 21.5),),
        charge_mosfet=True,
        discharge_mosfet=False,
        balancing=frozenset({2}),
        alarms=frozenset({Alarm.CELL_OVERVOLTAGE, Alarm.SOFTWARE_LOCK}),
        raw={"protection_status": 4097},
    )
    data = snap.to_dict()
    assert {f.name for f in dataclasses.fields(BmsSnapshot)} <= set(data)
    assert data["soh"] is None and data["warnings"] == []
    assert data["alarms"] == ["cell_overvoltage", "software_lock"]
    assert data["temperatures"] == [{"name": "cell_1", "kind": "cell", "celsius": 21.5}]
    assert data["balancing"] == [2]
    assert BmsSnapshot.from_dict(data) == snap


def test_impossible_state_of_charge_is_refused() -> None:
    """A SoC above 100 % only comes from a corrupt frame (DALY A5's 8-bit sum lets 1 in 256 through): no snapshot."""
    from vendor_plugins.errors import FrameError, ImplausibleValueError

    with pytest.raises(ImplausibleValueError):
        BmsSnapshot(voltage=53.0, soc=652.8)
    assert issubclass(ImplausibleValueError, FrameError)


def test_derived_soc_is_capped_when_remaining_exceeds_full() -> None:
    """Capacity estimates drift: remaining 103 Ah of a learned 100 Ah reads as 100 %, not an error."""
    assert BmsSnapshot(remaining_capacity=103.0, full_capacity=100.0).soc == 100.0


# --- plausibility (issue 21 item 5: impossible values went straight through) ------------------------------------
def _issue_reading(**override: object) -> dict[str, object]:
    """A plausible 16-cell 100 Ah reading; each test puts one of the issue's impossible values into it."""
    values: dict[str, object] = {
        "voltage": 53.0,
        "current": -10.0,
        "cell_voltages": (3.3125,) * 16,
        "temperatures": (Temperature("cell_1", TemperatureKind.CELL, 21.5),),
        "remaining_capacity": 80.0,
        "full_capacity": 100.0,
        "design_capacity": 100.0,
    }
    return values | override


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"cell_voltages": (3.3,) * 15 + (65.535,)}, "cell 16 at 65.535 V"),
        ({"power": -214_745.0}, "power -214745.0 W"),
        ({"remaining_capacity": 655.35, "full_capacity": None, "design_capacity": 0.01}, "remaining 655.35 Ah"),
        ({"current": -4052.0}, "current -4052.0 A"),
        ({"voltage": 655.35}, "pack voltage 655.35 V"),
        ({"soh": 120.0}, "soh 120.0"),
        ({"cycles": -1}, "cycles -1"),
        ({"voltage": float("nan")}, "voltage nan"),
    ],
)
def test_impossible_values_are_refused(override: dict[str, object], message: str) -> None:
    """The issue's reading (cell 65.535 V, -273.1 / 6280.4 °C, -214,745 W, 655.35 Ah of 0.01 Ah): no snapshot."""
    from vendor_plugins.errors import BmsError, ImplausibleValueError

    BmsSnapshot(**_issue_reading())  # type: ignore[arg-type]  # the base reading itself is plausible
    with pytest.raises(ImplausibleValueError, match=message) as caught:
        BmsSnapshot(**_issue_reading(**override))  # type: ignore[arg-type]
    assert isinstance(caught.value, BmsError)  # pollers and the reader treat it as a failed read


@pytest.mark.parametrize("celsius", [-273.1, 6280.4, float("nan")])
def test_an_impossible_temperature_is_a_broken_sensor_left_out(celsius: float) -> None:
    """The issue's -273.1 / 6280.4 °C: that sensor's reading never surfaces, the pack stays readable (named in raw)."""
    snapshot = BmsSnapshot(
        **_issue_reading(  # type: ignore[arg-type]
            temperatures=(
                Temperature("cell_1", TemperatureKind.CELL, 21.5),
                Temperature("mos", TemperatureKind.MOSFET, celsius),
            )
        )
    )
    assert [t.name for t in snapshot.temperatures] == ["cell_1"]
    assert snapshot.raw["temperature_mos_implausible"] == f"{celsius:g}"


def test_the_issue_reading_as_a_whole_is_refused() -> None:
    """Everything the hostile bridge sent at once (the power came from 65.535 V-cells x -3276.8 A)."""
    from vendor_plugins.errors import ImplausibleValueError

    with pytest.raises(ImplausibleValueError):
        BmsSnapshot(
            voltage=65.53,
            current=-3276.8,
            cell_voltages=(65.535,) * 16,
            temperatures=(
                Temperature("t1", TemperatureKind.CELL, -273.1),
                Temperature("t2", TemperatureKind.CELL, 6280.4),
            ),
            remaining_capacity=655.35,
            design_capacity=0.01,
        )


@pytest.mark.parametrize(
    "values",
    [
        {"voltage": 0.0, "cell_voltages": (3.375,) * 16},  # a pack measuring its output side with MOSFETs open
        {"voltage": 14.0, "cell_voltages": (4.142,) * 4},  # a real capture: below the cells' sum
        {"current": 250.0, "full_capacity": 100.0},  # 2.5 C
        {"remaining_capacity": 103.0, "full_capacity": 100.0},  # a drifted estimate
        {"voltage": 52.0, "current": 10.0, "power": 500.0},  # reported power a little off V x I
        {"temperatures": (Temperature("t", TemperatureKind.AMBIENT, -40.0),)},  # cold storage / an unused sensor
        {"cell_voltages": (0.0, 3.3)},  # a dead cell or an open sense wire
    ],
)
def test_odd_but_real_values_pass(values: dict[str, object]) -> None:
    """The ranges refuse what cannot be, never an odd but real pack."""
    BmsSnapshot(**values)  # type: ignore[arg-type]


def test_the_ranges_are_one_table() -> None:
    """Every numeric snapshot field with a physical range has its row (documented in docs/model.md)."""
    from vendor_plugins.plausibility import RANGES

    numeric = {f.name for f in dataclasses.fields(BmsSnapshot) if f.type in ("float | None", "int | None")}
    assert numeric <= set(RANGES)
    assert {"cell_voltage", "temperature"} <= set(RANGES)
