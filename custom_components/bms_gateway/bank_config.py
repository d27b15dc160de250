"""What a battery-bank entry is: its settings, its members (packs of other entries) and how they are named.

A bank is a config entry of this domain whose data is ``{"bank": true}``; what it aggregates is in its options
(changed by the bank's options flow): the members, the wiring (``mode``: parallel / series), the freshness
``policy`` (``all``: report only while every member is fresh; ``available``: from the members that answered,
marked degraded) and whether bank switches are wanted.

A member is one pack of another (connection) entry of this domain, by that entry's id (stable across reloads and
reconfigures, unlike its unique id) and the pack's bus address: its key is ``"<entry_id>"`` for the single pack of
an entry, ``"<entry_id>:<address>"`` for a pack on a bus. These keys are the values the config flow offers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from vendor_plugins.bank import BankMode, FreshnessPolicy
from vendor_plugins.errors import ConfigError
from vendor_plugins.model import Switch
from vendor_plugins.plugin import LinkKind

from .connection import registry
from .const import CONF_CONTROL, CONF_LINK, CONF_PACKS, CONF_VENDOR, DOMAIN

#: Entry data marking a bank entry (``True``).
CONF_BANK: Final = "bank"
#: Bank options: the member keys, the wiring, the freshness policy, whether bank switches are wanted.
CONF_MEMBERS: Final = "members"
CONF_MODE: Final = "mode"
CONF_POLICY: Final = "policy"
CONF_SWITCHES: Final = "switches"
#: Config-flow field: the bank's name (the entry title and device name).
CONF_NAME: Final = "name"

MODES: Final = tuple(mode.value for mode in BankMode)
POLICIES: Final = tuple(policy.value for policy in FreshnessPolicy)


def is_bank(entry: ConfigEntry) -> bool:
    """Whether ``entry`` is a battery bank (not a connection to packs)."""
    return entry.data.get(CONF_BANK) is True


@dataclass(frozen=True, slots=True, order=True)
class MemberRef:
    """One member of a bank: a pack of another entry."""

    entry_id: str
    pack: int | None

    @property
    def key(self) -> str:
        """``"<entry_id>"`` or ``"<entry_id>:<address>"`` (the bank's member id)."""
        return self.entry_id if self.pack is None else f"{self.entry_id}:{self.pack}"

    @classmethod
    def parse(cls, key: str) -> MemberRef:
        """The member a key names (:class:`ValueError` when it is not one)."""
        entry_id, sep, pack = key.partition(":")
        if not entry_id or (sep and not pack.isdigit()):
            raise ValueError(f"not a bank member: {key!r}")
        return cls(entry_id, int(pack) if sep else None)


@dataclass(frozen=True, slots=True)
class BankSettings:
    """A bank entry's options, checked."""

    members: tuple[MemberRef, ...]
    mode: BankMode
    policy: FreshnessPolicy
    switches: bool

    @property
    def entry_ids(self) -> frozenset[str]:
        """The entries the members belong to."""
        return frozenset(member.entry_id for member in self.members)


def settings_of(entry: ConfigEntry) -> BankSettings:
    """The bank's settings from its options (unknown member keys are left out)."""
    options = entry.options
    members: list[MemberRef] = []
    for key in options.get(CONF_MEMBERS) or []:
        try:
            members.append(MemberRef.parse(str(key)))
        except ValueError:
            continue
    return BankSettings(
        members=tuple(dict.fromkeys(members)),
        mode=BankMode(options.get(CONF_MODE, BankMode.PARALLEL.value)),
        policy=FreshnessPolicy(options.get(CONF_POLICY, FreshnessPolicy.ALL.value)),
        switches=bool(options.get(CONF_SWITCHES, False)),
    )


def pack_entries(hass: HomeAssistant) -> list[ConfigEntry]:
    """The connection entries of this domain (banks and ignored entries left out)."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False, include_disabled=True)
        if not is_bank(entry) and CONF_LINK in entry.data
    ]


def entry_members(entry: ConfigEntry) -> list[MemberRef]:
    """The packs a connection entry has (its configured addresses)."""
    return [MemberRef(entry.entry_id, pack) for pack in (entry.data.get(CONF_PACKS) or [None])]


def device_identifier(entry: ConfigEntry, pack: int | None) -> tuple[str, str]:
    """The device-registry identifier of a pack (as :func:`.entity.pack_unique_id` makes it)."""
    base = str(entry.unique_id)
    return DOMAIN, base if pack is None else f"{base}_{pack}"


def member_name(hass: HomeAssistant, member: MemberRef) -> str:
    """What the user calls the pack: its device's name (theirs, if they renamed it), else the entry title."""
    entry = hass.config_entries.async_get_entry(member.entry_id)
    if entry is None:
        return member.key
    device = dr.async_get(hass).async_get_device_by_identifier(device_identifier(entry, member.pack), entry.entry_id)
    if device is not None and (device.name_by_user or device.name):
        return str(device.name_by_user or device.name)
    return entry.title if member.pack is None else f"{entry.title} {member.pack}"


def member_choices(hass: HomeAssistant) -> dict[str, str]:
    """Every pack a bank can take, key -> name (ordered by name)."""
    choices = {m.key: member_name(hass, m) for entry in pack_entries(hass) for m in entry_members(entry)}
    return dict(sorted(choices.items(), key=lambda item: (item[1].casefold(), item[0])))


def switchable(entry: ConfigEntry, switch: Switch) -> bool:
    """Whether the entry's packs can be switched (``switch``) by the bank: control enabled, the plugin can."""
    if not entry.options.get(CONF_CONTROL, False) or entry.data.get(CONF_LINK) == LinkKind.MODBUS:
        return False
    try:
        plugin = registry().get(str(entry.data.get(CONF_VENDOR)))
    except ConfigError:
        return False
    return switch in plugin.capabilities.switches


def entries_without_control(hass: HomeAssistant, entry_ids: Iterable[str]) -> list[str]:
    """Titles of the entries among ``entry_ids`` that cannot switch (control off, or no switch at all)."""
    out = []
    for entry_id in sorted(entry_ids):
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or not any(switchable(entry, switch) for switch in Switch):
            out.append(entry.title if entry is not None else entry_id)
    return out


def bank_switches(hass: HomeAssistant, settings: BankSettings) -> tuple[Switch, ...]:
    """The bank switches to create: wanted, and every member entry can switch that MOSFET."""
    if not settings.switches or not settings.members:
        return ()
    entries = [hass.config_entries.async_get_entry(entry_id) for entry_id in sorted(settings.entry_ids)]
    return tuple(
        switch for switch in Switch if all(entry is not None and switchable(entry, switch) for entry in entries)
    )


def options_from_form(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The bank options a (checked) form's values make."""
    return {
        CONF_MEMBERS: sorted(str(key) for key in user_input[CONF_MEMBERS]),
        CONF_MODE: str(user_input.get(CONF_MODE, BankMode.PARALLEL.value)),
        CONF_POLICY: str(user_input.get(CONF_POLICY, FreshnessPolicy.ALL.value)),
        CONF_SWITCHES: bool(user_input.get(CONF_SWITCHES, False)),
    }
