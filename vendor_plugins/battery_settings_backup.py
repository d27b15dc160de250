"""Settings backups: one JSON document per pack, and the checks before one is restored.

A backup names the vendor, family and cell count it came from; :func:`restore_changes` refuses a backup from any
other (:class:`~vendor_plugins.errors.SettingsRefused`, nothing sent) and returns only the writable values that
differ from the pack's current settings, so a restore writes what it must and nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .battery_settings import BmsSettings, Number, SettingsTable, format_value
from .errors import ConfigError, SettingsRefused

FORMAT = "bmsgw-settings/1"


def to_document(settings: BmsSettings) -> dict[str, Any]:
    """The backup document of ``settings``."""
    return {
        "format": FORMAT,
        "vendor": settings.vendor,
        "family": settings.family,
        "cell_count": settings.cell_count,
        "settings": settings.to_dict(),
    }


def dumps(settings: BmsSettings) -> str:
    """The backup as indented JSON text."""
    return json.dumps(to_document(settings), indent=2, sort_keys=False) + "\n"


def _number(name: str, value: object) -> Number:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ConfigError(f"settings backup: {name} is not a number or on/off: {value!r}")


def loads(text: str) -> BmsSettings:
    """A backup document back into settings; :class:`ConfigError` for anything that is not one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"settings backup is not JSON: {err}") from err
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f'not a settings backup (expected "format": "{FORMAT}")')
    vendor, family, cells, values = (document.get(k) for k in ("vendor", "family", "cell_count", "settings"))
    if not isinstance(vendor, str) or not isinstance(family, str) or not isinstance(values, dict):
        raise ConfigError("settings backup lacks its vendor, family or settings")
    if cells is not None and (not isinstance(cells, int) or isinstance(cells, bool)):
        raise ConfigError("settings backup has a bad cell_count")
    return BmsSettings(vendor, family, cells, {str(k): _number(str(k), v) for k, v in values.items()})


def restore_changes(table: SettingsTable, backup: BmsSettings, current: BmsSettings) -> dict[str, Number]:
    """The writable values of ``backup`` that differ from ``current``; refuses a backup of another kind of pack."""
    problems = [
        f"the backup is from {what} {theirs!r}, this pack is {ours!r}"
        for what, theirs, ours in (
            ("vendor", backup.vendor, current.vendor),
            ("family", backup.family, current.family),
            ("a pack with cell count", backup.cell_count, current.cell_count),
        )
        if theirs != ours
    ]
    if problems:
        raise SettingsRefused(problems)
    unknown = sorted(name for name in backup.values if not table.has(name))
    if unknown:
        raise SettingsRefused([f"the backup names settings this pack does not have: {', '.join(unknown)}"])
    changes: dict[str, Number] = {}
    for name, value in backup.values.items():
        spec = table.spec(name)
        if not spec.writable:
            continue
        now = current.values.get(name)
        if now is None or not spec.same(value, now):
            changes[name] = value
    return changes


def diff_lines(current: BmsSettings, changes: Mapping[str, Number], table: SettingsTable) -> list[str]:
    """``name: old → new unit`` for each change, in table order."""
    lines = []
    for spec in table.specs:
        if spec.name not in changes:
            continue
        unit = spec.word.unit
        old = current.values.get(spec.name)
        before = "?" if old is None else format_value(old)
        new = changes[spec.name]
        suffix = f" {unit}" if unit and not isinstance(new, bool) else ""
        lines.append(f"  {spec.name}: {before} -> {format_value(new)}{suffix}")
    return lines
