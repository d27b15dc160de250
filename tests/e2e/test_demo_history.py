"""The demo's simulated week (``scripts/demo_history.py``) and its Energy settings (``scripts/demo_dashboard.py``).

Fast, no Home Assistant: the history ends at the SoC the pack shows now, charges by day and discharges by night,
tapers to 0 W at full, never goes below the reserve; the statistics rows are what ``recorder/import_statistics``
takes (top of the hour, mean/min/max or state/sum, meters never decreasing); the battery sources are named.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import demo_dashboard
import demo_history

END = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
PACK = demo_history.Pack(capacity_ah=100.0, voltage=51.2, soc_now=63.0, temperatures={"sensor.t": 24.0}, seed=7)
ENTITIES = {
    "battery_power": "sensor.p",
    "soc": "sensor.s",
    "energy_charged": "sensor.c",
    "energy_discharged": "sensor.d",
}


def test_a_week_that_ends_where_the_pack_is_now() -> None:
    hours = demo_history.simulate(PACK, END)
    assert len(hours) == 7 * 24
    assert hours[0].start == END - timedelta(days=7) and hours[-1].start == END - timedelta(hours=1)
    assert hours[-1].soc[-1] == pytest.approx(PACK.soc_now, abs=0.5)
    for hour in hours:
        assert all(demo_history.RESERVE - 1 <= soc <= 100 for soc in hour.soc)
        if hour.start.hour in (1, 2, 3, 4, 5):  # night: discharging (+) or stopped at the reserve, never charging
            assert all(p >= 0 for p in hour.power)
        if 100 in hour.soc:  # full: the charge current has tapered to nothing
            assert all(p >= 0 or soc < 100 for p, soc in zip(hour.power, hour.soc, strict=True))
    charging_by_day = [sum(p < 0 for p in h.power) for h in hours if 10 <= h.start.hour < 14]
    assert sum(charging_by_day) > len(charging_by_day)  # the sun charges it


def test_statistics_rows_are_what_the_import_takes() -> None:
    statistics = demo_history.pack_statistics(PACK, ENTITIES, END)
    ids = {meta["statistic_id"] for meta, _ in statistics}
    assert ids == {"sensor.p", "sensor.s", "sensor.c", "sensor.d", "sensor.t"}
    for meta, rows in statistics:
        assert len(rows) == 7 * 24 and meta["source"] == "recorder"
        starts = [datetime.fromisoformat(r["start"]) for r in rows]
        assert all(s.minute == 0 and s.second == 0 and s.tzinfo is not None for s in starts)
        if meta["has_sum"]:
            sums = [r["sum"] for r in rows]
            assert sums == sorted(sums) and sums[-1] > 10  # kWh, never decreasing, a week of use
        else:
            assert all(r["min"] <= r["mean"] <= r["max"] for r in rows)
    totals = demo_history.totals(statistics)
    assert set(totals) == {"sensor.c", "sensor.d"}


def test_energy_prefs_take_charged_discharged_power_triples() -> None:
    prefs = demo_dashboard.energy_prefs([("sensor.c", "sensor.d", "sensor.p")])
    assert prefs == {
        "energy_sources": [
            {"type": "battery", "stat_energy_to": "sensor.c", "stat_energy_from": "sensor.d", "stat_rate": "sensor.p"}
        ]
    }
    named = demo_dashboard.energy_prefs([demo_dashboard.Battery("c", "d", "p", "s", "Rack pack 1", 5.12)])
    assert named["energy_sources"][0] | {} == {
        "type": "battery",
        "stat_energy_to": "c",
        "stat_energy_from": "d",
        "stat_rate": "p",
        "stat_soc": "s",
        "name": "Rack pack 1",
        "capacity": 5.12,
    }


def test_a_bank_week_is_its_packs_week() -> None:
    """Power summed step by step, SoC within its packs', the bank's meters at most its packs' (and a bank of one
    pack is that pack)."""
    packs = [
        demo_history.Pack(capacity_ah=100.0, voltage=51.2, soc_now=soc, temperatures={}, seed=seed)
        for soc, seed in ((63.0, 7), (40.0, 8), (80.0, 9))
    ]
    members = [(p, demo_history.simulate(p, END)) for p in packs]
    bank = demo_history.bank_hours(members)
    assert len(bank) == 7 * 24
    for i, hour in enumerate(bank):
        for step, power in enumerate(hour.power):
            assert power == pytest.approx(sum(h[i].power[step] for _, h in members), abs=0.2)
            socs = [h[i].soc[step] for _, h in members]
            assert min(socs) - 1e-9 <= hour.soc[step] <= max(socs) + 1e-9
    for attr in ("charged_kwh", "discharged_kwh"):
        packs_kwh = sum(getattr(h[-1], attr) for _, h in members)
        assert 0.9 * packs_kwh <= getattr(bank[-1], attr) <= packs_kwh + 1e-6
    one = demo_history.bank_hours(members[:1])
    assert [h.charged_kwh for h in one] == pytest.approx([h.charged_kwh for h in members[0][1]], abs=1e-3)
    ids = {"battery_power": "sensor.bp", "soc": "sensor.bs", "energy_charged": "sensor.bc", "energy_discharged": "b"}
    statistics = demo_history.bank_statistics(members, ids)
    assert {meta["statistic_id"] for meta, _ in statistics} == set(ids.values())
    assert all(len(rows) == 7 * 24 for _, rows in statistics)
