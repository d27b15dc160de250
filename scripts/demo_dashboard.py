"""The demo's dashboard and Energy settings, built from Home Assistant's own cards.

:func:`dashboard` is the "Battery fleet" dashboard (docs/dashboards.md describes the same cards as YAML to paste):

* *Fleet*: power and state of charge of every pack over the last 24 hours (history graphs, filled from the
  imported statistics where the recorder has no states yet), a gauge per pack, energy charged and discharged per
  day over the last week (statistics graph), temperatures over the last 24 hours.
* *Cells*: per pack its cell voltages as bars (tile cards with the bar-gauge feature) next to the lowest, highest
  and the difference, so an unbalanced cell stands out at a glance.

:func:`energy_prefs` is the Energy dashboard's battery sources, one per (charged, discharged, power) entity triple.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

#: The cell-voltage bars' scale (V): a LiFePO4 cell's working range, empty to full (the simulated fleet's chemistry).
CELL_BAR_MIN, CELL_BAR_MAX = 3.0, 3.65


class Battery(NamedTuple):
    """One battery source of the Energy dashboard: its kWh meters and power (+ = discharging) entity ids."""

    charged: str
    discharged: str
    power: str | None = None
    soc: str | None = None
    name: str | None = None
    capacity_kwh: float | None = None  # weights the combined state of charge


def energy_prefs(batteries: Sequence[Battery | tuple[str, str, str | None]]) -> dict[str, Any]:
    """``energy/save_prefs`` arguments: one battery source per battery (named, with its capacity when known)."""
    sources = []
    for item in batteries:
        battery = Battery(*item)
        source: dict[str, Any] = {
            "type": "battery",
            "stat_energy_from": battery.discharged,
            "stat_energy_to": battery.charged,
        }
        if battery.power:
            source["stat_rate"] = battery.power
        if battery.soc:
            source["stat_soc"] = battery.soc
        if battery.name:
            source["name"] = battery.name
        if battery.capacity_kwh:
            source["capacity"] = battery.capacity_kwh
        sources.append(source)
    return {"energy_sources": sources}


def batteries(packs: Sequence[dict[str, Any]]) -> list[Battery]:
    """The Energy dashboard's batteries: each with its meters (packs as ``collect_packs`` finds them, or a bank)."""
    return [
        Battery(
            p["entities"]["energy_charged"],
            p["entities"]["energy_discharged"],
            p["entities"].get("battery_power"),
            p["entities"].get("soc"),
            p["name"],
            p.get("capacity_kwh"),
        )
        for p in packs
    ]


def _cells(entities: dict[str, str]) -> list[tuple[int, str]]:
    found = [(int(m.group(1)), e) for k, e in entities.items() if (m := re.fullmatch(r"cell_(\d+)_voltage", k))]
    return sorted(found)


def _temperatures(entities: dict[str, str]) -> list[tuple[str, str]]:
    return sorted((k, e) for k, e in entities.items() if k.startswith("temperature_"))


def _series(packs: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{"entity": p["entities"][key], "name": p["name"]} for p in packs if key in p["entities"]]


def fleet_view(packs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Power and SoC over the last day, a SoC gauge per pack, energy per day for a week, temperatures."""
    gauges = [
        {
            "type": "gauge",
            "entity": p["entities"]["soc"],
            "name": p["name"],
            "min": 0,
            "max": 100,
            "severity": {"green": 50, "yellow": 20, "red": 0},
        }
        for p in packs
        if "soc" in p["entities"]
    ]
    temperatures = [
        {"entity": e, "name": f"{p['name']} {k.removeprefix('temperature_').replace('_', ' ')}"}
        for p in packs
        for k, e in _temperatures(p["entities"])[:2]
    ]
    energy = [
        {"entity": p["entities"][k], "name": f"{p['name']} {k.removeprefix('energy_')}"}
        for p in packs
        for k in ("energy_charged", "energy_discharged")
        if k in p["entities"]
    ]
    return {
        "title": "Fleet",
        "path": "fleet",
        "cards": [
            {"type": "grid", "columns": 2, "square": False, "cards": gauges},
            {
                "type": "history-graph",
                "title": "Battery power, last 24 hours (+ discharging, - charging)",
                "hours_to_show": 24,
                "entities": _series(packs, "battery_power"),
            },
            {
                "type": "history-graph",
                "title": "State of charge, last 24 hours",
                "hours_to_show": 24,
                "entities": _series(packs, "soc"),
            },
            {
                "type": "statistics-graph",
                "title": "Energy charged and discharged per day",
                "chart_type": "bar",
                "period": "day",
                "days_to_show": 7,
                "stat_types": ["change"],
                "entities": energy,
            },
            {
                "type": "history-graph",
                "title": "Temperatures, last 24 hours",
                "hours_to_show": 24,
                "entities": temperatures,
            },
        ],
    }


def cells_card(pack: dict[str, Any]) -> dict[str, Any]:
    """One pack's cells: lowest, highest and difference, then every cell voltage as a bar."""
    ents = pack["entities"]
    summary = [
        {"type": "tile", "entity": ents[k], "name": label, "vertical": True}
        for k, label in (("cell_min", "Lowest"), ("cell_max", "Highest"), ("cell_delta", "Difference"))
        if k in ents
    ]
    bars = [
        {
            "type": "tile",
            "entity": e,
            "name": f"Cell {n}",
            "hide_state": False,
            "features_position": "bottom",
            "features": [{"type": "bar-gauge", "min": CELL_BAR_MIN, "max": CELL_BAR_MAX}],
        }
        for n, e in _cells(ents)
    ]
    return {
        "type": "vertical-stack",
        "cards": [
            {"type": "heading", "heading": f"{pack['name']} cells"},
            {"type": "grid", "columns": 3, "square": False, "cards": summary},
            {"type": "grid", "columns": 2, "square": False, "cards": bars},
        ],
    }


def dashboard(packs: Sequence[dict[str, Any]], banks: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The "Battery fleet" dashboard: the fleet view (banks first, then the packs) and the cells view (packs)."""
    return {
        "title": "Battery fleet",
        "views": [
            fleet_view([*banks, *packs]),
            {"title": "Cells", "path": "cells", "cards": [cells_card(p) for p in packs]},
        ],
    }
