"""Repair issues for persistent conditions, and the flows that fix the ones Home Assistant can fix.

Which issues exist and how they are fixed is here (Home Assistant's ``repairs`` platform); when they are raised and
cleared after each poll is decided by :class:`~.repair_watch.RepairWatch`, which follows the polls.

* ``serial_port_missing`` — the entry's serial port (a serial link, or Modbus RTU on a serial port) does not exist
  (adapter unplugged or renamed): raised at set-up or after :data:`~.const.REPAIR_AFTER_FAILURES` failed polls; the
  user plugs the adapter back in or points the entry at the new port with *Reconfigure*. Not fixable here.
* ``wrong_vendor`` — the device does not answer the configured vendor's protocol but another plugin's read-only
  probe gets an answer: fixable (the entry switches to the vendor that answered and reloads).
* ``pack_missing`` — a pack of a bus has not answered for :data:`~.const.PACK_MISSING_AFTER`: fixable (the pack
  leaves the entry and its device is removed — the stale-device path). The clock survives a restart
  (:class:`~.repair_watch.PackClock`).

Every issue is deleted as soon as its condition is gone (a successful read, the port back) and when the entry is
removed.
"""

from __future__ import annotations

import os
from typing import Any

import probatio as vol
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir

from .bus_growth import without_pack
from .connection import serial_device
from .const import CONF_DEVICE, CONF_FAMILY, CONF_VENDOR, DOMAIN, PACK_MISSING_AFTER

SERIAL_PORT_MISSING = "serial_port_missing"
WRONG_VENDOR = "wrong_vendor"
PACK_MISSING = "pack_missing"


def issue_id(kind: str, entry_id: str, pack: int | None = None) -> str:
    """The id of one issue of one entry (and pack)."""
    return f"{kind}_{entry_id}" if pack is None else f"{kind}_{entry_id}_{pack}"


def serial_port_missing(data: Any) -> bool:
    """Whether ``data`` uses a serial port (serial link, Modbus RTU) whose device path does not exist."""
    device = serial_device(data)
    return device is not None and not os.path.exists(device)


@callback
def async_port_check(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Raise or clear ``serial_port_missing`` for ``entry`` from what the file system says now."""
    ident = issue_id(SERIAL_PORT_MISSING, entry.entry_id)
    if serial_port_missing(entry.data):
        ir.async_create_issue(
            hass,
            DOMAIN,
            ident,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=SERIAL_PORT_MISSING,
            translation_placeholders={"title": entry.title, "device": str(entry.data.get(CONF_DEVICE))},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, ident)


@callback
def async_pack_missing(hass: HomeAssistant, entry: ConfigEntry, pack: int) -> None:
    """Raise ``pack_missing`` for ``pack``: silent on its bus for :data:`~.const.PACK_MISSING_AFTER`."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(PACK_MISSING, entry.entry_id, pack),
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=PACK_MISSING,
        translation_placeholders={
            "title": entry.title,
            "pack": str(pack),
            "hours": f"{PACK_MISSING_AFTER.total_seconds() / 3600:g}",
        },
        data={"entry_id": entry.entry_id, "pack": pack},
    )


@callback
def async_wrong_vendor(hass: HomeAssistant, entry: ConfigEntry, detected: str, detected_title: str) -> None:
    """Raise ``wrong_vendor``: the configured plugin gets no answer, ``detected`` does."""
    configured = str(entry.data.get(CONF_VENDOR))
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(WRONG_VENDOR, entry.entry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=WRONG_VENDOR,
        translation_placeholders={"title": entry.title, "vendor": configured, "detected": detected_title},
        data={"entry_id": entry.entry_id, "vendor": detected},
    )


def has_issue(hass: HomeAssistant, ident: str) -> bool:
    """Whether the issue ``ident`` of this integration exists."""
    return ir.async_get(hass).async_get_issue(DOMAIN, ident) is not None


@callback
def async_delete(hass: HomeAssistant, ident: str) -> None:
    """Delete the issue ``ident`` of this integration (no-op when absent)."""
    ir.async_delete_issue(hass, DOMAIN, ident)


@callback
def async_clear_all(hass: HomeAssistant, entry_id: str) -> None:
    """Delete every issue of an entry (it was removed)."""
    registry = ir.async_get(hass)
    for (domain, ident), _issue in list(registry.issues.items()):
        if domain == DOMAIN and entry_id in ident:
            ir.async_delete_issue(hass, DOMAIN, ident)


class _ConfirmFlow(RepairsFlow):
    """Confirm, then apply the fix to the entry named in the issue's data."""

    def __init__(self, issue: str, data: dict[str, Any]) -> None:
        """Remember which issue and entry this fixes."""
        self._issue = issue
        self._data = data

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Go straight to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Show what will change; apply it when confirmed."""
        entry = self.hass.config_entries.async_get_entry(str(self._data.get("entry_id")))
        if entry is None:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue)
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            await self._async_fix(entry)
            ir.async_delete_issue(self.hass, DOMAIN, self._issue)
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self._issue)
        placeholders = dict(issue.translation_placeholders or {}) if issue else {}
        return self.async_show_form(
            step_id="confirm", data_schema=vol.Schema({}), description_placeholders=placeholders
        )

    async def _async_fix(self, entry: ConfigEntry) -> None:
        raise NotImplementedError


class WrongVendorFlow(_ConfirmFlow):
    """Switch the entry to the vendor whose probe answered."""

    async def _async_fix(self, entry: ConfigEntry) -> None:
        data = {**entry.data, CONF_VENDOR: self._data["vendor"], CONF_FAMILY: None}
        self.hass.config_entries.async_update_entry(entry, data=data)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)


class PackMissingFlow(_ConfirmFlow):
    """Remove a pack that left the bus: from the entry's packs and from the device registry."""

    async def _async_fix(self, entry: ConfigEntry) -> None:
        await async_remove_pack(self.hass, entry, int(self._data["pack"]))


async def async_remove_pack(hass: HomeAssistant, entry: ConfigEntry, pack: int) -> None:
    """Drop ``pack`` from ``entry`` (its device and entities go with it) and reload the entry.

    The address is remembered as removed by the user: the background bus check (:mod:`.bus_growth`) never re-adds it.
    """
    hass.config_entries.async_update_entry(entry, data=without_pack(entry.data, pack))
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier((DOMAIN, f"{entry.unique_id}_{pack}"), entry.entry_id)
    if device is not None:
        devices.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, issue_id(PACK_MISSING, entry.entry_id, pack))
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_create_fix_flow(hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None) -> RepairsFlow:
    """The flow fixing ``issue_id`` (Home Assistant calls this for fixable issues)."""
    data = data or {}
    if issue_id.startswith(WRONG_VENDOR):
        return WrongVendorFlow(issue_id, data)
    return PackMissingFlow(issue_id, data)
