"""Home Assistant MQTT discovery payloads, generated from the library's entity catalog.

Every entity of a pack (:mod:`vendor_plugins.entity_catalog`: the same keys, names, device classes, units, state
classes, categories and precisions as the Home Assistant integration) becomes one retained config message on
``<discovery_prefix>/<component>/<node>/<pack>_<key>/config``. Each entity is available while both the gateway
(``…/status``, its last will) and its pack (``…/<pack>/availability``) are ``online``. States are plain text:
numbers as Python prints them, ``ON`` / ``OFF`` for flags, ``None`` for a value the pack did not report (Home
Assistant's MQTT platforms read ``None`` as unknown).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .. import __version__
from ..entity_catalog import EVENT_TYPES, EntitySpec
from ..entity_names import BINARY_SENSOR, EVENT, NUMBER, SWITCH
from ..model import DeviceInfo
from .topics import Topics

ON: Final = "ON"
OFF: Final = "OFF"
#: Home Assistant's MQTT platforms read this payload as "unknown".
NONE: Final = "None"
ORIGIN: Final = {"name": "bms-gateway", "support_url": "https://github.com/bms-gateway/bms-gateway"}


@dataclass(frozen=True, slots=True)
class PackIdentity:
    """What the discovery device of one pack shows."""

    pack: str
    name: str
    manufacturer: str
    device: DeviceInfo | None = None
    via: str | None = None


def state_text(value: Any) -> str:
    """An entity's state as published."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return ON if value else OFF
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def _plain(text: str | None, limit: int = 64) -> str | None:
    if text is None:
        return None
    cleaned = "".join(c for c in str(text) if c.isprintable()).strip()
    return cleaned[:limit] or None


def device_block(topics: Topics, identity: PackIdentity) -> dict[str, Any]:
    """The ``device`` of a pack's discovery payloads (what the pack says about itself, cleaned and bounded)."""
    info = identity.device
    block: dict[str, Any] = {
        "identifiers": [topics.unique_id(identity.pack)],
        "name": identity.name,
        "manufacturer": _plain(info.vendor) if info and info.vendor else identity.manufacturer,
    }
    if info is not None:
        for key, value in (
            ("model", info.model),
            ("hw_version", info.hardware_version),
            ("sw_version", info.software_version),
            ("serial_number", info.serial_number),
        ):
            text = _plain(value)
            if text:
                block[key] = text
    if identity.via:
        block["via_device"] = identity.via
    return block


def entity_config(
    topics: Topics,
    identity: PackIdentity,
    spec: EntitySpec,
    device: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The discovery payload of one entity."""
    pack = identity.pack
    config: dict[str, Any] = {
        "name": spec.name,
        "unique_id": topics.unique_id(pack, spec.key),
        "default_entity_id": f"{spec.platform}.{_object_id(identity.name, spec.name)}",
        "availability": [{"topic": topics.status}, {"topic": topics.availability(pack)}],
        "availability_mode": "all",
        "device": dict(device),
        "origin": ORIGIN,
    }
    if spec.platform == EVENT:
        config["state_topic"] = topics.events(pack)
        config["event_types"] = list(EVENT_TYPES)
    else:
        config["state_topic"] = topics.state(pack, spec.key)
    if spec.device_class is not None:
        config["device_class"] = spec.device_class
    if spec.unit is not None:
        config["unit_of_measurement"] = spec.unit
    if spec.state_class is not None:
        config["state_class"] = spec.state_class
    if spec.precision is not None:
        config["suggested_display_precision"] = spec.precision
    if spec.category is not None:
        config["entity_category"] = spec.category
    if not spec.enabled:
        config["enabled_by_default"] = False
    if spec.platform in (BINARY_SENSOR, SWITCH):
        config["payload_on"] = ON
        config["payload_off"] = OFF
    if spec.platform == SWITCH:
        config["command_topic"] = topics.command(pack, spec.key)
        config["state_on"] = ON
        config["state_off"] = OFF
        config["optimistic"] = False
    if spec.platform == NUMBER:
        config["command_topic"] = topics.command(pack, spec.key)
        config["optimistic"] = False
    if extra:
        config.update(extra)
    return config


def _object_id(*parts: str) -> str:
    text = "_".join(parts).lower()
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def discovery_messages(
    topics: Topics,
    identity: PackIdentity,
    specs: list[EntitySpec],
    extras: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """Topic → JSON payload of every entity of one pack (``extras``: more fields by key, e.g. a number's range)."""
    device = device_block(topics, identity)
    extras = extras or {}
    return {
        topics.discovery(spec.platform, identity.pack, spec.key): json.dumps(
            entity_config(topics, identity, spec, device, extras.get(spec.key)), separators=(",", ":")
        )
        for spec in specs
    }


#: The gateway device's own entity: whether the gateway is connected (its status topic and last will).
GATEWAY_STATUS_NAME: Final = "Status"


def gateway_device(topics: Topics) -> dict[str, Any]:
    """The device of the ``bmsgw serve`` instance itself; every pack's device is linked to it (``via_device``)."""
    return {
        "identifiers": [topics.node_id],
        "name": f"BMS gateway {topics.gateway_id}",
        "manufacturer": ORIGIN["name"],
        "model": "bmsgw serve",
        "sw_version": __version__,
    }


def gateway_messages(topics: Topics) -> dict[str, str]:
    """Topic → JSON payload of the gateway device's entities (its status as a connectivity sensor)."""
    config = {
        "name": GATEWAY_STATUS_NAME,
        "unique_id": topics.unique_id_gateway("status"),
        "default_entity_id": f"{BINARY_SENSOR}.{_object_id('BMS gateway', topics.gateway_id, 'status')}",
        "state_topic": topics.status,
        "payload_on": "online",
        "payload_off": "offline",
        "device_class": "connectivity",
        "entity_category": "diagnostic",
        "device": gateway_device(topics),
        "origin": ORIGIN,
    }
    return {topics.gateway_discovery(BINARY_SENSOR, "status"): json.dumps(config, separators=(",", ":"))}
