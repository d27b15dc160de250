"""Repair issues for persistent conditions, and the flows that fix the ones Home Assistant can fix.

* ``serial_port_missing`` — the entry's serial port (a serial link, or Modbus RTU on a serial port) does not exist
  (adapter unplugged or renamed): raised at set-up or after :data:`~.const.REPAIR_AFTER_FAILURES` failed polls; the
  user plugs the adapter back in or points the entry at the new port with *Reconfigure*. Not fixable here.
* ``wrong_vendor`` — the device does not answer the configured vendor's protocol but another plugin's read-only
  probe gets an answer: fixable (the entry switches to the vendor that answered and reloads).
* ``pack_missing`` — a pack of a bus has not answered for :data:`~.const.PACK_MISSING_AFTER`: fixable (the pack
  leaves the entry and its device is removed — the stale-device path). The clock survives a restart: when each pack
  last answered is stored per entry (:class:`PackClock`), written rarely — on unload and on Home Assistant's stop,
  and every :data:`CLOCK_SAVE_EVERY` only when the silent packs' times are not what is stored (not on every poll).

Every issue is deleted as soon as its condition is gone (a successful read, the port back) and when the entry is
removed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import probatio as vol
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .bus_growth import without_pack
from .connection import serial_device
from .const import (
    CONF_DEVICE,
    CONF_FAMILY,
    CONF_VENDOR,
    DOMAIN,
    PACK_MISSING_AFTER,
    REPAIR_AFTER_FAILURES,
)

if TYPE_CHECKING:
    from .coordinator import BmsCoordinator

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
def async_check(coordinator: BmsCoordinator, now: datetime) -> None:
    """After each poll: raise the issues whose condition persists, clear the ones that are gone.

    Cheap when nothing is wrong: only issues this entry may have open (``coordinator.open_issues``) are touched.
    """
    hass, entry = coordinator.hass, coordinator.config_entry
    open_issues = coordinator.open_issues
    if coordinator.failed_polls == 0:
        for kind in (SERIAL_PORT_MISSING, WRONG_VENDOR):
            ident = issue_id(kind, entry.entry_id)
            if ident in open_issues:
                open_issues.discard(ident)
                ir.async_delete_issue(hass, DOMAIN, ident)
    elif coordinator.failed_polls >= REPAIR_AFTER_FAILURES:
        async_port_check(hass, entry)
        open_issues.add(issue_id(SERIAL_PORT_MISSING, entry.entry_id))
    if len(coordinator.packs) < 2 or (not coordinator.errors and not open_issues):
        return  # a single pack that is gone is the connection's problem, not a stale pack
    for pack in coordinator.packs:
        if pack is None:
            continue
        ident = issue_id(PACK_MISSING, entry.entry_id, pack)
        silent = pack in coordinator.errors and now - coordinator.last_seen[pack] >= PACK_MISSING_AFTER
        if silent and coordinator.failed_polls == 0:  # the others answer: this pack left the bus
            open_issues.add(ident)
            ir.async_create_issue(
                hass,
                DOMAIN,
                ident,
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
        elif not silent and ident in open_issues:
            open_issues.discard(ident)
            ir.async_delete_issue(hass, DOMAIN, ident)


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
    device = devices.async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_{pack}")})
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


#: Version of the stored pack clock (``{pack address: ISO time it last answered}`` per entry).
CLOCK_STORAGE_VERSION: Final = 1
#: How often a pack clock with a silent pack is checked for an unsaved time (a crash loses at most this much).
CLOCK_SAVE_EVERY: Final = timedelta(minutes=15)


class PackClock:
    """When each pack of a bus entry last answered (``coordinator.last_seen``), kept across restarts.

    Without it the ``pack_missing`` clock starts again at every start-up, and a pack that left the bus is never
    reported by a Home Assistant restarted more often than :data:`~.const.PACK_MISSING_AFTER`. Storage is written
    only when it matters: every pack's time on unload and on Home Assistant's stop, and every
    :data:`CLOCK_SAVE_EVERY` the silent packs' times, only if that is not what is stored (so a crash loses at most
    one period; while nothing changes, nothing is written).
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """The clock of the entry ``entry_id`` (one small storage file per entry)."""
        self.hass = hass
        self._store: Store[dict[str, str]] = Store(hass, CLOCK_STORAGE_VERSION, f"{DOMAIN}.pack_clock.{entry_id}")
        self._saved: dict[str, str] = {}
        self._coordinator: BmsCoordinator | None = None
        self._entry: ConfigEntry | None = None
        #: Writes so far (tests, diagnostics).
        self.writes = 0

    async def async_restore(self, coordinator: BmsCoordinator) -> None:
        """Load the stored times into ``coordinator.last_seen`` (before its first poll; only older times win)."""
        self._coordinator = coordinator
        stored = await self._store.async_load() or {}
        self._saved = dict(stored)
        restored: dict[int | None, datetime] = {}
        for key, value in stored.items():
            when = dt_util.parse_datetime(value)
            try:
                pack: int | None = int(key)
            except ValueError:
                continue
            current = coordinator.last_seen.get(pack)
            if when is not None and current is not None and when < current:
                restored[pack] = when
        coordinator.last_seen.update(restored)

    def _current(self) -> dict[str, str]:
        assert self._coordinator is not None
        return {str(p): t.isoformat() for p, t in self._coordinator.last_seen.items() if p is not None}

    @callback
    def async_start(self, entry: ConfigEntry) -> None:
        """Save periodically (only when needed) and on Home Assistant's stop and the entry's unload."""
        self._entry = entry

        async def _save_on_stop(_event: Event) -> None:
            await self.async_save()

        entry.async_on_unload(async_track_time_interval(self.hass, self._async_periodic, CLOCK_SAVE_EVERY))
        entry.async_on_unload(self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _save_on_stop))
        entry.async_on_unload(self.async_save)

    @callback
    def _async_periodic(self, _now: datetime) -> None:
        """Store the silent packs' times when they are not what is stored (what a crash must not lose).

        Only the silent packs are written: an answering pack needs no stored time (after a crash its clock starts
        at the start-up time), and a stale time of a pack that came back must not survive a crash either.
        """
        assert self._coordinator is not None
        assert self._entry is not None
        current = self._current()
        silent = {str(p) for p in self._coordinator.errors if p is not None}
        wanted = {p: when for p, when in current.items() if p in silent}
        if wanted != self._saved:
            self._entry.async_create_task(self.hass, self._async_write(wanted), "save the pack clock")

    async def async_save(self) -> None:
        """Store every pack's time (unload, stop) unless the stored ones are the same."""
        if self._coordinator is not None:
            await self._async_write(self._current())

    async def _async_write(self, data: dict[str, str]) -> None:
        if data == self._saved:
            return
        self._saved = data
        self.writes += 1
        await self._store.async_save(data)

    async def async_remove(self) -> None:
        """Delete the stored clock (the entry was removed)."""
        await self._store.async_remove()
