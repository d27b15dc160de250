"""Each pack's battery settings, read at most every few minutes and after each write, shared by its entities.

Settings are not part of the poll: reading them costs a sequence of its own on the link (for some vendors inside a
configuration mode), so they are read when an entity asks and the copy is older than :data:`MAX_AGE`, and after
every write (the library's verified write returns the settings read back). A value changed outside Home Assistant
shows up at the next read. Reads and writes hold the link exclusively (no poll interleaves) and run as the
coordinator's cancellable sequences. Nothing here writes on its own: only :meth:`SettingsCache.async_write`, called
for a user's (or the user's automation's) action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Final
from weakref import WeakKeyDictionary

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.util import dt as dt_util

from vendor_plugins.battery_settings import BmsSettings, Number
from vendor_plugins.errors import (
    BmsError,
    ControlNotConfirmed,
    ControlRefused,
    SettingsPartiallyWritten,
    SettingsRefused,
)
from vendor_plugins.model import BmsSnapshot

from .coordinator import BmsCoordinator, PackAddress

#: How old a pack's settings may be before an entity's update reads them again.
MAX_AGE = timedelta(minutes=4)

Listener = Callable[[BmsSettings], None]

#: The translated error of a failed write, by the library's error (the first class that matches).
_ERROR_KEYS: Final[tuple[tuple[type[BmsError], str], ...]] = (
    (SettingsRefused, "settings_refused"),
    (SettingsPartiallyWritten, "settings_interrupted"),
    (ControlNotConfirmed, "settings_not_confirmed"),
    (ControlRefused, "settings_refused"),
    (BmsError, "settings_failed"),
)


def error_key(err: BmsError) -> str:
    """The translation key of the error a failed settings write raises."""
    return next(key for kind, key in _ERROR_KEYS if isinstance(err, kind))


class SettingsCache:
    """The settings of every pack of one entry."""

    def __init__(self, coordinator: BmsCoordinator) -> None:
        """Cache for ``coordinator``'s packs (nothing is read yet)."""
        self.coordinator = coordinator
        self.settings: dict[PackAddress, BmsSettings] = {}
        self._read_at: dict[PackAddress, float] = {}
        self._listeners: dict[PackAddress, list[Listener]] = {}
        self._lock = asyncio.Lock()

    @callback
    def add_listener(self, pack: PackAddress, listener: Listener) -> CALLBACK_TYPE:
        """Call ``listener`` with ``pack``'s settings whenever they were read; returns the unsubscribe callback."""
        listeners = self._listeners.setdefault(pack, [])
        listeners.append(listener)

        def remove() -> None:
            listeners.remove(listener)

        return remove

    def _store(self, pack: PackAddress, settings: BmsSettings) -> None:
        self.settings[pack] = settings
        self._read_at[pack] = dt_util.utcnow().timestamp()
        for listener in list(self._listeners.get(pack, ())):
            listener(settings)

    def fresh(self, pack: PackAddress) -> bool:
        """Whether ``pack``'s settings were read within :data:`MAX_AGE`."""
        read_at = self._read_at.get(pack)
        return read_at is not None and dt_util.utcnow().timestamp() - read_at < MAX_AGE.total_seconds()

    async def async_refresh(self, pack: PackAddress) -> BmsSettings | None:
        """``pack``'s settings, read again unless fresh (one read serves every entity asking at once)."""
        async with self._lock:
            if self.fresh(pack):
                return self.settings[pack]
            coordinator = self.coordinator
            async with coordinator.exclusive():
                settings = await coordinator._io(coordinator.session.read_settings(pack))
            self._store(pack, settings)
            return settings

    async def async_write(self, pack: PackAddress, changes: Mapping[str, Number]) -> BmsSettings:
        """Write through the library's verified path; the settings read back (or re-read after a failure) are kept."""
        coordinator = self.coordinator
        async with self._lock:
            async with coordinator.exclusive():
                try:
                    settings = await coordinator._io(coordinator.session.write_settings(pack, changes))
                except BmsError:
                    await self._reread(pack)
                    raise
            self._store(pack, settings)
            return settings

    async def _reread(self, pack: PackAddress) -> None:
        """After a failed write: read the settings again so the entities show what the pack holds."""
        self._read_at.pop(pack, None)
        try:
            again = await self.coordinator._io(self.coordinator.session.read_settings(pack))
        except BmsError:
            return  # the entities keep the last known values; the next update reads again
        self._store(pack, again)

    async def async_set_balancer(self, pack: PackAddress, on: bool) -> None:
        """Turn the balancer on or off through :meth:`~vendor_plugins.plugin.Session.set_balancer` (verified).

        The confirmed value is kept (the rest of the copy keeps its age) and the fresh reading becomes the pack's
        data; after a failure the settings are read again.
        """
        coordinator = self.coordinator
        async with self._lock:
            async with coordinator.exclusive():
                try:
                    snapshot = await coordinator._io(coordinator.session.set_balancer(pack, on))
                except BmsError:
                    await self._reread(pack)
                    raise
            known = self.settings.get(pack)
            if known is not None:
                read_at = self._read_at.get(pack)
                self._store(pack, known.with_values({"balancer_enabled": on}))
                if read_at is not None:
                    self._read_at[pack] = read_at
            coordinator._apply(pack, snapshot)

    async def async_set_soc(self, pack: PackAddress, percent: float) -> BmsSnapshot | None:
        """Set the SoC through :meth:`~vendor_plugins.plugin.Session.set_soc` (confirmed by a reading).

        The confirming reading (or, after a failure, a fresh one) becomes the pack's data, so the entity shows the
        SoC the pack reports, never the requested one.
        """
        coordinator = self.coordinator
        async with self._lock:
            async with coordinator.exclusive():
                try:
                    snapshot = await coordinator._io(coordinator.session.set_soc(pack, percent))
                except BmsError:
                    try:
                        again = await coordinator._io(coordinator.session.read(pack))
                    except BmsError:
                        pass  # the next poll settles it
                    else:
                        coordinator._apply(pack, again)
                    raise
            coordinator._apply(pack, snapshot)
            return snapshot

    def diagnostics(self, pack: PackAddress) -> dict[str, object] | None:
        """What is known of ``pack``'s settings (``None``: never read), for the diagnostics download."""
        settings = self.settings.get(pack)
        if settings is None:
            return None
        return {
            "family": settings.family,
            "cell_count": settings.cell_count,
            "read_at": dt_util.utc_from_timestamp(self._read_at[pack]).isoformat() if pack in self._read_at else None,
            "values": settings.to_dict(),
        }


_CACHES: WeakKeyDictionary[BmsCoordinator, SettingsCache] = WeakKeyDictionary()


def cache_for(coordinator: BmsCoordinator) -> SettingsCache:
    """The one settings cache of ``coordinator`` (created on first use)."""
    cache = _CACHES.get(coordinator)
    if cache is None:
        cache = _CACHES[coordinator] = SettingsCache(coordinator)
    return cache
