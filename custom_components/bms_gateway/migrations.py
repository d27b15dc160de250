"""Registry migrations: when an entry's connection moves, its entities and devices follow.

Entity unique ids and device identifiers start with the connection's unique id (:func:`.connection.unique_id`).
Reconfiguring an entry to another host/port or serial port changes that id; the registry entries are renamed in
place, not recreated, so history, customisations and automations keep working.

Device names carry no connection (:mod:`.entity`): moving the connection renames no device; the bus device's model
line, which says where the bus is connected, is rewritten when the entry sets up again. Entries made by versions
that named devices by their address (``Acme 192.168.1.50:4196``) need no migration step: set-up gives their devices
the new names (a name the user gave wins) and removes a single pack's empty bridge device; their entity ids stay
as they are, because Home Assistant keeps entity ids in its entity registry and derives them from the device name
only when an entity is first registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .connection import describe, unique_id
from .const import DOMAIN


@callback
def async_move_connection(hass: HomeAssistant, entry: ConfigEntry, data: Mapping[str, Any]) -> dict[str, Any]:
    """``entry`` now connects as ``data`` says: move its registry ids; the entry's new unique id, title and data.

    A title that ends with where the connection went (the default title) ends with where it goes now.
    """
    new_id = unique_id(data)
    async_migrate_connection_ids(hass, entry, str(entry.unique_id), new_id)
    title, old_where = entry.title, describe(entry.data)
    if title.endswith(old_where):
        title = title[: -len(old_where)] + describe(data)
    return {"unique_id": new_id, "title": title, "data": dict(data)}


@callback
def async_migrate_connection_ids(hass: HomeAssistant, entry: ConfigEntry, old: str, new: str) -> None:
    """Move ``entry``'s entity unique ids and device identifiers from the connection id ``old`` to ``new``."""
    if old == new:
        return
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id.startswith(old):
            entities.async_update_entity(entity.entity_id, new_unique_id=new + entity.unique_id[len(old) :])
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        identifiers = {
            (domain, new + ident[len(old) :]) if domain == DOMAIN and ident.startswith(old) else (domain, ident)
            for domain, ident in device.identifiers
        }
        devices.async_update_device(device.id, new_identifiers=identifiers)
