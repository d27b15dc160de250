"""Diagnostics download: the entry, each pack's identity and last reading, link statistics and the last raw frames.

Redacted: where the connection goes (host, serial device, Bluetooth address — also inside the unique id, the title
and the link description), serial numbers, and the same values wherever they appear inside raw frames (as bytes or
as the hex text some protocols carry — searched for over each direction's whole stream, so a serial number split
across two received pieces is caught too: see :mod:`.redaction`). A pack's bus address is not a secret and is kept.

Each pack's battery settings (protection thresholds and the like) are included as :mod:`.settings_cache` last read
them (see :mod:`.settings_diagnostics`: no I/O, so the raw frames stay those of the polls).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .bank_config import is_bank
from .bank_hub import hub_of
from .const import CONF_ADDRESS, CONF_DEVICE, CONF_HOST
from .coordinator import BmsConfigEntry
from .redaction import redact_traffic, scrub, secrets_of
from .settings_diagnostics import settings_section

TO_REDACT = {CONF_HOST, CONF_DEVICE, CONF_ADDRESS, "serial_number", "unique_id", "title"}
#: Redacted in what a pack says about itself: its serial number. Its ``address`` there is the bus address (which pack
#: is which), not where the connection goes: kept.
DEVICE_TO_REDACT = {"serial_number"}


def _secrets(entry: BmsConfigEntry) -> list[str]:
    """Values that identify the installation and must not appear anywhere in the output."""
    infos = entry.runtime_data.device_infos.values()
    return secrets_of(entry.data, (info.serial_number for info in infos))


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: BmsConfigEntry) -> dict[str, Any]:
    """Everything useful for a bug report, without addresses or serial numbers."""
    if is_bank(entry):  # a battery bank: its settings and state (member keys are entry ids, nothing to redact)
        return {"bank": hub_of(entry).diagnostics()}
    return diagnostics(entry)


def diagnostics(entry: BmsConfigEntry) -> dict[str, Any]:
    """The diagnostics document of a loaded entry (no I/O: what the coordinator already knows)."""
    coordinator = entry.runtime_data
    secrets = _secrets(entry)
    link = coordinator.link
    packs: dict[str, Any] = {}
    for pack in coordinator.packs:
        info = coordinator.device_infos.get(pack)
        snapshot = coordinator.snapshot(pack)
        packs[str(pack)] = {
            "device": async_redact_data(info.to_dict(), DEVICE_TO_REDACT) if info else None,
            "snapshot": snapshot.to_dict() if snapshot else None,
            "error": scrub(coordinator.errors[pack], secrets) if pack in coordinator.errors else None,
            "last_seen": coordinator.repairs.last_seen[pack].isoformat(),
            "energy": coordinator.energy.diagnostics(pack),
            "settings": settings_section(coordinator, pack),
        }
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
            "unique_id": REDACTED,
            "title": REDACTED,
        },
        "vendor": {
            "plugin": coordinator.plugin.name,
            "title": coordinator.plugin.title,
            "family": coordinator.session.family,
            "switches": sorted(str(s) for s in coordinator.plugin.capabilities.switches),
            "control_enabled": coordinator.control_enabled,
        },
        "link": {
            "kind": str(coordinator.link_kind),
            "description": scrub(link.description, secrets),
            "connected": link.connected,
            "timeout": link.timeout,
            "bytes_sent": link.bytes_sent,
            "bytes_received": link.bytes_received,
            "bytes_dropped": link.bytes_dropped,
        },
        "statistics": {
            **coordinator.stats,
            "failed_polls_in_a_row": coordinator.failed_polls,
            "last_update_success": coordinator.last_update_success,
            "update_interval": coordinator.update_interval.total_seconds() if coordinator.update_interval else None,
            "last_error": scrub(str(coordinator.last_error), secrets) if coordinator.last_error else None,
        },
        "raw_frames": redact_traffic(list(coordinator.raw_frames), secrets),
        "packs": packs,
    }
