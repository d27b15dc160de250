"""The energy integrator: trapezoidal rule, sign changes, gaps, restoring, and an analytic charge/discharge profile."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendor_plugins.energy import EnergyIntegrator, EnergyState, trapezoid


def test_constant_power_one_hour_is_exact() -> None:
    meter = EnergyIntegrator(max_gap=60)
    for second in range(0, 3601, 15):
        meter.add(float(second), 1000.0)
    assert meter.charged_kwh == pytest.approx(1.0)
    assert meter.discharged_wh == 0.0
    meter = EnergyIntegrator(max_gap=60)
    for second in range(0, 3601, 15):
        meter.add(float(second), -500.0)
    assert meter.discharged_kwh == pytest.approx(0.5)
    assert meter.charged_wh == 0.0


def test_linear_ramp_is_exact_with_the_trapezoidal_rule() -> None:
    meter = EnergyIntegrator(max_gap=100)
    meter.add(0.0, 0.0)
    meter.add(100.0, 360.0)  # area = 100 * 360 / 2 W·s = 5 Wh
    assert meter.charged_wh == pytest.approx(5.0)


def test_sign_change_is_split_at_the_zero_crossing() -> None:
    # +100 W to -300 W over 40 s: crossing after 10 s -> charged 100*10/2, discharged 300*30/2 (W·s).
    charged, discharged = trapezoid(0.0, 100.0, 40.0, -300.0)
    assert charged == pytest.approx(500 / 3600)
    assert discharged == pytest.approx(4500 / 3600)
    assert trapezoid(0.0, -300.0, 40.0, 100.0) == pytest.approx((500 / 3600, 4500 / 3600))
    assert trapezoid(5.0, 10.0, 5.0, 10.0) == (0.0, 0.0)


def test_long_gap_is_not_bridged() -> None:
    meter = EnergyIntegrator(max_gap=60)
    meter.add(0.0, 1000.0)
    meter.add(30.0, 1000.0)  # 30 s integrated
    meter.add(3630.0, 1000.0)  # an hour later: not bridged
    meter.add(3660.0, 1000.0)  # 30 s integrated again
    assert meter.charged_wh == pytest.approx(1000 * 60 / 3600)
    assert meter.gaps == 1


def test_unavailable_and_unknown_power_end_the_run() -> None:
    meter = EnergyIntegrator(max_gap=600)
    meter.add(0.0, 1000.0)
    meter.gap()  # the pack went unavailable
    meter.add(30.0, 1000.0)
    assert meter.charged_wh == 0.0
    meter.add(60.0, 1000.0)
    assert meter.charged_wh == pytest.approx(1000 * 30 / 3600)  # 30..60
    meter.add(90.0, None)  # power unknown: 60..90 is not integrated
    meter.add(120.0, 1000.0)
    meter.add(150.0, math.nan)
    meter.add(180.0, 1000.0)
    assert meter.charged_wh == pytest.approx(1000 * 30 / 3600)


def test_clock_going_backwards_restarts_the_run() -> None:
    meter = EnergyIntegrator(max_gap=600)
    meter.add(100.0, 1000.0)
    meter.add(50.0, 1000.0)
    meter.add(80.0, 1000.0)
    assert meter.charged_wh == pytest.approx(1000 * 30 / 3600)
    meter.add(80.0, 2000.0)  # same instant: newer power kept, nothing integrated
    meter.add(116.0, 2000.0)
    assert meter.charged_wh == pytest.approx(1000 * 30 / 3600 + 2000 * 36 / 3600)


def test_state_round_trips_through_json_and_continues() -> None:
    meter = EnergyIntegrator(max_gap=60)
    meter.add(0.0, 100.0)
    meter.add(36.0, -100.0)
    saved = json.loads(json.dumps(meter.state().to_dict()))
    restored = EnergyIntegrator(max_gap=60, state=EnergyState.from_dict(saved))
    assert restored.state() == meter.state()
    for m in (meter, restored):
        m.add(72.0, -100.0)
    assert restored.state() == meter.state()
    assert EnergyState.from_dict({"charged_wh": 5}) == EnergyState(5.0, 0.0)
    with pytest.raises(ValueError, match="invalid energy totals"):
        EnergyState.from_dict({"charged_wh": -1})
    with pytest.raises(ValueError, match="max_gap"):
        EnergyIntegrator(max_gap=0)


def test_charge_discharge_profile_matches_the_analytic_integral_within_one_percent() -> None:
    """P(t) = 2000 sin(2πt/T) W sampled every 15 s over 2 periods: each half-wave is 2000·T/π W·s."""
    period = 3600.0
    amplitude = 2000.0
    meter = EnergyIntegrator(max_gap=60)
    t = 0.0
    while t <= 2 * period:
        meter.add(t, amplitude * math.sin(2 * math.pi * t / period))
        t += 15.0
    half_wave_wh = amplitude * period / math.pi / 3600
    assert meter.charged_wh == pytest.approx(2 * half_wave_wh, rel=0.01)
    assert meter.discharged_wh == pytest.approx(2 * half_wave_wh, rel=0.01)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 120.0), st.floats(-5000, 5000)), min_size=2, max_size=50))
def test_totals_never_decrease_and_net_equals_signed_integral(samples: list[tuple[float, float]]) -> None:
    meter = EnergyIntegrator(max_gap=60)
    t = 0.0
    signed = 0.0
    previous: tuple[float, float] | None = None
    charged = discharged = 0.0
    for step, power in samples:
        t += step
        meter.add(t, power)
        assert meter.charged_wh >= charged and meter.discharged_wh >= discharged
        charged, discharged = meter.charged_wh, meter.discharged_wh
        if previous is not None and t - previous[0] <= 60:
            signed += (previous[1] + power) / 2 * (t - previous[0]) / 3600
        previous = (t, power)
    assert meter.charged_wh - meter.discharged_wh == pytest.approx(signed, abs=1e-6)


def test_one_implausible_power_adds_nothing() -> None:
    """Issue 21: one reading of -214,745 W between normal polls added 0.955 kWh; beyond the limit it adds nothing."""
    from vendor_plugins.model import BmsSnapshot
    from vendor_plugins.plausibility import power_limit

    limit = power_limit(BmsSnapshot(voltage=53.0, current=-10.0, full_capacity=100.0))
    assert 5_000 < limit < 214_745
    meter = EnergyIntegrator(max_gap=60.0)
    for seconds, power in ((0.0, -530.0), (32.0, -214_745.0), (64.0, -530.0), (96.0, -530.0)):
        meter.add(seconds, power, limit)
    # Only 64 -> 96 s integrates: the implausible sample ended the run (530 W for 32 s).
    assert meter.discharged_wh == pytest.approx(530 * 32 / 3600)
    assert meter.charged_wh == 0.0 and meter.implausible == 1
    unbounded = EnergyIntegrator(max_gap=60.0)
    for seconds, power in ((0.0, -530.0), (32.0, -214_745.0)):
        unbounded.add(seconds, power)
    assert unbounded.discharged_wh > 900  # what happened before: ~0.955 kWh from one reading
