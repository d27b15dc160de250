"""A bank entry's runtime: follows its members' polls and builds one :class:`~vendor_plugins.bank.BankSnapshot` a round.

Members live in other entries, which load, reload and unload on their own. The connection entries register their
coordinator in the :class:`MemberDirectory` once loaded and leave it when they unload; a :class:`BankHub` watches the
directory and attaches to (a poll listener on) each member entry's coordinator while it is loaded. A member whose
entry is not loaded, or whose pack did not answer its entry's last poll, is missing; the library's
:func:`~vendor_plugins.bank.build_bank` applies the freshness policy and never counts a reading older than
:attr:`BankHub.max_age`.

**Once per round, not once per member.** A poll of a bus entry reads all its packs and tells its listeners once,
so a rack of 15 packs on one bus is one update of the bank. Members in several entries (packs over Bluetooth, one
entry each) are collected into one round: the bank updates when every attached entry has polled since its last
update — or, should one of them be slow, once the round's deadline (1.5 x the longest member poll interval) has
passed; with no update for ``max_age`` (every member entry silent without unloading) it updates anyway, so stale
readings age out. The update itself runs as a loop callback, outside the member's poll. Bank entities write state
only when their value (or attributes) changed. A member entry loading or unloading updates the bank at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntry, ConfigEntryChange
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from vendor_plugins.bank import BankConfig, BankSnapshot, MemberReading, build_bank
from vendor_plugins.plausibility import power_limit

from . import bank_repairs
from .bank_config import BankSettings, MemberRef, bank_switches, member_name, settings_of
from .bank_energy import BankEnergy
from .bank_repairs import gone_members
from .const import DOMAIN, ENERGY_MAX_GAP_POLLS
from .coordinator import BmsCoordinator, scan_interval
from .poll import Poll

_LOGGER = logging.getLogger(__package__)

#: The longest a round waits for its slowest member entry, in that entry's poll intervals.
ROUND_DEADLINE_POLLS = 1.5
#: A member's reading is counted while at most this many of the longest member poll intervals old (plus a margin).
MAX_AGE_POLLS = 2.0
MAX_AGE_MARGIN = 5.0


class MemberDirectory:
    """The loaded connection entries' coordinators, and the banks that want to know when one comes or goes."""

    def __init__(self) -> None:
        """Empty: entries register as they load."""
        self.coordinators: dict[str, BmsCoordinator] = {}
        self._watchers: list[Callable[[str], None]] = []

    @callback
    def async_register(self, entry_id: str, coordinator: BmsCoordinator) -> None:
        """The entry is loaded: its coordinator polls."""
        self.coordinators[entry_id] = coordinator
        self._tell(entry_id)

    @callback
    def async_unregister(self, entry_id: str) -> None:
        """The entry unloads (its coordinator stops)."""
        if self.coordinators.pop(entry_id, None) is not None:
            self._tell(entry_id)

    @callback
    def async_watch(self, watcher: Callable[[str], None]) -> CALLBACK_TYPE:
        """Call ``watcher(entry_id)`` whenever an entry registers or unregisters; returns the function that stops it."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher)

    def _tell(self, entry_id: str) -> None:
        for watcher in list(self._watchers):
            watcher(entry_id)


MEMBER_DIRECTORY: HassKey[MemberDirectory] = HassKey(f"{DOMAIN}_bank_members")


@callback
def member_directory(hass: HomeAssistant) -> MemberDirectory:
    """The one directory of loaded connection entries."""
    directory = hass.data.get(MEMBER_DIRECTORY)
    if directory is None:
        directory = hass.data[MEMBER_DIRECTORY] = MemberDirectory()
    return directory


class _EntryPolls:
    """The poll listener a bank puts on one member entry's coordinator."""

    def __init__(self, hub: BankHub, entry_id: str) -> None:
        self.hub = hub
        self.entry_id = entry_id

    def poll_done(self, poll: Poll) -> None:
        self.hub.member_poll(self.entry_id, poll)


class BankHub:
    """The runtime of one bank entry (``entry.runtime_data``); see the module docstring."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Read the bank's settings; nothing is attached before :meth:`async_start`."""
        self.hass = hass
        self.entry = entry
        self.settings: BankSettings = settings_of(entry)
        self.members: dict[str, MemberRef] = {m.key: m for m in self.settings.members}
        self._by_entry: dict[str, list[MemberRef]] = {}
        for member in self.settings.members:
            self._by_entry.setdefault(member.entry_id, []).append(member)
        longest = max((self._interval(entry_id) for entry_id in self._by_entry), default=15.0)
        self.max_age = MAX_AGE_POLLS * longest + MAX_AGE_MARGIN
        self.round_deadline = ROUND_DEADLINE_POLLS * longest
        self.config = BankConfig(mode=self.settings.mode, policy=self.settings.policy, max_age=self.max_age)
        #: The bank switches this set-up offers (:func:`~.bank_config.bank_switches`).
        self.switches = bank_switches(hass, self.settings)
        self._readings: dict[str, MemberReading] = {key: MemberReading(key, None) for key in self.members}
        self._attached: dict[str, CALLBACK_TYPE] = {}
        self._reported: set[str] = set()
        self._deadline: CALLBACK_TYPE | None = None
        self._pending: asyncio.Handle | None = None
        self._last_update = 0.0
        self._listeners: list[CALLBACK_TYPE] = []
        self._when_ready: list[Callable[[], None]] = []
        self._names: dict[str, str] = {}
        self._unsubscribe: list[CALLBACK_TYPE] = []
        #: The latest bank reading (``None`` before the first update) and the first one that reported values.
        self.snapshot: BankSnapshot | None = None
        self.first: BankSnapshot | None = None
        self.energy = BankEnergy(ENERGY_MAX_GAP_POLLS * longest)
        #: Updates so far, for the diagnostics and the benchmark.
        self.stats: dict[str, int] = {"updates": 0, "deadline_updates": 0}

    def _interval(self, entry_id: str) -> float:
        entry = self.hass.config_entries.async_get_entry(entry_id)
        return 15.0 if entry is None else scan_interval(entry).total_seconds()

    # --- lifecycle -------------------------------------------------------------------------------------
    @callback
    def async_start(self) -> None:
        """Attach to the member entries loaded now, follow the others, and build the first bank reading."""
        directory = member_directory(self.hass)
        self._unsubscribe.append(directory.async_watch(self._entry_changed))
        self._unsubscribe.append(self.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._devices_changed))
        self._unsubscribe.append(
            async_track_time_interval(self.hass, self._stale_check, timedelta(seconds=self.max_age))
        )
        self._unsubscribe.append(
            async_dispatcher_connect(self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._entries_changed)
        )
        for entry_id in self._by_entry:
            coordinator = directory.coordinators.get(entry_id)
            if coordinator is not None:
                self._attach(entry_id, coordinator)
        self._check_members()
        self._update()

    @callback
    def _entries_changed(self, _change: ConfigEntryChange, entry: ConfigEntry) -> None:
        """An entry changed or was removed: a member may be gone for good (a repair issue says so)."""
        if entry.entry_id in self._by_entry:
            self._check_members()

    @callback
    def _check_members(self) -> None:
        gone = gone_members(self.hass, self.settings)
        bank_repairs.async_check(self.hass, self.entry.entry_id, self.entry.title, [self._gone_name(m) for m in gone])

    def _gone_name(self, member: MemberRef) -> str:
        """A gone member's name: its device's, if it still exists (a removed pack), else its key."""
        name = member_name(self.hass, member)
        return name if name != member.key else f"{member.key} (deleted entry)"

    @callback
    def async_stop(self) -> None:
        """Detach from every member entry; no more updates."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for entry_id in list(self._attached):
            self._detach(entry_id)
        self._cancel_round()
        self._when_ready.clear()

    @callback
    def _entry_changed(self, entry_id: str) -> None:
        """A member entry loaded or unloaded: attach or detach, update the bank now; reload if switches changed."""
        if entry_id not in self._by_entry:
            return
        coordinator = member_directory(self.hass).coordinators.get(entry_id)
        _LOGGER.debug("%s: member entry %s %s", self.entry.title, entry_id, "loaded" if coordinator else "unloaded")
        self._detach(entry_id)
        if coordinator is not None:
            self._attach(entry_id, coordinator)
            if bank_switches(self.hass, self.settings) != self.switches:  # a member's control option changed
                self.hass.config_entries.async_schedule_reload(self.entry.entry_id)
        self._schedule()

    def _attach(self, entry_id: str, coordinator: BmsCoordinator) -> None:
        self._attached[entry_id] = coordinator.async_add_poll_listener(_EntryPolls(self, entry_id))
        now = dt_util.utcnow().timestamp()
        for member in self._by_entry[entry_id]:
            snapshot = coordinator.snapshot(member.pack)  # the entry's last poll (taken at most one interval ago)
            self._readings[member.key] = MemberReading(member.key, snapshot, now if snapshot is not None else None)

    def _detach(self, entry_id: str) -> None:
        remove = self._attached.pop(entry_id, None)
        if remove is not None:
            with contextlib.suppress(ValueError):  # the coordinator is gone already
                remove()
        self._reported.discard(entry_id)
        for member in self._by_entry.get(entry_id, ()):
            self._readings[member.key] = MemberReading(member.key, None)

    @property
    def attached(self) -> frozenset[str]:
        """The member entries the bank follows now (loaded)."""
        return frozenset(self._attached)

    def coordinator(self, member: MemberRef) -> BmsCoordinator | None:
        """The coordinator of a member's entry while it is loaded."""
        return member_directory(self.hass).coordinators.get(member.entry_id)

    # --- rounds ----------------------------------------------------------------------------------------
    def member_poll(self, entry_id: str, poll: Poll) -> None:
        """A member entry polled (or read one pack after a control write): keep its members' readings."""
        at = poll.time.timestamp()
        readings = self._readings
        for member in self._by_entry.get(entry_id, ()):
            snapshot = poll.readings.get(member.pack)
            if snapshot is not None:
                readings[member.key] = MemberReading(member.key, snapshot, at)
            elif member.pack in poll.errors:
                readings[member.key] = MemberReading(member.key, None)
        if not poll.every_pack:
            return  # a control write's read-back: the bank switch updates the bank when it is done
        self._reported.add(entry_id)
        if self._reported >= self._attached.keys():
            self._schedule()
        elif self._deadline is None:
            self._deadline = async_call_later(self.hass, self.round_deadline, self._round_overdue)

    @callback
    def _stale_check(self, _now: Any) -> None:
        """No update for ``max_age`` (every attached entry silent without unloading): readings may have aged out."""
        if dt_util.utcnow().timestamp() - self._last_update >= self.max_age:
            self._schedule()

    @callback
    def _round_overdue(self, _now: Any) -> None:
        self._deadline = None
        self.stats["deadline_updates"] += 1
        self._schedule()

    def _cancel_round(self) -> None:
        if self._deadline is not None:
            self._deadline()
            self._deadline = None
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    @callback
    def _schedule(self) -> None:
        """Update the bank in a loop callback of its own (a bank's failure never breaks a member's poll)."""
        if self._pending is None:
            self._pending = self.hass.loop.call_soon(self._update)

    @callback
    def async_update_now(self) -> None:
        """Update the bank now (after a bank switch wrote to every member)."""
        self._update()

    @callback
    def _update(self) -> None:
        """Build the bank from the members' latest readings and tell the bank's entities."""
        self._pending = None
        if self._deadline is not None:
            self._deadline()
            self._deadline = None
        self._reported.clear()
        now = self._last_update = dt_util.utcnow().timestamp()
        bank = build_bank(self._readings.values(), self.config, now=now)
        self.stats["updates"] += 1
        self.snapshot = bank
        self.energy.add(now, bank.power if bank.available else None, self._power_limit(bank))
        if self.first is None and bank.available:
            self.first = bank
            for ready in self._when_ready:
                ready()
            self._when_ready.clear()
        for listener in self._listeners:
            listener()

    def _power_limit(self, bank: BankSnapshot) -> float | None:
        """The sum of the counted members' plausible power (``None``: no counted member)."""
        counted = set(bank.members) - set(bank.missing)
        limits = [
            power_limit(reading.snapshot)
            for key, reading in self._readings.items()
            if key in counted and reading.snapshot is not None
        ]
        return sum(limits) if limits else None

    # --- entities ----------------------------------------------------------------------------------------
    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` after every bank update; returns the function that stops it."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_when_ready(self, ready: Callable[[], None]) -> None:
        """Call ``ready`` once the bank first reports values (now, if it has): entities are made from that reading."""
        if self.first is not None:
            ready()
        else:
            self._when_ready.append(ready)

    @property
    def device_info(self) -> DeviceInfo:
        """The bank's device."""
        return DeviceInfo(
            identifiers={(DOMAIN, f"bank_{self.entry.entry_id}")},
            name=self.entry.title,
            manufacturer="BMS Gateway",
            model=f"Battery bank ({self.settings.mode.value})",
        )

    @property
    def unique_base(self) -> str:
        """The prefix of the bank entities' unique ids."""
        return f"bank_{self.entry.entry_id}"

    def name(self, key: object) -> str:
        """The name of a member (by its key) as attributes and messages show it."""
        key = str(key)
        name = self._names.get(key)
        if name is None:
            member = self.members.get(key)
            name = key if member is None else member_name(self.hass, member)
            self._names[key] = name
        return name

    def names(self, keys: Any) -> list[str]:
        """The names of several members, in order."""
        return [self.name(key) for key in keys]

    @callback
    def _devices_changed(self, _event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        self._names.clear()  # a pack renamed: looked up again when next needed

    def diagnostics(self) -> dict[str, Any]:
        """The bank's state for the diagnostics download (member keys, not names)."""
        bank = self.snapshot
        return {
            "mode": self.settings.mode.value,
            "policy": self.settings.policy.value,
            "members": list(self.members),
            "attached_entries": sorted(self._attached),
            "max_age": self.max_age,
            "switches": [switch.value for switch in self.switches],
            "bank": None if bank is None else bank.to_dict(),
            "energy": self.energy.diagnostics(),
            "stats": dict(self.stats),
        }


def hub_of(entry: ConfigEntry) -> BankHub:
    """The runtime of a (loaded) bank entry."""
    hub: BankHub = entry.runtime_data
    return hub


__all__ = ["BankHub", "MemberDirectory", "hub_of", "member_directory"]
