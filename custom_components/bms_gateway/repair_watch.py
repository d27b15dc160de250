"""When this entry's repair issues are raised and cleared: a poll listener that owns its state.

:class:`RepairWatch` follows the coordinator's polls (:class:`~.poll.PollListener`) and keeps what it decides from:
the issues this entry may have open, when each pack last answered (the ``pack_missing`` clocks) and which packs were
silent in the last poll. After each poll it raises the issues whose condition persists and clears the ones that
are gone (the issues themselves and their fixes are in :mod:`.repairs`):

* ``serial_port_missing`` after :data:`~.const.REPAIR_AFTER_FAILURES` polls in a row without an answer, if the
  port's device path is gone; cleared, like ``wrong_vendor``, by the first poll some pack answers;
* ``pack_missing`` for a pack of a bus silent for :data:`~.const.PACK_MISSING_AFTER` while the others answer;
  cleared when it answers again.

The clocks survive a restart: on a bus entry, :class:`PackClock` stores when each pack last answered, written
rarely — on unload and on Home Assistant's stop, and every :data:`CLOCK_SAVE_EVERY` only when the silent packs'
times are not what is stored (not on every poll).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from vendor_plugins.errors import BmsError

from .const import DOMAIN, PACK_MISSING_AFTER, REPAIR_AFTER_FAILURES
from .poll import PackAddress, Poll
from .repairs import (
    PACK_MISSING,
    SERIAL_PORT_MISSING,
    WRONG_VENDOR,
    async_pack_missing,
    async_port_check,
    issue_id,
)

#: Version of the stored pack clock (``{pack address: ISO time it last answered}`` per entry).
CLOCK_STORAGE_VERSION: Final = 1
#: How often a pack clock with a silent pack is checked for an unsaved time (a crash loses at most this much).
CLOCK_SAVE_EVERY: Final = timedelta(minutes=15)


class RepairWatch:
    """Raises and clears one entry's repair issues from its poll results (see the module docstring)."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, packs: Iterable[PackAddress]) -> None:
        """Watch the packs ``packs`` of ``entry``; every clock starts now (see :meth:`async_restore`)."""
        self.hass = hass
        self.entry = entry
        self.packs = tuple(packs)
        #: When each pack last answered (set to the start-up time until it does).
        self.last_seen: dict[PackAddress, datetime] = dict.fromkeys(self.packs, dt_util.utcnow())
        #: The packs that did not answer the last poll.
        self.silent: Mapping[PackAddress, BmsError] = {}
        self._setup_issues = tuple(issue_id(kind, entry.entry_id) for kind in (SERIAL_PORT_MISSING, WRONG_VENDOR))
        self._pack_issues = {p: issue_id(PACK_MISSING, entry.entry_id, p) for p in self.packs if p is not None}
        #: Issues this entry may have open (cleared when their condition is gone): the set-up ones at first, and a
        #: ``pack_missing`` per pack (one may survive a reload).
        self.open_issues: set[str] = {*self._setup_issues, *self._pack_issues.values()}
        #: The stored clocks of a bus entry (a single pack that is gone is the connection's problem, not a stale pack).
        self.clock = PackClock(hass, entry, self) if self._pack_issues else None

    async def async_restore(self) -> None:
        """Take the stored clocks (before the first poll: a pack that answers is seen now)."""
        if self.clock is not None:
            await self.clock.async_restore()

    @callback
    def async_start(self) -> None:
        """Store the clocks from now on, until the entry unloads."""
        if self.clock is not None:
            self.clock.async_start()

    @callback
    def poll_done(self, poll: Poll) -> None:
        """Note who answered; after a poll, raise the issues whose condition persists and clear the gone ones."""
        last_seen = self.last_seen
        for pack in poll.readings:
            last_seen[pack] = poll.time
        if poll.every_pack:
            self.silent = poll.errors
            if poll.errors or poll.failed_in_a_row or self.open_issues:  # else nothing is or was wrong
                self._async_check(poll)

    @callback
    def _async_check(self, poll: Poll) -> None:
        """Cheap when nothing is wrong: only issues this entry may have open are touched."""
        hass, entry, open_issues = self.hass, self.entry, self.open_issues
        if poll.failed_in_a_row == 0:
            for ident in self._setup_issues:
                if ident in open_issues:
                    open_issues.discard(ident)
                    ir.async_delete_issue(hass, DOMAIN, ident)
        elif poll.failed_in_a_row >= REPAIR_AFTER_FAILURES:
            async_port_check(hass, entry)
            open_issues.add(self._setup_issues[0])
        silent = poll.errors
        if len(self.packs) < 2 or (not silent and not open_issues):
            return
        for pack, ident in self._pack_issues.items():
            missing = pack in silent and poll.time - self.last_seen[pack] >= PACK_MISSING_AFTER
            if missing and poll.failed_in_a_row == 0:  # the others answer: this pack left the bus
                open_issues.add(ident)
                async_pack_missing(hass, entry, pack)
            elif not missing and ident in open_issues:
                open_issues.discard(ident)
                ir.async_delete_issue(hass, DOMAIN, ident)


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, str]]:
    """The storage of one entry's pack clock (one small file per entry)."""
    return Store(hass, CLOCK_STORAGE_VERSION, f"{DOMAIN}.pack_clock.{entry_id}")


class PackClock:
    """When each pack of a bus entry last answered (the watch's ``last_seen``), kept across restarts.

    Without it the ``pack_missing`` clock starts again at every start-up, and a pack that left the bus is never
    reported by a Home Assistant restarted more often than :data:`~.const.PACK_MISSING_AFTER`. Storage is written
    only when it matters: every pack's time on unload and on Home Assistant's stop, and every
    :data:`CLOCK_SAVE_EVERY` the silent packs' times, only if that is not what is stored (so a crash loses at most
    one period; while nothing changes, nothing is written).
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, watch: RepairWatch) -> None:
        """The stored clock of ``watch``, the watch of ``entry``."""
        self.hass = hass
        self._entry = entry
        self._store = _store(hass, entry.entry_id)
        self._saved: dict[str, str] = {}
        self._watch = watch
        self._started = False
        #: Writes so far (tests, diagnostics).
        self.writes = 0

    async def async_restore(self) -> None:
        """Load the stored times into the watch's ``last_seen`` (only older times win)."""
        last_seen = self._watch.last_seen
        stored = await self._store.async_load() or {}
        self._saved = dict(stored)
        restored: dict[PackAddress, datetime] = {}
        for key, value in stored.items():
            when = dt_util.parse_datetime(value)
            try:
                pack: int | None = int(key)
            except ValueError:
                continue
            current = last_seen.get(pack)
            if when is not None and current is not None and when < current:
                restored[pack] = when
        last_seen.update(restored)
        self._started = True

    def _current(self) -> dict[str, str]:
        return {str(p): t.isoformat() for p, t in self._watch.last_seen.items() if p is not None}

    @callback
    def async_start(self) -> None:
        """Save periodically (only when needed) and on Home Assistant's stop and the entry's unload."""
        entry = self._entry

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
        current = self._current()
        silent = {str(p) for p in self._watch.silent if p is not None}
        wanted = {p: when for p, when in current.items() if p in silent}
        if wanted != self._saved:
            self._entry.async_create_task(self.hass, self._async_write(wanted), "save the pack clock")

    async def async_save(self) -> None:
        """Store every pack's time (unload, stop) unless the stored ones are the same."""
        if self._started:
            await self._async_write(self._current())

    async def _async_write(self, data: dict[str, str]) -> None:
        if data == self._saved:
            return
        self._saved = data
        self.writes += 1
        await self._store.async_save(data)


async def async_remove_clock(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the stored clock of the entry ``entry_id`` (the entry was removed)."""
    await _store(hass, entry_id).async_remove()


__all__ = ["CLOCK_SAVE_EVERY", "CLOCK_STORAGE_VERSION", "PackClock", "RepairWatch", "async_remove_clock"]
