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
        voltage=13.3,
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
