"""The shared pack physics, alone and inside every vendor's live simulator: a simulated day looks like a real one.

At full charge the current tapers to ≈0 A (CC/CV), the SoC shows 100 % only once it has, the cells agree with the
SoC, and the balancer works only on cells at or above the balance start voltage and at least the balance delta
above the lowest cell, without toggling faster than its rest time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendor_plugins.daly.simulator import A5Simulator
from vendor_plugins.hiximi.simulator import HiximiSimulator
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.physics import LFP_OCV, PackPhysics, ocv

#: A simulated day is 600 s; two of them, polled every 5 s as the demo's fleet is.
DAYS = 2
POLL = 5.0


@dataclass
class Sample:
    t: float
    current: float
    soc: float
    cells: list[float]
    balancing: set[int]


def day_of(physics: PackPhysics, days: int = DAYS, poll: float = POLL) -> list[Sample]:
    out = []
    for _ in range(int(days * physics.day_seconds / poll)):
        physics.advance(poll)
        out.append(
            Sample(physics.clock, physics.current, physics.soc_percent, physics.cell_voltages, set(physics.balancing))
        )
    return out


def assert_balancing_rules(samples: list[Sample], start: float, delta: float, rest: float) -> None:
    """Only high cells balance, and a cell that stopped does not start again within ``rest`` seconds."""
    stopped: dict[int, float] = {}
    before: set[int] = set()
    for s in samples:
        low = min(s.cells)
        for n in s.balancing:
            volts = s.cells[n - 1]
            assert volts >= start, f"t={s.t}: cell {n} balances at {volts} V, below the start {start} V"
            assert volts - low >= delta, f"t={s.t}: cell {n} balances only {volts - low:.3f} V above the lowest"
        for n in before - s.balancing:
            stopped[n] = s.t
        for n in s.balancing - before:
            if n in stopped:
                assert s.t - stopped[n] >= rest, f"cell {n} restarted {s.t - stopped[n]} s after it stopped"
        before = s.balancing


def test_ocv_is_monotonic_and_spans_lfp() -> None:
    volts = [v for _, v in LFP_OCV]
    assert volts == sorted(volts)
    assert ocv(-1) == LFP_OCV[0][1] and ocv(2) == LFP_OCV[-1][1]
    assert 3.28 < ocv(0.5) < 3.32


def test_a_day_tapers_to_zero_at_full_and_shows_100_only_then() -> None:
    physics = PackPhysics(cells=16, capacity=100.0, soc=0.5, seed=7)
    samples = day_of(physics)
    full = [s for s in samples if s.soc == 100]
    assert full, "the pack never got full in two simulated days"
    assert all(s.current <= physics.tail_current for s in full)
    # The charge before the first full sample tapered: high current, then less and less.
    first = samples.index(full[0])
    charging = [s.current for s in samples[:first] if s.current > 0]
    assert max(charging) > 15.0
    assert charging[-1] < max(charging) / 2
    # Charging hard never shows 100 %, and cells at 20 A are not at a full pack's voltage.
    for s in samples:
        if s.current > 5.0:
            assert s.soc <= 99
    # It discharges by night and charges by day.
    assert min(s.current for s in samples) < -10.0


def test_soc_agrees_with_the_cells() -> None:
    """At rest the average cell is at the open-circuit voltage of the SoC (within the cells' spread)."""
    physics = PackPhysics(cells=8, capacity=50.0, soc=0.3, seed=1, noise=0.0)
    for _ in range(200):
        physics.advance(3.0)
        mean = sum(physics.cell_voltages) / len(physics.cell_voltages)
        expected = ocv(physics.soc) + physics.current * physics.resistance
        assert mean == pytest.approx(expected, abs=0.03)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    soc=st.floats(0.05, 0.95),
    cells=st.integers(4, 16),
    poll=st.sampled_from([1.0, 5.0, 15.0]),
)
def test_balancing_rules_hold_for_any_pack(seed: int, soc: float, cells: int, poll: float) -> None:
    physics = PackPhysics(cells=cells, capacity=100.0, soc=soc, seed=seed)
    samples = day_of(physics, days=2, poll=poll)
    assert_balancing_rules(samples, physics.balance_start, physics.balance_delta, physics.balance_rest)


def test_mosfets_off_stop_the_current() -> None:
    physics = PackPhysics(cells=4, capacity=100.0, soc=0.5, seed=2)
    for _ in range(120):
        physics.advance(5.0, charge=False)
        assert physics.current <= 0.0
    for _ in range(120):
        physics.advance(5.0, discharge=False)
        assert physics.current >= 0.0


# --- every vendor's live simulator ------------------------------------------------------------------------------
def _jbd() -> tuple[Simulator, Callable[[], Sample]]:
    sim = JbdSimulator(live=True, seed=5)
    s = sim.state
    return sim, lambda: Sample(0, s.current, s.basic_info().soc, list(s.cell_voltages), set(s.balancing))


def _daly() -> tuple[Simulator, Callable[[], Sample]]:
    sim = A5Simulator(live=True, seed=5)
    s = sim.state
    return sim, lambda: Sample(0, s.current, s.state_of_charge, list(s.cell_voltages), set(s.balancing))


def _pace() -> tuple[Simulator, Callable[[], Sample]]:
    sim = PaceAsciiSimulator(live=True, seed=5, address=2)
    s = sim.state
    return sim, lambda: Sample(0, s.current, s.soc_percent, list(s.cells), set(s.balancing))


def _hiximi() -> tuple[Simulator, Callable[[], Sample]]:
    sim = HiximiSimulator("jbd", live=True, seed=5)
    s = sim.inner.state  # type: ignore[attr-defined]
    return sim, lambda: Sample(0, s.current, s.basic_info().soc, list(s.cell_voltages), set(s.balancing))


@pytest.mark.parametrize("make", [_jbd, _daly, _pace, _hiximi], ids=["jbd", "daly", "pace", "hiximi"])
def test_every_live_simulator_has_a_real_day(make: Callable[[], tuple[Simulator, Callable[[], Sample]]]) -> None:
    """Days of 5-s polls: never 100 % while charging hard; only high cells balance; no fast toggling."""
    sim, read = make()
    samples = []
    defaults = PackPhysics(cells=1, capacity=1.0, soc=0.5)
    for i in range(int(4 * 600 / POLL)):
        sim.advance(POLL)
        sample = read()
        sample.t = (i + 1) * POLL
        samples.append(sample)
    for s in samples:
        if s.current > 5.0:
            assert s.soc < 100, f"t={s.t}: {s.soc} % while charging at {s.current} A"
    assert min(s.current for s in samples) < 0 < max(s.current for s in samples)
    assert_balancing_rules(samples, defaults.balance_start, defaults.balance_delta, defaults.balance_rest)
    full = [s for s in samples if s.soc >= 100]
    assert all(abs(s.current) <= defaults.tail_current for s in full)
