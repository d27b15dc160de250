"""Shared set-up of the battery-bank tests: member entries with fixed ids and titles, bank entries, bank entities.

Entities are looked up through the entity registry by unique id (``bank_<entry id>_<key>``), never by entity id:
device names (and so entity ids) may change.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.bank_config import CONF_BANK, CONF_MEMBERS, CONF_MODE, CONF_POLICY, CONF_SWITCHES
from custom_components.bms_gateway.bank_hub import BankHub
from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import CONF_SCAN_NEW_PACKS, DOMAIN
from vendor_plugins.sim import SimServer

BANK_ID = "bank0000000000000000000000"


def jbd_tcp_entry(server: SimServer, *, entry_id: str, title: str, **options: Any) -> MockConfigEntry:
    """A JBD pack behind a TCP bridge, with a fixed entry id and title (stable snapshots and names)."""
    data = {"link": "tcp", "host": server.host, "port": server.port, "vendor": "jbd", "family": "jbd", "packs": [None]}
    return MockConfigEntry(
        domain=DOMAIN, data=data, unique_id=unique_id(data), title=title, entry_id=entry_id, options=options
    )


def jbd_ble_entry(address: str, *, entry_id: str, title: str) -> MockConfigEntry:
    """A JBD pack over Bluetooth, with a fixed entry id and title."""
    data = {"link": "ble", "address": address, "vendor": "jbd", "packs": [None]}
    return MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=title, entry_id=entry_id)


def pace_tcp_entry(server: SimServer, packs: list[int], *, entry_id: str, title: str) -> MockConfigEntry:
    """PACE packs (ASCII protocol) on a simulated bus behind a TCP bridge, with a fixed entry id and title.

    The background search for new packs is off: its probes would wait for a timeout the frozen clock of the tests
    that move time never lets pass (and it has nothing to do with banks).
    """
    data = {"link": "tcp", "host": server.host, "port": server.port, "vendor": "pace", "family": "ascii-25"}
    data["packs"] = packs
    return MockConfigEntry(
        domain=DOMAIN,
        data=data,
        unique_id=unique_id(data),
        title=title,
        entry_id=entry_id,
        options={CONF_SCAN_NEW_PACKS: False},
    )


def bank_entry(
    members: list[str],
    *,
    mode: str = "parallel",
    policy: str = "all",
    switches: bool = False,
    title: str = "House battery",
    entry_id: str = BANK_ID,
) -> MockConfigEntry:
    """A bank entry of ``members`` (member keys: ``entry_id`` or ``entry_id:address``)."""
    return MockConfigEntry(
        domain=DOMAIN,
        data={CONF_BANK: True},
        options={CONF_MEMBERS: members, CONF_MODE: mode, CONF_POLICY: policy, CONF_SWITCHES: switches},
        title=title,
        entry_id=entry_id,
    )


def hub(entry: MockConfigEntry) -> BankHub:
    """The bank entry's runtime."""
    runtime: BankHub = entry.runtime_data
    return runtime


def bank_entity_id(hass: HomeAssistant, key: str, platform: str = "sensor", bank_id: str = BANK_ID) -> str | None:
    """The entity id of the bank entity ``key`` (``None``: not registered)."""
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"bank_{bank_id}_{key}")


def bank_state(hass: HomeAssistant, key: str, platform: str = "sensor", bank_id: str = BANK_ID) -> State:
    """The state of the bank entity ``key`` (asserting it exists)."""
    entity_id = bank_entity_id(hass, key, platform, bank_id)
    assert entity_id is not None, key
    state = hass.states.get(entity_id)
    assert state is not None, key
    return state


def device_name(hass: HomeAssistant, entry: MockConfigEntry, pack: int | None) -> str:
    """The name of a member pack's device (what the bank's attributes and messages call it)."""
    uid = str(entry.unique_id) if pack is None else f"{entry.unique_id}_{pack}"
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, uid)})
    assert device is not None, uid
    return str(device.name_by_user or device.name)


def pack_state(
    hass: HomeAssistant, entry: MockConfigEntry, pack: int | None, key: str, platform: str = "sensor"
) -> str:
    """The state of a member pack's entity ``key`` (by the pack's unique id)."""
    uid = str(entry.unique_id) if pack is None else f"{entry.unique_id}_{pack}"
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{uid}_{key}")
    assert entity_id is not None, key
    state = hass.states.get(entity_id)
    assert state is not None, key
    return state.state
