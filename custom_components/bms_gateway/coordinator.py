"""One coordinator per config entry: owns the link and the vendor session, polls every pack on it.

Data is ``{pack address: BmsSnapshot}`` for the packs that answered the last poll. A bus of several packs is read
through the library's :class:`~vendor_plugins.poller.BusPoller` (a pack that stopped answering is retried with
back-off and a short timeout, so it does not slow the others down). A pack that stops answering
makes only its own entities unavailable (logged once, and once again when it is back); when no pack answers the
refresh fails with a translated :class:`UpdateFailed`.

Listeners are not the coordinator's default "write every entity on every change": each pack's entities are
registered here and the new snapshot is dispatched per pack — an unchanged snapshot costs one comparison, a changed
one makes only the entities whose value changed write their state (see :mod:`.entity`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from vendor_plugins.errors import BmsError
from vendor_plugins.model import BmsSnapshot, DeviceInfo
from vendor_plugins.plugin import Session, SessionOptions, VendorPlugin
from vendor_plugins.poller import BusPoller
from vendor_plugins.transports import Link

from .const import CONF_FAMILY, DEFAULT_SCAN_INTERVAL, DOMAIN

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
            update_interval=DEFAULT_SCAN_INTERVAL,
        )
        self.plugin = plugin
        self.link = link
        self.session: Session = plugin.open_session(link, SessionOptions(family=entry.data.get(CONF_FAMILY)))
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
        for pack, result in (await self._read_all()).items():
            if isinstance(result, BmsError):
                last_error = result
                if pack not in self.errors:
                    _LOGGER.warning(
                        "%s: pack %s stopped answering: %s", self.link.description, _pack_label(pack), result
                    )
                self.errors[pack] = str(result)
                continue
            data[pack] = result
            if self.errors.pop(pack, None) is not None:
                _LOGGER.info("%s: pack %s answers again", self.link.description, _pack_label(pack))
            if pack not in self.first_snapshots:
                self.first_snapshots[pack] = result
                if self.entities_created:  # a pack absent at start-up: reload to create its entities
                    self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        if not data:
            self._poller = None  # the whole bus (or the bridge) was down: no back-off once it is back
        if not data:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_pack_answered",
                translation_placeholders={"where": self.link.description, "error": str(last_error)},
            )
        return data

    async def async_close(self) -> None:
        """Close the link (unload)."""
        await self.link.close()

    # --- dispatching -----------------------------------------------------------------------------
    @callback
    def async_add_pack_listener(self, pack: PackAddress, listener: PackListener) -> CALLBACK_TYPE:
        """Register an entity of ``pack``; returns the function that unregisters it."""
        by_field = self._listeners_by_pack.setdefault(pack, {})
        current = self.snapshot(pack)
        if not by_field:
            self._published[pack] = current
        elif self._published.get(pack) is not current:
            self._published[pack] = _STALE  # entities of this pack started from different snapshots
        listeners = by_field.setdefault(listener.field, [])
        listeners.append(listener)
        # The base class schedules the next poll only while it has listeners: count ours in.
        remove_base = self.async_add_listener(_noop)

        @callback
        def remove() -> None:
            listeners.remove(listener)
            if not listeners:
                del by_field[listener.field]
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
            for field, listeners in by_field.items():
                if getattr(new, field) != getattr(old, field):
                    for listener in listeners:
                        listener.handle_snapshot(new, False)


_STALE = object()


def _noop() -> None:
    """Placeholder listener (keeps the base class's polling schedule alive)."""


def _pack_label(pack: PackAddress) -> str:
    return "default" if pack is None else str(pack)


__all__ = ["BmsCoordinator", "BmsData", "PackAddress", "PackListener"]
