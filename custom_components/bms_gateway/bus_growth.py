"""Dynamic devices on a bus: packs plugged in after set-up are found in the background, a little at a time.

The set-up flow's scan finds the packs on a bus once. For a bus vendor (a plugin with ``bus_addresses``: several
packs on one RS485 bus or TCP bridge) :class:`BusGrowth` then probes the addresses that are not configured,
one address every :data:`PROBE_EVERY`, round robin, starting after the highest configured address (a new pack
usually gets the next DIP-switch address). A probe is the library's read-only :func:`~vendor_plugins.poller.scan` of
that one address through a session with control disabled, bounded by :data:`PROBE_TIMEOUT` and run inside the
link owner's :meth:`~BusAccess.exclusive` (the coordinator's): it never interleaves with a poll or a MOSFET write,
and a poll waits for at most one probe. It follows the polls (a :class:`~.poll.PollListener`) and probes nothing
while the bus does not answer at all.

A pack that answers joins the entry's packs and the entry reloads, which creates its device and entities (as for a
configured pack that answers late). Addresses the user removed (device deletion, the ``pack_missing`` fix) are kept
in the entry data under :data:`CONF_IGNORED_PACKS` and never probed; the option :data:`CONF_SCAN_NEW_PACKS`
(default on) turns the whole check off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

from vendor_plugins.plugin import LinkKind, Session, SessionOptions, VendorPlugin
from vendor_plugins.poller import scan
from vendor_plugins.settings import allowed_addresses
from vendor_plugins.transports import Link

from .const import CONF_FAMILY, CONF_IGNORED_PACKS, CONF_LINK, CONF_PACKS, CONF_SCAN_NEW_PACKS, SCAN_TIMEOUT
from .poll import Poll

_LOGGER = logging.getLogger(__package__)

#: One unconfigured address is probed this often (a bus of 16 addresses is swept in about a quarter of an hour).
PROBE_EVERY: Final = timedelta(minutes=1)
#: A whole probe (the read of one address) takes at most this long: an absent address costs exactly this.
PROBE_TIMEOUT: Final = SCAN_TIMEOUT


def ignored_packs(data: Mapping[str, Any]) -> list[int]:
    """The addresses the user removed from the entry whose data is ``data``."""
    return [int(a) for a in data.get(CONF_IGNORED_PACKS) or []]


def without_pack(data: Mapping[str, Any], pack: int) -> dict[str, Any]:
    """Entry data with ``pack`` removed by the user: no longer polled, and never re-added by the background check."""
    packs = [p for p in data.get(CONF_PACKS) or [] if p != pack]
    ignored = sorted({*ignored_packs(data), pack})
    return {**data, CONF_PACKS: packs, CONF_IGNORED_PACKS: ignored}


def bus_addresses(entry: ConfigEntry, plugin: VendorPlugin) -> tuple[int, ...]:
    """Every address a pack of ``entry``'s bus can have (Modbus unit ids on a Modbus link); empty: not a bus."""
    packs = entry.data.get(CONF_PACKS) or []
    if entry.data.get(CONF_LINK) == LinkKind.BLE or not packs or not all(isinstance(p, int) for p in packs):
        return ()  # [None]: the vendor's single-pack address, not a bus
    return allowed_addresses(plugin, LinkKind(entry.data[CONF_LINK]))


def can_grow(entry: ConfigEntry, plugin: VendorPlugin) -> bool:
    """Whether ``entry`` is a bus that new packs can join (the options flow then offers the check)."""
    return bool(plugin.bus_addresses) and bool(bus_addresses(entry, plugin))


def applies(entry: ConfigEntry, plugin: VendorPlugin) -> bool:
    """Whether ``entry`` is a bus whose new packs can be looked for (and the user did not turn that off)."""
    return can_grow(entry, plugin) and bool(entry.options.get(CONF_SCAN_NEW_PACKS, True))


def probe_order(addresses: Sequence[int], configured: Iterable[int], ignored: Iterable[int]) -> list[int]:
    """The addresses to probe, round robin from the one after the highest configured address."""
    skip = {*configured, *ignored}
    free = [a for a in addresses if a not in skip]
    top = max(skip & set(addresses), default=-1)
    after = [a for a in free if a > top]
    return after + [a for a in free if a <= top]


class BusAccess(Protocol):
    """What a probe needs of the owner of the bus's link (the coordinator)."""

    plugin: VendorPlugin
    link: Link
    session: Session

    def exclusive(self) -> AbstractAsyncContextManager[None]:
        """Hold the link exclusively for the body (no poll and no control write interleaves)."""
        ...


class BusGrowth:
    """Probes the unconfigured addresses of one bus entry, one per :data:`PROBE_EVERY`; follows the polls."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, bus: BusAccess) -> None:
        """Prepare a read-only session on the bus's link; nothing is sent until :meth:`async_start`."""
        self.hass = hass
        self.entry = entry
        self.bus = bus
        family = bus.session.family or entry.data.get(CONF_FAMILY)
        #: Its own session, control disabled: a probe cannot write, whatever the entry's options say.
        self.session: Session = bus.plugin.open_session(bus.link, SessionOptions(control_enabled=False, family=family))
        configured = [int(p) for p in entry.data.get(CONF_PACKS) or []]
        self.order = probe_order(bus_addresses(entry, bus.plugin), configured, ignored_packs(entry.data))
        self._next = 0
        self._task: asyncio.Task[int | None] | None = None
        #: Whether some pack answered the last poll (it did at set-up, before this was made).
        self.bus_answers = True
        #: Probes sent so far (diagnostics, tests).
        self.probes = 0

    @callback
    def poll_done(self, poll: Poll) -> None:
        """Note whether the bus answers (a probe of a bus that does not would learn nothing)."""
        self.bus_answers = bool(poll.readings)

    @callback
    def async_start(self) -> None:
        """Probe one address every :data:`PROBE_EVERY` until the entry unloads."""
        if not self.order:
            return
        self.entry.async_on_unload(
            async_track_time_interval(self.hass, self._async_tick, PROBE_EVERY, name=f"{self.entry.title} bus growth")
        )

    @callback
    def _async_tick(self, _now: datetime) -> None:
        if self._task is not None and not self._task.done():
            return  # the previous probe still waits for the bus (a long poll or a write): no queue of probes
        self._task = self.entry.async_create_background_task(
            self.hass, self.async_probe_next(), f"{self.entry.title} bus growth probe"
        )

    async def async_probe_next(self) -> int | None:
        """Probe the next unconfigured address; return it when a new pack answered (the entry then reloads)."""
        if not self.order or not self.bus_answers:
            return None  # the bus (or the bridge) is down: a probe would learn nothing
        address = self.order[self._next % len(self.order)]
        self._next += 1
        async with self.bus.exclusive():
            if self.entry.state is not ConfigEntryState.LOADED or self.hass.is_stopping:
                return None
            self.probes += 1
            found = await scan(self.session, [address], absent_timeout=PROBE_TIMEOUT)
        if not found:
            return None
        return address if self._async_add(address) else None

    @callback
    def _async_add(self, address: int) -> bool:
        """Add the pack that answered at ``address`` to the entry and reload it (its device and entities appear)."""
        entry = self.entry
        packs = [int(p) for p in entry.data.get(CONF_PACKS) or []]
        if address in packs or address in ignored_packs(entry.data) or entry.state is not ConfigEntryState.LOADED:
            return False
        _LOGGER.info("%s: a new pack answers at address %s; adding it", entry.title, address)
        self.hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PACKS: sorted([*packs, address])})
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return True


__all__ = [
    "CONF_IGNORED_PACKS",
    "CONF_SCAN_NEW_PACKS",
    "PROBE_EVERY",
    "PROBE_TIMEOUT",
    "BusAccess",
    "BusGrowth",
    "applies",
    "ignored_packs",
    "probe_order",
    "without_pack",
]
