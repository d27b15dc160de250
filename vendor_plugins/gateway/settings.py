"""Battery settings over MQTT: which entities a pack gets, how command payloads become values.

Only for connections with ``control: true`` (as the integration creates its setting entities only while control is
enabled). For a pack whose protocol family has a settings table (:meth:`~vendor_plugins.plugin.Session.settings_table`):

* each writable numeric setting is a Home Assistant ``number`` (key ``setting_<name>``, the vocabulary name as its
  translation key, the vendor's range and step, entity category *config*, disabled by default — the integration's
  ``number`` entities, names from :mod:`vendor_plugins.setting_names`; one exception: Home Assistant's MQTT number
  refuses a step below 0.001, so a setting finer than that — a short-circuit delay in 50 µs steps — is published in
  the smaller unit, ms, and a command's value is converted back);
* each writable on/off setting (the balancer) is a ``switch`` (key ``setting_<name>``);
* if the session can set the SoC and the pack reports one, ``set_soc``: a ``number`` 0-100 % whose state is the SoC
  the pack reports (every poll).

Settings are not part of the poll: the gateway reads them when a pack is first seen, again after the connection's
``settings_interval`` (default :data:`SETTINGS_MAX_AGE` seconds; after a failed read: :data:`SETTINGS_RETRY`), and
after each write. Nothing here does I/O; :class:`~.packs.ConnectionRunner` runs the reads and writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

from ..battery_settings import VOCABULARY, BmsSettings, Number, SettingsTable
from ..entity_catalog import CELSIUS, PERCENT, EntitySpec
from ..entity_names import NUMBER, SWITCH
from ..errors import SettingsRefused
from ..setting_names import SET_SOC
from .config import SETTINGS_MAX_AGE
from .discovery import OFF, ON

#: Seconds before a failed settings read is tried again.
SETTINGS_RETRY: Final = 60.0
#: Key prefix of the setting entities (as the integration's unique-id suffixes).
PREFIX: Final = "setting_"
CONFIG: Final = "config"

__all__ = [
    "SETTINGS_MAX_AGE",
    "PackSettings",
    "pack_settings",
    "parse_number",
    "parse_setting",
    "published",
    "setting_key",
]

#: Home Assistant number device class by vocabulary unit (the integration's table).
DEVICE_CLASSES: Final = {"V": "voltage", "A": "current", CELSIUS: "temperature", "s": "duration"}
#: Home Assistant's MQTT number refuses a step below this (its own entities have no such floor).
MQTT_MIN_STEP: Final = 0.001
#: A setting whose step is finer than :data:`MQTT_MIN_STEP` is published in the smaller unit (times the factor).
SMALLER_UNITS: Final = {"s": ("ms", 1000.0), "V": ("mV", 1000.0), "A": ("mA", 1000.0)}

SET_SOC_SPEC: Final = EntitySpec(
    NUMBER,
    SET_SOC,
    SET_SOC,
    "soc",
    value_fn=attrgetter("soc"),
    device_class="battery",
    unit=PERCENT,
    category=CONFIG,
    enabled=False,
)
SET_SOC_LIMITS: Final = {"min": 0, "max": 100, "step": 1, "mode": "box"}


def setting_key(name: str) -> str:
    """The entity key of setting ``name``."""
    return f"{PREFIX}{name}"


@dataclass
class PackSettings:
    """The setting entities of one pack and what was last read."""

    table: SettingsTable | None
    #: Entity key -> the vocabulary name of the setting it shows.
    names: dict[str, str] = field(default_factory=dict)
    specs: list[EntitySpec] = field(default_factory=list)
    #: Entity key -> extra discovery fields (a number's range and step).
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Entity key -> factor from the vocabulary unit to the published one (only settings finer than MQTT allows).
    scales: dict[str, float] = field(default_factory=dict)
    values: BmsSettings | None = None
    #: Event-loop time of the next read (``0``: as soon as possible).
    due_at: float = 0.0
    failing: str | None = None

    def due(self, now: float) -> bool:
        """Whether the settings should be read now."""
        return self.table is not None and bool(self.names) and now >= self.due_at


def pack_settings(table: SettingsTable | None) -> PackSettings:
    """The setting entities of a pack with ``table`` (``None``: its family has no settings table)."""
    out = PackSettings(table)
    if table is None:
        return out
    for spec in table.specs:
        if not spec.writable:
            continue
        word, key = spec.word, setting_key(spec.name)
        if word.kind == "bool":
            entity = EntitySpec(SWITCH, key, spec.name, "settings", category=CONFIG, enabled=False)
        else:
            unit, scale = word.unit or None, 1.0
            if spec.step < MQTT_MIN_STEP and word.unit in SMALLER_UNITS:
                unit, scale = SMALLER_UNITS[word.unit]
                out.scales[key] = scale
            entity = EntitySpec(
                NUMBER,
                key,
                spec.name,
                "settings",
                device_class=DEVICE_CLASSES.get(word.unit),
                unit=unit,
                category=CONFIG,
                enabled=False,
            )
            out.extras[key] = {
                "min": _scaled(spec.minimum, scale),
                "max": _scaled(spec.maximum, scale),
                "step": _scaled(spec.step, scale),
                "mode": "box",
            }
        out.names[key] = spec.name
        out.specs.append(entity)
    return out


def _scaled(value: float, scale: float) -> float:
    return value if scale == 1.0 else round(value * scale, 9)


def published(settings: PackSettings, key: str, value: Number | None) -> Number | None:
    """A setting's value as published (in the published unit)."""
    scale = settings.scales.get(key)
    if scale is None or value is None or isinstance(value, bool):
        return value
    return _scaled(float(value), scale)


def parse_setting(name: str, text: str, scale: float = 1.0) -> Number:
    """A command payload as the value of setting ``name`` (range checks are the library's, before any byte).

    ``scale``: the factor of the published unit (the payload is divided by it).
    """
    word = VOCABULARY.get(name)
    if word is None:
        raise SettingsRefused(f"{name!r} is not a setting")
    if word.kind == "bool":
        if text not in (ON, OFF):
            raise SettingsRefused(f"{name}: payload must be {ON} or {OFF}, not {text[:20]!r}")
        return text == ON
    value = parse_number(name, text)
    return value if scale == 1.0 else value / scale


def parse_number(name: str, text: str) -> float:
    """A numeric command payload (finite), else :class:`SettingsRefused`."""
    try:
        value = float(text)
    except ValueError:
        raise SettingsRefused(f"{name}: payload must be a number, not {text[:20]!r}") from None
    if not math.isfinite(value):
        raise SettingsRefused(f"{name}: payload must be a finite number, not {text[:20]!r}")
    return value
