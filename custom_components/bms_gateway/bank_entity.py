"""The base of every battery-bank entity: the bank's device, told after each bank update, writes only on change.

A bank entity shows ``(available, value, attributes)`` computed from the bank's latest reading
(:attr:`.bank_hub.BankHub.snapshot`); after each bank update (once per member round, see :mod:`.bank_hub`) it
computes them again and writes its state only when they differ from what it shows. Attributes name packs by their
device names (:meth:`.bank_hub.BankHub.name`), never by entry ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription

from vendor_plugins.bank import BankSnapshot, CellRef, SensorRef

from .bank_hub import BankHub

type Shown = tuple[bool, Any, dict[str, Any] | None]
type AttrsFn = Callable[[BankHub, BankSnapshot], dict[str, Any] | None]


@dataclass(frozen=True, kw_only=True)
class BankValueDescription(EntityDescription):
    """A bank entity showing one value of the bank's reading, with optional attributes naming packs."""

    value_fn: Callable[[BankSnapshot], Any]
    attrs_fn: AttrsFn | None = None
    #: Shown while the bank reports nothing too (the degraded state says why it does not).
    always_available: bool = False


def cell_attrs(at: Callable[[BankSnapshot], CellRef | None]) -> AttrsFn:
    """Attributes naming the pack and cell of a bank-wide cell value."""

    def attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
        ref = at(bank)
        return None if ref is None else {"pack": hub.name(ref.pack), "cell": ref.cell}

    return attrs


def sensor_attrs(at: Callable[[BankSnapshot], SensorRef | None]) -> AttrsFn:
    """Attributes naming the pack and sensor of a bank-wide temperature."""

    def attrs(hub: BankHub, bank: BankSnapshot) -> dict[str, Any] | None:
        ref = at(bank)
        return None if ref is None else {"pack": hub.name(ref.pack), "sensor": ref.name}

    return attrs


class BankEntity(Entity):
    """An entity of one bank (see the module docstring); subclasses say what they show in :meth:`_compute`."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: BankHub, description: EntityDescription) -> None:
        """Take what the bank shows now (nothing is written before the entity is added)."""
        self.hub = hub
        self.entity_description = description
        self._attr_unique_id = f"{hub.unique_base}_{description.key}"
        self._attr_device_info = hub.device_info
        self._shown: Shown = self._compute()

    def _compute(self) -> Shown:
        """``(available, value, attributes)`` from the bank's latest reading."""
        raise NotImplementedError

    async def async_added_to_hass(self) -> None:
        """Follow the bank's updates."""
        await super().async_added_to_hass()
        self._shown = self._compute()
        self.async_on_remove(self.hub.async_add_listener(self._bank_updated))

    @callback
    def _bank_updated(self) -> None:
        """Write state only when what the entity shows changed."""
        shown = self._compute()
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()

    @property
    def available(self) -> bool:
        """Whether the bank reports (see :meth:`_compute`)."""
        return self._shown[0]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The packs (and cells) the value comes from, where that means something."""
        return self._shown[2]


class BankValueEntity(BankEntity):
    """A value of the bank's reading (:class:`BankValueDescription`)."""

    entity_description: BankValueDescription

    def _compute(self) -> Shown:
        bank = self.hub.snapshot
        description = self.entity_description
        if bank is None or not (bank.available or description.always_available):
            return False, None, None
        attrs = None if description.attrs_fn is None else description.attrs_fn(self.hub, bank)
        return True, description.value_fn(bank), attrs


__all__ = ["BankEntity", "BankValueDescription", "BankValueEntity", "cell_attrs", "sensor_attrs"]
