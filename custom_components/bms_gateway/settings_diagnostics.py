"""The battery-settings part of the diagnostics download: each pack's settings as last read, without I/O.

The settings are what :mod:`.settings_cache` last read for the pack's enabled setting entities (at most every few
minutes and after each write), with when they were read. Downloading the diagnostics reads nothing: a settings read
is a sequence of its own on the link (for some protocols inside a configuration mode) and would push the polls'
raw frames — the most useful part of a bug report — out of the download. Settings hold no address or serial
number: nothing in them needs redacting.
"""

from __future__ import annotations

from typing import Any

from vendor_plugins.errors import SettingsUnsupported

from .coordinator import BmsCoordinator, PackAddress
from .settings_cache import cache_for


def settings_section(coordinator: BmsCoordinator, pack: PackAddress) -> dict[str, Any]:
    """The ``settings`` of one pack in the diagnostics document (``read`` is ``None`` until something read them)."""
    try:
        table = coordinator.session.settings_table(pack)
    except SettingsUnsupported:
        return {"supported": False}
    return {
        "supported": True,
        "family": table.family,
        "writable": sorted(spec.name for spec in table.specs if spec.writable),
        "soc_settable": coordinator.session.soc_unsupported_reason() is None,
        "read": cache_for(coordinator).diagnostics(pack),
    }
