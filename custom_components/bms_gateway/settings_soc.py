"""Setting (recalibrating) the state of charge: one number entity per pack whose protocol can set it.

Why a number and not a button plus a number: the entity shows the SoC the pack reports (it follows every poll) and
setting it is one action — ``number.set_value`` from the more-info dialog or an automation — with nothing kept in
Home Assistant between two steps. A button would need a second entity holding a pending value that is not the
pack's, which the user must remember to set first, and whose state means nothing after a restart.

Created by the number platform only while the user enabled control, for packs whose session has no reason to
refuse (:meth:`~vendor_plugins.plugin.Session.soc_unsupported_reason` is ``None``) and that report a SoC; entity
category *config*, disabled by default. A write goes through :meth:`~vendor_plugins.plugin.Session.set_soc` (refused
before a byte is sent unless 0-100 %, confirmed by a reading within 1 %); a refused or unconfirmed write raises a
translated error, and the entity shows the SoC read back. Nothing here writes on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from homeassistant.components.number import NumberDeviceClass, NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.exceptions import HomeAssistantError

from vendor_plugins.battery_settings import format_value
from vendor_plugins.errors import BmsError
from vendor_plugins.model import BmsSnapshot

from .const import DOMAIN
from .coordinator import BmsCoordinator, PackAddress
from .descriptions import PackValueDescription
from .entity import BmsEntity
from .settings_cache import cache_for, error_key

#: The setting name used in error messages.
SOC = "state_of_charge"


@dataclass(frozen=True, kw_only=True)
class SocNumberDescription(NumberEntityDescription, PackValueDescription):
    """The SoC number: the snapshot's SoC, settable."""

    value_fn: Callable[[BmsSnapshot], float | None]


DESCRIPTION = SocNumberDescription(
    key="set_soc",
    translation_key="set_soc",
    entity_category=EntityCategory.CONFIG,
    entity_registry_enabled_default=False,
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    native_unit_of_measurement=PERCENTAGE,
    device_class=NumberDeviceClass.BATTERY,
    mode=NumberMode.BOX,
    value_fn=attrgetter("soc"),
    field="soc",
)


def soc_numbers(coordinator: BmsCoordinator) -> list[BmsSocNumber]:
    """The SoC entities of the packs that can set it (none unless control is enabled; no I/O)."""
    if not coordinator.control_enabled or coordinator.session.soc_unsupported_reason() is not None:
        return []
    out: list[BmsSocNumber] = []
    for pack in coordinator.packs:
        snapshot = coordinator.first_snapshots.get(pack)
        if snapshot is not None and snapshot.soc is not None:
            out.append(BmsSocNumber(coordinator, pack))
    return out


class BmsSocNumber(BmsEntity, NumberEntity):
    """The state of charge of one pack, settable."""

    entity_description: SocNumberDescription

    def __init__(self, coordinator: BmsCoordinator, pack: PackAddress) -> None:
        """Show the SoC the pack reports."""
        super().__init__(coordinator, pack, DESCRIPTION)
        self.cache = cache_for(coordinator)

    @property
    def native_value(self) -> float | None:
        """The SoC the pack reports (follows the polls)."""
        value: float | None = self._value
        return value

    async def async_set_native_value(self, value: float) -> None:
        """Set the SoC through the verified path; the entity shows the SoC the pack reports afterwards."""
        placeholders = {"setting": SOC, "value": f"{format_value(value)} %", "pack": self.device_name}
        try:
            await self.cache.async_set_soc(self.pack, value)
        except BmsError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=error_key(err),
                translation_placeholders={**placeholders, "error": self.coordinator.for_log(err)},
            ) from err
        finally:
            snapshot = self.coordinator.snapshot(self.pack)
            if snapshot is not None:
                self._value = self._value_fn(snapshot)
            self.async_write_ha_state()
