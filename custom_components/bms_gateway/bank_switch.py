"""A battery bank's switches: the charge / discharge MOSFET of every member at once.

Offered only when the bank's options ask for them and every member entry has control enabled (and its vendor can
switch that MOSFET; :func:`~.bank_config.bank_switches`). Turning one on or off switches each member through its
own entry's verified path (:meth:`~.coordinator.BmsCoordinator.async_set_switch`: refused unless control is enabled,
confirmed by reading the state back) — members of one entry one after the other (they share a link), entries side by
side. Every member is tried; when some did not switch, a translated :class:`HomeAssistantError` names the packs that
did and those that did not (with the reason), and the switch shows the state read back from the packs. Nothing
switches on its own: no restore, no write at start-up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.components.switch.const import SwitchDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from vendor_plugins.errors import BmsError
from vendor_plugins.model import Switch

from .bank_config import MemberRef
from .bank_entity import BankEntity, Shown
from .bank_hub import BankHub, hub_of
from .const import DOMAIN

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The bank's switches, when offered (they need no reading to exist)."""
    hub = hub_of(entry)
    async_add_entities(BankMosfetSwitch(hub, switch) for switch in hub.switches)


async def async_switch_members(hub: BankHub, switch: Switch, on: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Switch every member; returns the names of the packs that switched and of those that did not (with why)."""
    by_entry: dict[str, list[MemberRef]] = {}
    for member in hub.settings.members:
        by_entry.setdefault(member.entry_id, []).append(member)

    async def entry_members(members: list[MemberRef]) -> list[tuple[MemberRef, str | None]]:
        coordinator = hub.coordinator(members[0])
        if coordinator is None:
            return [(member, "not loaded") for member in members]
        done: list[tuple[MemberRef, str | None]] = []
        for member in members:
            try:
                await coordinator.async_set_switch(member.pack, switch, on)
            except BmsError as err:
                done.append((member, coordinator.for_log(err)))
            else:
                done.append((member, None))
        return done

    results = await asyncio.gather(*(entry_members(members) for members in by_entry.values()))
    outcome = {member.key: error for done in results for member, error in done}
    switched = [hub.name(m.key) for m in hub.settings.members if outcome.get(m.key, "") is None]
    failed = [(hub.name(m.key), outcome[m.key] or "") for m in hub.settings.members if outcome.get(m.key) is not None]
    return switched, failed


class BankMosfetSwitch(BankEntity, SwitchEntity):
    """The charge or discharge MOSFETs of every member of the bank."""

    def __init__(self, hub: BankHub, switch: Switch) -> None:
        """Show the bank's MOSFET state (on: every member's is on)."""
        self.switch = switch
        super().__init__(
            hub,
            SwitchEntityDescription(
                key=f"{switch.value}_mosfet_switch",
                translation_key=f"{switch.value}_mosfet_switch",
                device_class=SwitchDeviceClass.SWITCH,
            ),
        )

    def _compute(self) -> Shown:
        bank = self.hub.snapshot
        if bank is None or not bank.available:
            return bool(self.hub.attached), None, None
        state: bool | None = getattr(bank, f"{self.switch.value}_mosfet")
        return True, state, {"off": self.hub.names(getattr(bank, f"{self.switch.value}_mosfet_off"))}

    @property
    def is_on(self) -> bool | None:
        """On when every member reports its MOSFET on."""
        value: bool | None = self._shown[1]
        return value

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch every member's MOSFET on, each confirmed by read-back."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch every member's MOSFET off, each confirmed by read-back."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        try:
            switched, failed = await async_switch_members(self.hub, self.switch, on)
        finally:
            self.hub.async_update_now()  # the members' confirmed (or read-back) states
            self._write_now()
        if failed:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="bank_switch_partial" if switched else "bank_switch_failed",
                translation_placeholders={
                    "bank": self.hub.entry.title,
                    "switch": self.switch.value,
                    "state": "on" if on else "off",
                    "switched": ", ".join(switched),
                    "failed": "; ".join(f"{name} ({error})" for name, error in failed),
                },
            )

    @callback
    def _write_now(self) -> None:
        """Show the state read back even when it did not change (the user asked for another)."""
        self._shown = self._compute()
        self.async_write_ha_state()
