"""One coordinator per config entry: owns the link and the vendor session, polls every pack on it.

Data is ``{pack address: BmsSnapshot}`` for the packs that answered the last poll. A bus of several packs is read
through the library's :class:`~vendor_plugins.poller.BusPoller` (a pack that stopped answering is retried with
back-off and a short timeout, so it does not slow the others down). A pack that stops answering
makes only its own entities unavailable (logged once, and once again when it is back); when no pack answers the
refresh fails with a translated :class:`UpdateFailed`.

Listeners are not the coordinator's default "write every entity on every change": each pack's entities are
registered here and the new snapshot is dispatched per pack — an unchanged snapshot costs one comparison, a changed
one makes only the entities whose value changed write their state (see :mod:`.entity`). The fields are compared
through one precomputed getter per pack (rebuilt when its entities change), and a field whose value is the very same
object as before (a register the vendor session did not decode again) is not compared at all. Entities that depend on
time rather than on one field (the energy meters) are told about every poll and write only when their rounded
value changed.

The coordinator also keeps what the diagnostics download and the repairs need: one energy integrator per pack
(:mod:`vendor_plugins.energy`, fed with every reading), link statistics, the last raw frames, when each pack last
answered, and how many polls in a row failed. MOSFET writes go through :meth:`BmsCoordinator.async_set_switch`,
serialised with polling, verified by the library's read-back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from vendor_plugins.energy import EnergyIntegrator
from vendor_plugins.errors import BmsError
from vendor_plugins.model import BmsSnapshot, DeviceInfo, Switch
from vendor_plugins.plugin import LinkKind, Session, SessionOptions, VendorPlugin
from vendor_plugins.poller import BusPoller
from vendor_plugins.transports import Link

from . import repairs
from .const import (
    CONF_CONTROL,
    CONF_FAMILY,
    CONF_LINK,
    CONF_SCAN_INTERVAL,
    DEFAULT_SCAN_SECONDS,
    DOMAIN,
    ENERGY_MAX_GAP_POLLS,
    RAW_FRAMES_KEPT,
)

if TYPE_CHECKING:
    from . import BmsConfigEntry

_LOGGER = logging.getLogger(__package__)

type PackAddress = int | None
type BmsData = dict[PackAddress, BmsSnapshot]


class PackListener(Protocol):
    """What an entity offers the coordinator."""

    #: The snapshot field its value derives from.
    field: str

    def handle_snapshot(self, snapshot: BmsSnapshot | None, force: bool) -> None:
        """Take the pack's new snapshot (``None``: unavailable); write state if needed (always when ``force``)."""


def scan_interval(entry: ConfigEntry) -> timedelta:
    """The entry's poll interval: the user's option, else the default of its link kind."""
    seconds = entry.options.get(CONF_SCAN_INTERVAL)
    if seconds is None:
        seconds = DEFAULT_SCAN_SECONDS.get(str(entry.data.get(CONF_LINK)), 15)
    return timedelta(seconds=float(seconds))


class BmsCoordinator(DataUpdateCoordinator[BmsData]):
    """Polls the packs of one physical connection."""

    config_entry: BmsConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        plugin: VendorPlugin,
        link: Link,
        packs: Sequence[PackAddress],
    ) -> None:
        """Bind the vendor session to ``link``; nothing is read until the first refresh."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=scan_interval(entry),
        )
        self.plugin = plugin
        self.link = link
        #: Whether the user enabled control in the options flow (the library refuses writes otherwise).
        self.control_enabled = bool(entry.options.get(CONF_CONTROL, False))
        self.session: Session = plugin.open_session(
            link, SessionOptions(control_enabled=self.control_enabled, family=entry.data.get(CONF_FAMILY))
        )
        self.packs: tuple[PackAddress, ...] = tuple(packs)
        self.device_infos: dict[PackAddress, DeviceInfo] = {}
        self.errors: dict[PackAddress, str] = {}
        #: Each pack's first snapshot: what its entities are generated from (cells, temperatures, reported fields).
        self.first_snapshots: dict[PackAddress, BmsSnapshot] = {}
        #: Set once the platforms created their entities; a pack answering for the first time after that reloads.
        self.entities_created = False
        self._poller: BusPoller | None = None
        #: pack -> snapshot field -> entities whose value derives from that field.
        self._listeners_by_pack: dict[PackAddress, dict[str, list[PackListener]]] = {pack: {} for pack in self.packs}
        #: What each pack's entities were last given (``_STALE``: re-evaluate them on the next dispatch).
        self._published: dict[PackAddress, object] = dict.fromkeys(self.packs)
        #: pack -> (the values of its listened fields as one tuple, the listeners of each field in that order);
        #: built on the first dispatch after the pack's listeners changed.
        self._field_tables: dict[PackAddress, tuple[Callable[[object], tuple[Any, ...]], list[list[Any]]]] = {}
        #: pack -> entities told about every poll (time-dependent values: the energy meters).
        self._every_poll: dict[PackAddress, list[PackListener]] = {}
        #: Polling and control share the link: one sequence at a time (see :meth:`exclusive`).
        self._io_lock = asyncio.Lock()
        max_gap = ENERGY_MAX_GAP_POLLS * scan_interval(entry).total_seconds()
        #: Charged / discharged energy of each pack, integrated from every reading.
        self.energy: dict[PackAddress, EnergyIntegrator] = {pack: EnergyIntegrator(max_gap) for pack in self.packs}
        #: When each pack last answered (set to the start-up time until it does).
        now = dt_util.utcnow()
        self.last_seen: dict[PackAddress, datetime] = dict.fromkeys(self.packs, now)
        #: Polls in a row in which no pack answered, and the error of the last one.
        self.failed_polls = 0
        self.last_error: BmsError | None = None
        #: Repair issues this entry may have open (cleared when their condition is gone): the set-up ones at first,
        #: and a ``pack_missing`` per pack (one may survive a reload).
        self.open_issues: set[str] = {
            repairs.issue_id(kind, entry.entry_id) for kind in (repairs.SERIAL_PORT_MISSING, repairs.WRONG_VENDOR)
        } | {repairs.issue_id(repairs.PACK_MISSING, entry.entry_id, p) for p in self.packs if p is not None}
        #: Counters for the diagnostics download.
        self.stats: dict[str, Any] = {"polls": 0, "failed_polls": 0, "pack_errors": 0, "writes": 0, "write_errors": 0}
        #: The last raw frames on a byte link, both directions (diagnostics), as (time, "tx" | "rx", bytes).
        self.raw_frames: deque[tuple[float, str, bytes]] = deque(maxlen=RAW_FRAMES_KEPT)
        if hasattr(link, "tap") and getattr(link, "tap", None) is None:
            link.tap = self._record_raw

    def _record_raw(self, direction: str, data: bytes) -> None:
        self.raw_frames.append((dt_util.utcnow().timestamp(), direction, data))

    @property
    def link_kind(self) -> LinkKind:
        """The kind of the entry's connection."""
        return LinkKind(self.config_entry.data[CONF_LINK])

    # --- the link ------------------------------------------------------------------------------
    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Hold the link exclusively for the body: no poll and no control write interleaves with it.

        Polls, MOSFET writes (with their read-back) and anything else that talks on the link (the background bus
        check's probes) take turns, first come first served: the body's requests and replies are never mixed with
        another sequence's. Not re-entrant: do not enter it again inside the body.
        """
        async with self._io_lock:
            yield

    @property
    def exclusive_held(self) -> bool:
        """Whether someone holds the link through :meth:`exclusive` now (a poll would wait)."""
        return self._io_lock.locked()

    # --- reading -------------------------------------------------------------------------------
    async def _async_setup(self) -> None:
        """Ask every pack what it is (model, versions, serial) once; fail only when no pack answers.

        A pack silent now gets its entities when it first answers (the entry then reloads, see below).
        """
        error: BmsError | None = None
        for pack in self.packs:
            try:
                self.device_infos[pack] = await self.session.device_info(pack)
            except BmsError as err:
                error = err
        if not self.device_infos and error is not None:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_read_device_info",
                translation_placeholders={"where": self.link.description, "error": str(error)},
            ) from error

    async def _read_all(self) -> dict[PackAddress, BmsSnapshot | BmsError]:
        """One reading (or error) per pack: a bus through the library's poller (absent packs backed off)."""
        bus = [pack for pack in self.packs if pack is not None]
        if len(bus) == len(self.packs) and len(bus) > 1:
            if self._poller is None:
                self._poller = BusPoller(self.session, bus)
            polled = await self._poller.poll()
            return {address: result for address, result in polled.items()}
        results: dict[PackAddress, BmsSnapshot | BmsError] = {}
        for pack in self.packs:
            try:
                results[pack] = await self.session.read(pack)
            except BmsError as err:
                results[pack] = err
        return results

    async def _async_update_data(self) -> BmsData:
        """Read every pack; a pack that fails is left out (its entities go unavailable)."""
        data: BmsData = {}
        last_error: BmsError | None = None
        async with self.exclusive():
            results = await self._read_all()
        now = dt_util.utcnow()
        timestamp = now.timestamp()
        self.stats["polls"] += 1
        for pack, result in results.items():
            if isinstance(result, BmsError):
                last_error = result
                self.stats["pack_errors"] += 1
                if pack in self.energy:
                    self.energy[pack].gap()
                if pack not in self.errors:
                    _LOGGER.warning(
                        "%s: pack %s stopped answering: %s", self.link.description, _pack_label(pack), result
                    )
                self.errors[pack] = str(result)
                continue
            data[pack] = result
            self._ingest(pack, result, now, timestamp)
            if self.errors.pop(pack, None) is not None:
                _LOGGER.info("%s: pack %s answers again", self.link.description, _pack_label(pack))
            if pack not in self.first_snapshots:
                self.first_snapshots[pack] = result
                if self.entities_created:  # a pack absent at start-up: reload to create its entities
                    self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        if not data:
            self.failed_polls += 1
            self.stats["failed_polls"] += 1
            self.last_error = last_error
        else:
            self.failed_polls = 0
            self.last_error = None
        repairs.async_check(self, now)
        if not data:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_pack_answered",
                translation_placeholders={"where": self.link.description, "error": str(last_error)},
            )
        return data

    def _ingest(self, pack: PackAddress, snapshot: BmsSnapshot, now: datetime, timestamp: float) -> None:
        """Note a reading taken at ``now`` (``timestamp``): the pack was seen, its energy meters integrate the power."""
        self.last_seen[pack] = now
        meter = self.energy.get(pack)
        if meter is not None:
            meter.add(timestamp, snapshot.power)

    async def async_close(self) -> None:
        """Close the link (unload)."""
        await self.link.close()

    # --- control -------------------------------------------------------------------------------
    async def async_set_switch(self, pack: PackAddress, switch: Switch, on: bool) -> None:
        """Set a MOSFET through the library's verified path; the confirmed reading becomes the pack's data.

        Raises the library's error (:class:`~vendor_plugins.errors.ControlRefused`,
        :class:`~vendor_plugins.errors.ControlNotConfirmed`, link errors) after reading the pack again, so every
        entity shows the real state, not the requested one.
        """
        self.stats["writes"] += 1
        async with self.exclusive():
            try:
                snapshot = await self.session.set_switch(pack, switch, on)
            except BmsError:
                self.stats["write_errors"] += 1
                try:
                    snapshot = await self.session.read(pack)
                except BmsError:
                    pass  # the pack's entities keep the last reading; the next poll settles it
                else:
                    self._apply(pack, snapshot)
                raise
        self._apply(pack, snapshot)

    @callback
    def _apply(self, pack: PackAddress, snapshot: BmsSnapshot) -> None:
        """Make ``snapshot`` the pack's current reading and dispatch it (changed values write state)."""
        now = dt_util.utcnow()
        self._ingest(pack, snapshot, now, now.timestamp())
        data = dict(self.data or {})
        data[pack] = snapshot
        self.async_set_updated_data(data)

    # --- dispatching -----------------------------------------------------------------------------
    @callback
    def async_add_pack_listener(
        self, pack: PackAddress, listener: PackListener, *, every_poll: bool = False
    ) -> CALLBACK_TYPE:
        """Register an entity of ``pack``; returns the function that unregisters it.

        ``every_poll`` entities get every snapshot (their value depends on time, not only on one field).
        """
        if every_poll:
            polled = self._every_poll.setdefault(pack, [])
            polled.append(listener)
            remove_polled = self.async_add_listener(_noop)

            @callback
            def remove_every_poll() -> None:
                polled.remove(listener)
                remove_polled()

            return remove_every_poll
        by_field = self._listeners_by_pack.setdefault(pack, {})
        current = self.snapshot(pack)
        if not by_field:
            self._published[pack] = current
        elif self._published.get(pack) is not current:
            self._published[pack] = _STALE  # entities of this pack started from different snapshots
        listeners = by_field.setdefault(listener.field, [])
        listeners.append(listener)
        self._field_tables.pop(pack, None)
        # The base class schedules the next poll only while it has listeners: count ours in.
        remove_base = self.async_add_listener(_noop)

        @callback
        def remove() -> None:
            listeners.remove(listener)
            if not listeners:
                del by_field[listener.field]
            self._field_tables.pop(pack, None)
            remove_base()

        return remove

    def snapshot(self, pack: PackAddress) -> BmsSnapshot | None:
        """The pack's current snapshot, ``None`` while it is unavailable."""
        if not self.last_update_success or self.data is None:
            return None
        return self.data.get(pack)

    @callback
    def async_update_listeners(self) -> None:
        """Dispatch per pack and per snapshot field: only entities whose field changed look at their value.

        An entity then writes its state only if its own value changed; a change of availability makes every
        entity of the pack write.
        """
        published = self._published
        for pack, polled in self._every_poll.items():
            snapshot = self.snapshot(pack)
            for listener in polled:
                listener.handle_snapshot(snapshot, False)
        for pack, by_field in self._listeners_by_pack.items():
            new = self.snapshot(pack)
            old = published.get(pack)
            if new is old:
                continue
            published[pack] = new
            if new is None or old is None or old is _STALE:
                force = (new is None) != (old is None)
                for listeners in by_field.values():
                    for listener in listeners:
                        listener.handle_snapshot(new, force)
                continue
            table = self._field_tables.get(pack)
            if table is None:
                if not by_field:
                    continue
                table = self._field_tables[pack] = (_values_of(tuple(by_field)), list(by_field.values()))
            values, listener_lists = table
            # One C-level read of every listened field of each snapshot; a field whose value is the very same object
            # (a register the session did not decode again) needs no comparison.
            for listeners, new_value, old_value in zip(listener_lists, values(new), values(old), strict=True):
                if new_value is not old_value and new_value != old_value:
                    for listener in listeners:
                        listener.handle_snapshot(new, False)


_STALE = object()


def _values_of(fields: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """A function returning the values of ``fields`` of a snapshot, as a tuple in that order."""
    if len(fields) == 1:
        single = attrgetter(fields[0])
        return lambda snapshot: (single(snapshot),)
    return attrgetter(*fields)


def _noop() -> None:
    """Placeholder listener (keeps the base class's polling schedule alive)."""


def _pack_label(pack: PackAddress) -> str:
    return "default" if pack is None else str(pack)


__all__ = ["BmsCoordinator", "BmsData", "PackAddress", "PackListener", "scan_interval"]
