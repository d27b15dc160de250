"""One coordinator per config entry: owns the link and the vendor session, polls every pack on it.

Data is ``{pack address: BmsSnapshot}`` for the packs that answered the last poll. The packs are read through the
library's one pack reader, :class:`~vendor_plugins.reader.PackReader` (a bus of several packs through its
``BusPoller``: a pack that stopped answering is retried with back-off and a short timeout, so it does not slow the
others down); what each pack is (model, versions, serial) is asked once, at set-up. A pack that stops answering
makes only its own entities unavailable (logged once, and once again when it is back); when no pack answers the
refresh fails with a translated :class:`UpdateFailed`.

After each poll the coordinator tells, in this order:

* its poll listeners (:class:`~.poll.PollListener`, each owning its state): the energy meters (:attr:`energy`), the
  repair issues (:attr:`repairs`) and, on a bus, the background check for new packs;
* its entities, through Home Assistant's listeners routed by :class:`~.dispatch.ChangedFieldDispatcher`: an
  unchanged snapshot costs one comparison per field, a changed one tells only the entities whose field changed.

It also keeps what the diagnostics download needs: link statistics, the last raw frames on the link (its ``tap``)
and the error of each pack that is silent. MOSFET writes go through :meth:`BmsCoordinator.async_set_switch`,
serialised with polling, verified by the library's read-back.

Closing (unload, reload, Home Assistant stopping) is final: every sequence on the link runs as its own task, which
:meth:`BmsCoordinator.async_close` cancels before it closes the link, and nothing new starts once it is closing — so
no read-back or retry reopens a link that was just closed. A write cut short that way raises
:class:`ControlInterrupted`, which says whether anything had been sent (then the MOSFET state is unknown).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from vendor_plugins.errors import BmsError, ControlError, LinkError
from vendor_plugins.model import BmsSnapshot, Chemistry, DeviceInfo, Switch
from vendor_plugins.plugin import LinkKind, Session, SessionOptions, VendorPlugin
from vendor_plugins.reader import PackReader
from vendor_plugins.transports import Link

from .connection import describe
from .const import (
    CONF_CHEMISTRY,
    CONF_CONTROL,
    CONF_FAMILY,
    CONF_LINK,
    CONF_SCAN_INTERVAL,
    DEFAULT_SCAN_SECONDS,
    DOMAIN,
    ENERGY_MAX_GAP_POLLS,
    RAW_FRAMES_KEPT,
    RAW_RUN_BYTES,
)
from .dispatch import ChangedFieldDispatcher
from .energy_meters import EnergyMeters
from .poll import BmsData, PackAddress, Poll, PollListener
from .redaction import RawRun, for_log
from .repair_watch import RepairWatch

_LOGGER = logging.getLogger(__package__)

type BmsConfigEntry = ConfigEntry[BmsCoordinator]


class LinkClosing(LinkError):
    """The entry is unloading: its link is closed and stays closed (no request is sent any more)."""


class ControlInterrupted(ControlError):
    """A MOSFET write cut short because the entry is unloading: whether the pack switched is not known.

    ``sent`` says whether any request of the write had gone out by then (if not, nothing changed on the pack).
    """

    def __init__(self, sent: bool) -> None:
        """Say whether the write's requests had started going out."""
        super().__init__(
            "the write was sent (at least its first requests); whether it took could not be confirmed because the "
            "entry was unloading "
            "(check the switch once the entry is loaded again)"
            if sent
            else "nothing was sent because the entry was unloading; the MOSFET is unchanged"
        )
        self.sent = sent


def scan_interval(entry: ConfigEntry) -> timedelta:
    """The entry's poll interval: the user's option, else the default of its link kind."""
    seconds = entry.options.get(CONF_SCAN_INTERVAL)
    if seconds is None:
        seconds = DEFAULT_SCAN_SECONDS.get(str(entry.data.get(CONF_LINK)), 15)
    return timedelta(seconds=float(seconds))


def session_options(entry: ConfigEntry, *, control: bool) -> SessionOptions:
    """The library's session options of ``entry``: control as given, the family, the chemistry the user chose.

    The chemistry is used where the device does not say its own; it never refuses a reading (it names cells outside
    its window in the diagnostics).
    """
    chemistry = entry.options.get(CONF_CHEMISTRY)
    return SessionOptions(
        control_enabled=control,
        family=entry.data.get(CONF_FAMILY),
        chemistry=Chemistry(chemistry) if chemistry in set(Chemistry) else None,
    )


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
        self.session: Session = plugin.open_session(link, session_options(entry, control=self.control_enabled))
        self.packs: tuple[PackAddress, ...] = tuple(packs)
        #: Device info is asked at set-up (:meth:`_async_setup`), not after a pack's first answer: the same requests
        #: at the same times as always.
        self.reader = PackReader(self.session, self.packs, lazy_device_info=False)
        #: The error of each pack that did not answer the last poll.
        self.errors: dict[PackAddress, str] = {}
        #: Each pack's first snapshot: what its entities are generated from (cells, temperatures, reported fields).
        self.first_snapshots: dict[PackAddress, BmsSnapshot] = {}
        #: Set once the platforms created their entities; a pack answering for the first time after that reloads.
        self.entities_created = False
        #: Routes Home Assistant's listeners (the entities) by the snapshot fields they show.
        self.dispatcher = ChangedFieldDispatcher(self.snapshot)
        #: Polling and control share the link: one sequence at a time (see :meth:`exclusive`).
        self._io_lock = asyncio.Lock()
        #: Charged / discharged energy of each pack, integrated from every reading.
        self.energy = EnergyMeters(self.packs, ENERGY_MAX_GAP_POLLS * scan_interval(entry).total_seconds())
        #: The entry's repair issues, raised and cleared from the poll results.
        self.repairs = RepairWatch(hass, entry, self.packs)
        self._poll_listeners: list[PollListener] = [self.energy, self.repairs]
        #: Polls in a row in which no pack answered, and the error of the last one.
        self.failed_polls = 0
        self.last_error: BmsError | None = None
        #: Counters for the diagnostics download.
        self.stats: dict[str, Any] = {"polls": 0, "failed_polls": 0, "pack_errors": 0, "writes": 0, "write_errors": 0}
        #: The last raw traffic on the link (diagnostics): each request, and each reply's pieces joined into one run.
        self.raw_frames: deque[RawRun] = deque(maxlen=RAW_FRAMES_KEPT)
        if link.tap is None:
            link.tap = self._record_raw
        #: Set by :meth:`async_close`: no new I/O from then on.
        self.closing = False
        #: The sequence on the link now (a poll, a write, its read-back), run as a task :meth:`async_close` cancels.
        self._io_task: asyncio.Task[Any] | None = None

    def _record_raw(self, direction: str, data: bytes) -> None:
        """The link's tap: keep a request as it went out, join received pieces into runs.

        A run is at most :data:`RAW_RUN_BYTES` long (a longer one continues in the next): a reply that came in
        Bluetooth notifications is one run, and so is a serial number split across two of them.
        """
        now = dt_util.utcnow().timestamp()
        runs = self.raw_frames
        if direction != "rx":
            runs.append(RawRun(now, direction, bytearray(data)))
            return
        continued = False
        if runs and runs[-1].direction == "rx":
            last = runs[-1]
            room = RAW_RUN_BYTES - len(last.data)
            last.data += data[:room]
            data = data[room:]
            continued = True
        for start in range(0, len(data), RAW_RUN_BYTES):
            runs.append(RawRun(now, "rx", bytearray(data[start : start + RAW_RUN_BYTES]), continued))
            continued = True

    @property
    def where(self) -> str:
        """The connection as log lines and messages name it: the entry's title (see :mod:`.redaction`)."""
        return self.config_entry.title

    def for_log(self, text: object) -> str:
        """``text`` (an error) for a log line above debug level or a message: no host, device path or address."""
        data = self.config_entry.data
        return for_log(str(text), data, self.where, (self.link.description, describe(data)))

    @property
    def link_kind(self) -> LinkKind:
        """The kind of the entry's connection."""
        return LinkKind(self.config_entry.data[CONF_LINK])

    @property
    def device_infos(self) -> dict[PackAddress, DeviceInfo]:
        """What each pack said about itself at set-up (packs that did not answer then are left out)."""
        return {pack: info for pack, info in self.reader.devices.items() if info is not None}

    @callback
    def async_add_poll_listener(self, listener: PollListener) -> CALLBACK_TYPE:
        """Tell ``listener`` about every poll from now on; returns the function that stops that."""
        self._poll_listeners.append(listener)
        return lambda: self._poll_listeners.remove(listener)

    # --- the link ------------------------------------------------------------------------------
    def exclusive(self) -> AbstractAsyncContextManager[None]:
        """``async with`` it to hold the link exclusively for the body: no poll and no control write interleaves.

        Polls, MOSFET writes (with their read-back) and anything else that talks on the link (the background bus
        check's probes) take turns, first come first served: the body's requests and replies are never mixed with
        another sequence's. Not re-entrant: do not enter it again inside the body. (It is the link's lock itself:
        no generator-based context manager on every poll.)
        """
        return self._io_lock

    @property
    def exclusive_held(self) -> bool:
        """Whether someone holds the link through :meth:`exclusive` now (a poll would wait)."""
        return self._io_lock.locked()

    # --- reading -------------------------------------------------------------------------------
    async def _async_setup(self) -> None:
        """Ask every pack what it is (model, versions, serial) once; fail only when no pack answers.

        A pack silent now gets its entities when it first answers (the entry then reloads, see below).
        """
        errors = await self.reader.identify()
        if errors and not self.device_infos:
            error = list(errors.values())[-1]
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_read_device_info",
                translation_placeholders={"where": self.where, "error": self.for_log(error)},
            ) from error

    async def _async_update_data(self) -> BmsData:
        """Read every pack; a pack that fails is left out (its entities go unavailable)."""
        data: BmsData = {}
        errors: dict[PackAddress, BmsError] = {}
        async with self.exclusive():
            try:
                results = await self._io(self.reader.read_round())
            except LinkClosing as err:
                raise UpdateFailed(translation_domain=DOMAIN, translation_key="unloading") from err
        now = dt_util.utcnow()
        self.stats["polls"] += 1
        for result in results:
            pack, error = result.address, result.exception
            if error is not None:
                errors[pack] = error
                self.stats["pack_errors"] += 1
                if pack not in self.errors:
                    _LOGGER.debug("%s: pack %s: %s", self.link.description, _pack_label(pack), error)
                    _LOGGER.warning(
                        "%s: pack %s stopped answering: %s", self.where, _pack_label(pack), self.for_log(error)
                    )
                self.errors[pack] = str(error)
            elif result.snapshot is not None:
                data[pack] = snapshot = result.snapshot
                if self.errors.pop(pack, None) is not None:
                    _LOGGER.info("%s: pack %s answers again", self.where, _pack_label(pack))
                if pack not in self.first_snapshots:
                    self.first_snapshots[pack] = snapshot
                    if self.entities_created:  # a pack absent at start-up: reload to create its entities
                        self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        last_error = list(errors.values())[-1] if errors else None
        if not data:
            self.failed_polls += 1
            self.stats["failed_polls"] += 1
            self.last_error = last_error
        else:
            self.failed_polls = 0
            self.last_error = None
        self._tell(Poll(now, data, errors, self.failed_polls))
        if not data:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_pack_answered",
                translation_placeholders={"where": self.where, "error": self.for_log(last_error)},
            )
        return data

    def _tell(self, poll: Poll) -> None:
        """Tell every poll listener about ``poll``."""
        for listener in self._poll_listeners:
            listener.poll_done(poll)

    async def _io[T](self, sequence: Coroutine[Any, Any, T]) -> T:
        """Run ``sequence`` (requests on the link; the caller holds :meth:`exclusive`) as a task closing can cancel.

        Raises :class:`LinkClosing` instead of starting it once the coordinator is closing, and when closing cut it
        short.
        """
        if self.closing:
            sequence.close()
            raise LinkClosing("the entry is unloading")
        task = asyncio.ensure_future(sequence)
        self._io_task = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.closing and task.cancelled() and (current is None or not current.cancelling()):
                raise LinkClosing("the entry is unloading") from None
            raise
        finally:
            self._io_task = None

    async def async_close(self) -> None:
        """Close the link for good (unload): cut the sequence on it short, start none, then close it."""
        self.closing = True
        task = self._io_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        async with self.exclusive():  # whoever held the link has let go (and starts nothing new)
            await self.link.close()

    # --- control -------------------------------------------------------------------------------
    async def async_set_switch(self, pack: PackAddress, switch: Switch, on: bool) -> None:
        """Set a MOSFET through the library's verified path; the confirmed reading becomes the pack's data.

        Raises the library's error (:class:`~vendor_plugins.errors.ControlRefused`,
        :class:`~vendor_plugins.errors.ControlNotConfirmed`, link errors) after reading the pack again, so every
        entity shows the real state, not the requested one.

        Once the entry is unloading nothing is read back (that would reopen the closed link): the write raises
        :class:`ControlInterrupted` instead, saying whether it had been sent.
        """
        self.stats["writes"] += 1
        async with self.exclusive():
            sent_before = self.link.bytes_sent
            try:
                snapshot = await self._io(self.session.set_switch(pack, switch, on))
            except BmsError as err:
                self.stats["write_errors"] += 1
                if self.closing:
                    raise ControlInterrupted(sent=self.link.bytes_sent > sent_before) from err
                try:
                    snapshot = await self._io(self.session.read(pack))
                except LinkClosing as closing:
                    raise ControlInterrupted(sent=True) from closing
                except BmsError:
                    pass  # the pack's entities keep the last reading; the next poll settles it
                else:
                    self._apply(pack, snapshot)
                raise
        self._apply(pack, snapshot)

    @callback
    def _apply(self, pack: PackAddress, snapshot: BmsSnapshot) -> None:
        """Make ``snapshot`` the pack's current reading and dispatch it (changed values write state)."""
        self._tell(Poll(dt_util.utcnow(), {pack: snapshot}, {}, self.failed_polls, every_pack=False))
        data = dict(self.data or {})
        data[pack] = snapshot
        self.async_set_updated_data(data)

    # --- the entities --------------------------------------------------------------------------
    def snapshot(self, pack: PackAddress) -> BmsSnapshot | None:
        """The pack's current snapshot, ``None`` while it is unavailable."""
        if not self.last_update_success or self.data is None:
            return None
        return self.data.get(pack)

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE, context: Any = None) -> CALLBACK_TYPE:
        """Home Assistant's listener registration, also routed by ``context`` (see :mod:`.dispatch`)."""
        remove_listener = super().async_add_listener(update_callback, context)
        remove_route = self.dispatcher.async_add(update_callback, context)

        @callback
        def remove() -> None:
            remove_route()
            remove_listener()

        return remove

    @callback
    def async_update_listeners(self) -> None:
        """Tell only the listeners whose field (or pack availability) changed, not every listener."""
        self.dispatcher.async_dispatch()


def _pack_label(pack: PackAddress) -> str:
    return "default" if pack is None else str(pack)


__all__ = [
    "BmsConfigEntry",
    "BmsCoordinator",
    "BmsData",
    "ControlInterrupted",
    "LinkClosing",
    "PackAddress",
    "scan_interval",
]
