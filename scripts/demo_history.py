"""The demo's history: the last days of the simulated fleet, as Home Assistant long-term statistics.

A home battery's day: from about 07:00 to 17:00 solar power charges it (a bell over the day, its height varying with
the weather from day to day), the house draws a small load all day and more in the evening and at night, so the
pack charges by day and discharges by night. Near full the charger tapers its current (constant voltage) to zero at
100 %; near empty the inverter stops discharging. Each pack is simulated with its own capacity, voltage and
temperatures (read from its entities when the demo starts) in 5-minute steps, ending at the SoC the pack shows now
(:func:`simulate`), so the live values continue where the history stops.

:func:`pack_statistics` gives, per entity, the metadata and the hourly rows Home Assistant's
``recorder/import_statistics`` takes (``start`` at the top of each hour): mean/min/max for power, SoC and
temperatures, state/sum for the kWh meters. :func:`bank_hours` makes a battery bank's history from its members' (the
library's parallel-bank rules: power summed step by step, SoC weighted by capacity, the bank's meters integrating the
bank's power - one pack charging another is no energy in or out of the bank), and :func:`bank_statistics` its rows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STEP = timedelta(minutes=5)
STEPS_PER_HOUR = 12
#: Statistics mean types (Home Assistant's ``StatisticMeanType``): none for meters, arithmetic for measurements.
MEAN_NONE, MEAN_ARITHMETIC = 0, 1
#: SoC (%) at which charging tapers, and below which the inverter stops discharging.
TAPER_FROM, RESERVE = 95.0, 10.0


@dataclass
class Pack:
    """What a pack's history is made of (from its entities' current states)."""

    capacity_ah: float
    voltage: float
    soc_now: float
    temperatures: dict[str, float]  # entity id -> its temperature now (°C)
    seed: int


@dataclass
class Hour:
    """One hour of a pack's history."""

    start: datetime
    power: list[float] = field(default_factory=list)  # W, Home Assistant's battery convention (+ = discharging)
    soc: list[float] = field(default_factory=list)  # %
    charged_kwh: float = 0.0  # the meters' readings at the end of the hour
    discharged_kwh: float = 0.0


def _weather(rng: random.Random, days: int) -> list[float]:
    """How much sun each day has, 0.35 (overcast) .. 1.0 (clear)."""
    return [rng.uniform(0.35, 1.0) for _ in range(days + 1)]


def _net_power(pack: Pack, when: datetime, sun: float, rng: random.Random) -> float:
    """Power into the pack (W, + = charging) before the BMS limits: solar minus the house's load."""
    hour = when.hour + when.minute / 60
    nominal = pack.capacity_ah * pack.voltage  # Wh
    solar = 0.3 * nominal * sun * math.sin(math.pi * (hour - 7) / 10) if 7 <= hour <= 17 else 0.0
    load = 0.04 * nominal
    if 18 <= hour < 23:
        load = 0.12 * nominal  # cooking, washing, lights
    elif hour >= 23 or hour < 6:
        load = 0.06 * nominal
    return solar - load * rng.uniform(0.85, 1.15)


def simulate(pack: Pack, end: datetime, days: int = 7) -> list[Hour]:
    """``days`` of hourly history ending at ``end`` (the top of an hour) at the SoC the pack shows now.

    A week forgets where it started (every day ends full or at the reserve), so the end is matched differently:
    after the last time the pack was full or at the reserve, the house's load is a little lower or higher (a
    constant bias, found by bisection) until the run ends at the SoC shown now.
    """
    start = end - timedelta(days=days)
    _, _, last_limit = _run(pack, start, end, 0.0, end)
    nominal = pack.capacity_ah * pack.voltage
    lo, hi = -0.5 * nominal, 0.5 * nominal
    hours: list[Hour] = []
    for _ in range(40):
        bias = (lo + hi) / 2
        hours, soc_end, _ = _run(pack, start, end, bias, last_limit)
        if soc_end < pack.soc_now:
            lo = bias
        else:
            hi = bias
    return hours


def _run(
    pack: Pack, start: datetime, end: datetime, bias: float, bias_from: datetime
) -> tuple[list[Hour], float, datetime]:
    """One forward run: its hours, the end SoC, and the last time the pack was full or at the reserve.

    ``bias`` W more charge (or less load) from ``bias_from`` on.
    """
    rng = random.Random(pack.seed)
    weather = _weather(rng, (end - start).days)
    nominal = pack.capacity_ah * pack.voltage
    soc, charged, discharged = 50.0, 0.0, 0.0
    last_limit = start
    hours: list[Hour] = []
    when = start
    while when < end:
        if when.minute == 0:
            hours.append(Hour(when))
        net = _net_power(pack, when, weather[(when - start).days], rng) + (bias if when >= bias_from else 0.0)
        if net > 0 and soc > TAPER_FROM:
            net *= max(0.0, (100.0 - soc) / (100.0 - TAPER_FROM))  # constant voltage: the current tapers to 0
        if net < 0 and soc <= RESERVE:
            net = 0.0
        wh = net * STEP.total_seconds() / 3600
        soc = min(100.0, max(0.0, soc + 100.0 * wh / nominal))
        if soc >= 99.99 or soc <= RESERVE:
            last_limit = when + STEP
        if wh > 0:
            charged += wh / 1000
        else:
            discharged -= wh / 1000
        hour = hours[-1]
        hour.power.append(round(-net, 1))
        hour.soc.append(soc)
        hour.charged_kwh, hour.discharged_kwh = charged, discharged
        when += STEP
    return hours, soc, last_limit


def _meta(statistic_id: str, unit: str | None, unit_class: str | None, *, total: bool) -> dict[str, Any]:
    return {
        "statistic_id": statistic_id,
        "source": "recorder",
        "name": None,
        "unit_of_measurement": unit,
        "unit_class": unit_class,
        "has_sum": total,
        "mean_type": MEAN_NONE if total else MEAN_ARITHMETIC,
    }


def _mean_rows(hours: list[Hour], values: list[list[float]], digits: int) -> list[dict[str, Any]]:
    return [
        {
            "start": h.start.isoformat(),
            "mean": round(sum(v) / len(v), digits),
            "min": round(min(v), digits),
            "max": round(max(v), digits),
        }
        for h, v in zip(hours, values, strict=True)
    ]


def _sum_rows(hours: list[Hour], readings: list[float]) -> list[dict[str, Any]]:
    return [
        {"start": h.start.isoformat(), "state": round(r, 3), "sum": round(r, 3)}
        for h, r in zip(hours, readings, strict=True)
    ]


Statistics = list[tuple[dict[str, Any], list[dict[str, Any]]]]


def _energy_statistics(hours: list[Hour], entities: dict[str, str]) -> Statistics:
    """Power, SoC and the two kWh meters (those of them in ``entities``)."""
    out: Statistics = []
    if "battery_power" in entities:
        meta = _meta(entities["battery_power"], "W", "power", total=False)
        out.append((meta, _mean_rows(hours, [h.power for h in hours], 1)))
    if "soc" in entities:
        out.append((_meta(entities["soc"], "%", None, total=False), _mean_rows(hours, [h.soc for h in hours], 1)))
    if "energy_charged" in entities:
        meta = _meta(entities["energy_charged"], "kWh", "energy", total=True)
        out.append((meta, _sum_rows(hours, [h.charged_kwh for h in hours])))
    if "energy_discharged" in entities:
        meta = _meta(entities["energy_discharged"], "kWh", "energy", total=True)
        out.append((meta, _sum_rows(hours, [h.discharged_kwh for h in hours])))
    return out


def pack_statistics(
    pack: Pack, entities: dict[str, str], end: datetime, days: int = 7, hours: list[Hour] | None = None
) -> Statistics:
    """``(metadata, rows)`` per entity of the pack (``entities``: description key -> entity id) to import.

    ``hours``: the pack's history if already simulated (:func:`simulate`), else it is simulated here.
    """
    hours = hours if hours is not None else simulate(pack, end, days)
    out = _energy_statistics(hours, entities)
    for entity_id, now in pack.temperatures.items():
        # Warmer while current flows, and with the day: a few degrees around what the sensor shows now.
        temps = [
            [
                now - 1.5 + 1.5 * math.sin(math.pi * (h.start.hour - 9) / 12) + abs(p) / max(1.0, pack.voltage * 20)
                for p in h.power
            ]
            for h in hours
        ]
        out.append((_meta(entity_id, "°C", "temperature", total=False), _mean_rows(hours, temps, 1)))
    return out


def bank_hours(members: list[tuple[Pack, list[Hour]]]) -> list[Hour]:
    """A parallel bank's history from its members' (each ``(pack, its simulated hours)``, the same hours).

    Power: the members' summed, step by step. SoC: weighted by the members' capacities. Energy charged/discharged:
    the bank's own meters integrate the bank's power (as the integration's bank meters do), so a step where one
    member charges while another discharges counts only what went in or out of the bank.
    """
    total_ah = sum(pack.capacity_ah for pack, _ in members) or 1.0
    charged = discharged = 0.0
    out: list[Hour] = []
    for i, first in enumerate(members[0][1]):
        hour = Hour(first.start)
        for step in range(len(first.power)):
            power = sum(hours[i].power[step] for _, hours in members)  # W, + = discharging
            hour.power.append(round(power, 1))
            hour.soc.append(sum(p.capacity_ah * hours[i].soc[step] for p, hours in members) / total_ah)
            kwh = power * STEP.total_seconds() / 3600 / 1000
            if kwh > 0:
                discharged += kwh
            else:
                charged -= kwh
        hour.charged_kwh, hour.discharged_kwh = charged, discharged
        out.append(hour)
    return out


def bank_statistics(members: list[tuple[Pack, list[Hour]]], entities: dict[str, str]) -> Statistics:
    """``(metadata, rows)`` of a bank's power, SoC and meters (``entities``: bank sensor key -> entity id)."""
    return _energy_statistics(bank_hours(members), entities)


def last_full_hour(now: datetime | None = None) -> datetime:
    """The top of the current hour: the history ends there (the recorder compiles the current hour itself)."""
    now = now or datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


def totals(statistics: Statistics) -> dict[str, float]:
    """The last ``sum`` of each kWh meter in ``statistics``: where its live statistics must continue from."""
    return {meta["statistic_id"]: rows[-1]["sum"] for meta, rows in statistics if meta["has_sum"] and rows}
