"""Battery bank: the aggregation rules as properties over random member snapshots, and worked examples.

Values are generated at the resolution devices report (mV, mA, 0.1 %), so the bank's rounding to 0.001 of a unit
never hides a difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendor_plugins.bank import (
    BankConfig,
    BankMode,
    BankSnapshot,
    CellRef,
    FreshnessPolicy,
    MemberReading,
    build_bank,
    combine,
)
from vendor_plugins.bank_freshness import MemberId
from vendor_plugins.model import Alarm, BmsSnapshot, Temperature, TemperatureKind

NOW = 1000.0
MODES = st.sampled_from(list(BankMode))


def _milli(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda k: k / 1000)


def _maybe[T](strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


temperatures_st = st.lists(
    st.builds(
        Temperature,
        st.sampled_from(["cell_1", "cell_2", "mosfet", "ambient"]),
        st.sampled_from(list(TemperatureKind)),
        st.integers(-400, 1400).map(lambda k: k / 10),  # -40..140 °C: plausible sensors
    ),
    max_size=4,
).map(tuple)
alarms_st = st.frozensets(st.sampled_from(list(Alarm)), max_size=4)


@st.composite
def _snapshot(draw: st.DrawFn, *, complete: bool = False) -> BmsSnapshot:
    """A plausible pack (the model refuses impossible ones: vendor_plugins/plausibility.py): the pack voltage near its
    cells' sum, the remaining charge within the capacity, the current within what the capacity allows."""

    def maybe[T](strategy: st.SearchStrategy[T]) -> T | None:
        return draw(strategy) if complete else draw(_maybe(strategy))

    cells = draw(st.lists(_milli(2500, 3650), min_size=1 if complete else 0, max_size=16).map(tuple))
    if cells:
        volts = maybe(st.integers(900, 1050).map(lambda k: round(sum(cells) * k / 1000, 3)))
    else:
        volts = maybe(_milli(0, 60_000))
    full = maybe(_milli(1_000, 300_000))
    design = maybe(_milli(1_000, 300_000))
    known = [c for c in (full, design) if c]
    if known:
        remaining = maybe(st.integers(0, 1000).map(lambda k: round(min(known) * k / 1000, 3)))
    else:
        remaining = maybe(_milli(0, 300_000))
    return BmsSnapshot(
        voltage=volts,
        current=maybe(_milli(-60_000, 60_000)),
        soc=maybe(st.integers(0, 1000).map(lambda k: k / 10)),
        soh=maybe(st.integers(0, 1000).map(lambda k: k / 10)),
        remaining_capacity=remaining,
        full_capacity=full,
        design_capacity=design,
        cycles=maybe(st.integers(0, 8000)),
        cell_voltages=cells,
        temperatures=draw(temperatures_st) if not complete else (),
        charge_mosfet=draw(_maybe(st.booleans())) if not complete else None,
        discharge_mosfet=draw(_maybe(st.booleans())) if not complete else None,
        balancing=(draw(_maybe(st.frozensets(st.integers(1, 16), max_size=3))) or frozenset())
        if not complete
        else frozenset(),
        alarms=draw(alarms_st),
        warnings=draw(alarms_st),
    )


snapshots = _snapshot()
#: Snapshots that report every whole-bank field (so sums and weighted means exist).
complete = _snapshot(complete=True)


def _members(snaps: Sequence[BmsSnapshot]) -> list[tuple[MemberId, BmsSnapshot]]:
    """Members with ids mixing bus addresses and "entry:address" strings."""
    return [(i + 1 if i % 2 == 0 else f"entry{i}:{i}", s) for i, s in enumerate(snaps)]


def _bank(snaps: Sequence[BmsSnapshot], mode: BankMode = BankMode.PARALLEL) -> BankSnapshot:
    readings = [MemberReading(m, s, NOW) for m, s in _members(snaps)]
    return build_bank(readings, BankConfig(mode=mode), now=NOW)


# --- properties -----------------------------------------------------------------------------------------------------
@settings(max_examples=300)
@given(snapshots, MODES)
def test_bank_of_one_pack_equals_the_pack(pack: BmsSnapshot, mode: BankMode) -> None:
    """Every field a bank carries equals the pack's own when the bank is that one pack."""
    bank = _bank([pack], mode)
    assert bank.available and not bank.degraded and bank.members == (1,) and bank.missing == ()
    for name in (
        "voltage",
        "current",
        "power",
        "soc",
        "soh",
        "remaining_capacity",
        "full_capacity",
        "design_capacity",
        "stored_energy",
        "cycles",
        "cell_min",
        "cell_max",
        "cell_average",
        "cell_delta",
        "charge_mosfet",
        "discharge_mosfet",
        "alarms",
        "warnings",
    ):
        assert getattr(bank, name) == getattr(pack, name), name
    assert tuple(t.temperature for t in bank.temperatures) == pack.temperatures
    assert {t.pack for t in bank.temperatures} <= {1}
    expected_balancing = None if pack.balancing is None else {CellRef(1, c) for c in pack.balancing}
    assert bank.balancing == expected_balancing
    if pack.cell_voltages:
        assert bank.cell_min_at == CellRef(1, pack.cell_voltages.index(min(pack.cell_voltages)) + 1)
        assert bank.cell_max_at == CellRef(1, pack.cell_voltages.index(max(pack.cell_voltages)) + 1)
    else:
        assert bank.cell_min_at is None and bank.cell_max_at is None
    assert bank.voltage_spread == (None if pack.voltage is None else 0.0)


@given(st.lists(snapshots, min_size=1, max_size=6))
def test_parallel_sums(packs: list[BmsSnapshot]) -> None:
    """Current, power, capacities and stored energy are sums; None unless every pack reports the field."""
    bank = _bank(packs)
    for name in ("current", "power", "remaining_capacity", "full_capacity", "design_capacity", "stored_energy"):
        values = [getattr(p, name) for p in packs]
        if any(v is None for v in values):
            assert getattr(bank, name) is None, name
        else:
            assert getattr(bank, name) == pytest.approx(math.fsum(values), abs=1e-3), name


@given(st.lists(complete, min_size=1, max_size=6))
def test_parallel_sums_of_complete_packs_exist(packs: list[BmsSnapshot]) -> None:
    """Energy = sum of the pack energies when every pack reports it."""
    bank = _bank(packs)
    assert bank.stored_energy == pytest.approx(sum(p.stored_energy or 0 for p in packs), abs=1e-3)
    assert bank.power == pytest.approx(sum(p.power or 0 for p in packs), abs=1e-3)
    assert bank.soc is not None and bank.soh is not None and bank.cycles is not None


@given(st.lists(snapshots, min_size=1, max_size=6), MODES)
def test_soc_soh_within_the_packs_range(packs: list[BmsSnapshot], mode: BankMode) -> None:
    """Bank SoC and SoH lie within [min, max] of the packs' (whatever the weights)."""
    bank = _bank(packs, mode)
    for name in ("soc", "soh"):
        value = getattr(bank, name)
        reported = [getattr(p, name) for p in packs if getattr(p, name) is not None]
        if value is not None:
            assert min(reported) <= value <= max(reported), name
        if len(reported) < len(packs):
            assert value is None, name


@given(st.lists(complete, min_size=1, max_size=6))
def test_series_soc_is_the_weakest_pack(packs: list[BmsSnapshot]) -> None:
    """Series: SoC, SoH and the capacities are the minimum; voltage, power and energy are sums."""
    bank = _bank(packs, BankMode.SERIES)
    for name in ("soc", "soh", "remaining_capacity", "full_capacity", "design_capacity"):
        assert getattr(bank, name) == min(getattr(p, name) for p in packs), name
    assert bank.voltage == pytest.approx(sum(p.voltage or 0 for p in packs), abs=1e-3)
    assert bank.stored_energy == pytest.approx(sum(p.stored_energy or 0 for p in packs), abs=1e-3)


@given(st.lists(snapshots, min_size=1, max_size=6), MODES)
def test_series_voltage_is_the_sum(packs: list[BmsSnapshot], mode: BankMode) -> None:
    """Series voltage = sum of the pack voltages (None if one is unknown); parallel = their mean."""
    bank = _bank(packs, mode)
    volts = [p.voltage for p in packs]
    known = [v for v in volts if v is not None]
    if mode is BankMode.SERIES:
        expected = None if None in volts else math.fsum(known)
    else:
        expected = math.fsum(known) / len(known) if known else None
    if expected is None:
        assert bank.voltage is None
    else:
        assert bank.voltage == pytest.approx(expected, abs=1e-3)


@given(st.lists(snapshots, min_size=1, max_size=6), MODES)
def test_cells_bank_wide(packs: list[BmsSnapshot], mode: BankMode) -> None:
    """cell_min <= cell_average <= cell_max, and cell_min_at / cell_max_at point at a real extreme cell."""
    bank = _bank(packs, mode)
    by_member = dict(_members(packs))
    every = [v for p in packs for v in p.cell_voltages]
    if not every:
        assert bank.cell_min is None and bank.cell_average is None and bank.cell_min_at is None
        return
    assert bank.cell_min is not None and bank.cell_max is not None and bank.cell_average is not None
    assert bank.cell_min == min(every) and bank.cell_max == max(every)
    assert bank.cell_min <= bank.cell_average <= bank.cell_max
    assert bank.cell_delta == pytest.approx(bank.cell_max - bank.cell_min, abs=1e-4)
    for at, value in ((bank.cell_min_at, bank.cell_min), (bank.cell_max_at, bank.cell_max)):
        assert at is not None
        assert by_member[at.pack].cell_voltages[at.cell - 1] == value


@given(st.lists(snapshots, min_size=1, max_size=6), MODES)
def test_alarms_are_the_union_with_their_packs(packs: list[BmsSnapshot], mode: BankMode) -> None:
    """Alarms and warnings are the union; each names exactly the packs that raise it."""
    bank = _bank(packs, mode)
    members = _members(packs)
    assert bank.alarms == frozenset().union(*(p.alarms for p in packs))
    assert bank.warnings == frozenset().union(*(p.warnings for p in packs))
    for alarm in bank.alarms:
        assert set(bank.alarm_packs[alarm]) == {m for m, s in members if alarm in s.alarms}
    assert set(bank.alarm_packs) == set(bank.alarms) and set(bank.warning_packs) == set(bank.warnings)


@given(st.lists(snapshots, min_size=1, max_size=6), MODES)
def test_mosfets_all_on_or_which_are_off(packs: list[BmsSnapshot], mode: BankMode) -> None:
    """True only when every pack says on; False naming the packs that say off; None otherwise."""
    bank = _bank(packs, mode)
    members = _members(packs)
    states = [s.charge_mosfet for _, s in members]
    assert bank.charge_mosfet_off == tuple(m for m, s in members if s.charge_mosfet is False)
    if False in states:
        assert bank.charge_mosfet is False
    elif all(state is True for state in states):
        assert bank.charge_mosfet is True
    else:
        assert bank.charge_mosfet is None


@given(st.lists(complete, min_size=2, max_size=6), st.data(), st.sampled_from(list(FreshnessPolicy)))
def test_a_stale_member_is_excluded_or_blocks(
    packs: list[BmsSnapshot], data: st.DataObject, policy: FreshnessPolicy
) -> None:
    """A member older than max_age (or silent) never counts: 'available' reports the rest, degraded; 'all' nothing."""
    members = _members(packs)
    stale = data.draw(st.integers(0, len(packs) - 1))
    silent = data.draw(st.booleans())
    readings = [
        MemberReading(m, None if (i == stale and silent) else s, NOW - 61.0 if i == stale else NOW - 5.0)
        for i, (m, s) in enumerate(members)
    ]
    bank = build_bank(readings, BankConfig(policy=policy, max_age=60.0), now=NOW)
    assert bank.members == tuple(m for m, _ in members)
    assert bank.missing == (members[stale][0],) and bank.degraded
    if policy is FreshnessPolicy.ALL:
        assert not bank.available and bank.soc is None and bank.current is None
        assert bank.to_dict()["snapshot"] is None
    else:
        fresh = [s for i, s in enumerate(packs) if i != stale]
        assert bank.available
        assert bank.current == pytest.approx(math.fsum(s.current or 0 for s in fresh), abs=1e-3)
        assert bank.alarms == frozenset().union(*(s.alarms for s in fresh))


# --- examples -------------------------------------------------------------------------------------------------------
def test_soc_weighted_by_full_else_design_capacity() -> None:
    """100 Ah at 50 % beside 200 Ah at 80 % is 70 %; a pack without full capacity weighs its design capacity."""
    a = BmsSnapshot(soc=50.0, full_capacity=100.0, design_capacity=280.0)
    b = BmsSnapshot(soc=80.0, design_capacity=200.0)
    assert _bank([a, b]).soc == 70.0


def test_soh_weighted_by_design_capacity_is_full_over_design() -> None:
    """SoH weighted by design capacity equals sum(full) / sum(design)."""
    a = BmsSnapshot(soh=90.0, full_capacity=90.0, design_capacity=100.0)
    b = BmsSnapshot(soh=75.0, full_capacity=150.0, design_capacity=200.0)
    assert _bank([a, b]).soh == 80.0  # 240 / 300


def test_capacities_needed_from_all_or_none() -> None:
    """No pack with a capacity: equal weights; only some with a capacity: no SoC rather than a guess."""
    assert _bank([BmsSnapshot(soc=40.0), BmsSnapshot(soc=60.0)]).soc == 50.0
    assert _bank([BmsSnapshot(soc=40.0, full_capacity=100.0), BmsSnapshot(soc=60.0)]).soc is None


def test_a_field_no_member_reports_stays_none() -> None:
    """Nothing reported: nothing made up (no 0 V, no 0 A, no empty-set MOSFET 'on')."""
    bank = _bank([BmsSnapshot(), BmsSnapshot()])
    assert bank.available
    for name in ("voltage", "current", "power", "soc", "soh", "cycles", "cell_min", "temperature_max", "balancing"):
        assert getattr(bank, name) is None, name
    assert bank.charge_mosfet is None and bank.charge_mosfet_off == ()


def test_series_current_mismatch_is_flagged() -> None:
    """Series: the common current is the mean; packs disagreeing by more than the tolerance are flagged."""
    packs = [BmsSnapshot(voltage=26.0, current=-10.0), BmsSnapshot(voltage=26.5, current=-10.4)]
    bank = _bank(packs, BankMode.SERIES)
    assert (bank.voltage, bank.current, bank.current_mismatch) == (52.5, -10.2, False)
    packs[1] = BmsSnapshot(voltage=26.5, current=-14.0)
    assert _bank(packs, BankMode.SERIES).current_mismatch is True


def test_to_dict_shape() -> None:
    """The INTERFACES §5 object: mode, members, missing, degraded, snapshot with the cell statistics and where."""
    a = BmsSnapshot(voltage=6.6, current=-4.0, cell_voltages=(3.30, 3.32), alarms=frozenset({Alarm.LOW_SOC}))
    b = BmsSnapshot(voltage=6.8, current=-6.0, cell_voltages=(3.35, 3.29), balancing=frozenset({1}))
    data = build_bank(
        [MemberReading(1, a, NOW), MemberReading("e:2", b, NOW), MemberReading(3, None)],
        BankConfig(policy=FreshnessPolicy.AVAILABLE),
        now=NOW,
    ).to_dict()
    assert {k: data[k] for k in ("mode", "members", "missing", "degraded")} == {
        "mode": "parallel",
        "members": [1, "e:2", 3],
        "missing": [3],
        "degraded": True,
    }
    snap = data["snapshot"]
    field_names = set(BmsSnapshot().to_dict()) - {"cell_voltages", "raw"}
    assert field_names <= set(snap)
    assert (snap["voltage"], snap["current"], snap["cell_min"], snap["cell_max"]) == (6.7, -10.0, 3.29, 3.35)
    assert snap["cell_min_at"] == {"pack": "e:2", "cell": 2} and snap["cell_max_at"] == {"pack": "e:2", "cell": 1}
    assert snap["alarms"] == ["low_soc"] and snap["alarm_packs"] == {"low_soc": [1]}
    assert snap["balancing"] == [{"pack": "e:2", "cell": 1}]


def test_combine_needs_no_freshness() -> None:
    """The rules alone: combine() over (member, snapshot) pairs."""
    values = combine(BankMode.PARALLEL, [(1, BmsSnapshot(current=1.5)), (2, BmsSnapshot(current=2.5))])
    assert values["current"] == 4.0


def test_a_member_listed_twice_is_refused() -> None:
    """Two readings for one member would count it twice."""
    with pytest.raises(ValueError, match="twice"):
        build_bank([MemberReading(1, BmsSnapshot(), NOW)] * 2, BankConfig(), now=NOW)
