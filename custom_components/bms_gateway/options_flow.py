"""Options flow: the poll interval, control (off by default), which per-cell entities are enabled, the cells' chemistry.

The poll interval is checked by :mod:`vendor_plugins.settings` (``bad_scan_interval``); changing the per-cell choice
enables or disables the existing per-cell entities (a user's own choice is left alone). The entry reloads with the
new options.
"""

from __future__ import annotations

import re
from typing import Any

import probatio as vol
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
)

from vendor_plugins import schemas
from vendor_plugins.model import Chemistry
from vendor_plugins.plugin import LinkKind, VendorPlugin

from .bus_growth import can_grow
from .connection import registry
from .const import (
    CELL_CHOICES,
    CELLS_DEFAULT,
    CHEMISTRY_UNKNOWN,
    CONF_CELL_BALANCING,
    CONF_CELLS,
    CONF_CHEMISTRY,
    CONF_CONTROL,
    CONF_LINK,
    CONF_SCAN_INTERVAL,
    CONF_SCAN_NEW_PACKS,
    CONF_VENDOR,
    DEFAULT_SCAN_SECONDS,
    MAX_SCAN_SECONDS,
    MIN_SCAN_SECONDS,
)
from .descriptions import enabled_cell_count

_CELL_ENTITY = re.compile(r"_cell_(\d+)_(voltage|balancing)$")


@callback
def apply_cell_choice(hass: HomeAssistant, entry: ConfigEntry, cells: str, balancing: bool) -> None:
    """Enable / disable existing per-cell entities to match the options (a user's own choice is left alone)."""
    enabled_voltages = enabled_cell_count(cells)
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        match = _CELL_ENTITY.search(entity.unique_id)
        if match is None or entity.disabled_by is er.RegistryEntryDisabler.USER:
            continue
        wanted = int(match[1]) <= enabled_voltages if match[2] == "voltage" else balancing
        if wanted and entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION:
            entities.async_update_entity(entity.entity_id, disabled_by=None)
        elif not wanted and entity.disabled_by is None:
            entities.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.INTEGRATION)


def can_control(entry: ConfigEntry, plugin: VendorPlugin) -> bool:
    """Whether the entry's packs can be switched: the plugin has switches and the link is not Modbus.

    The plugin contract declares switches per vendor, not per protocol; the Modbus register maps the library reads
    have no MOSFET register, so a Modbus entry never offers control.
    """
    return bool(plugin.capabilities.switches) and entry.data.get(CONF_LINK) != LinkKind.MODBUS


class BmsOptionsFlow(OptionsFlowWithReload):
    """Poll interval (bounded, a default per link kind), control (off by default), per-cell entities."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; the entry reloads with the new options."""
        entry = self.config_entry
        plugin = registry().get(str(entry.data[CONF_VENDOR]))
        errors: dict[str, str] = {}
        if user_input is not None:
            checked, errors = schemas.field_errors(schemas.options_schema(), user_input)
        if user_input is not None and not errors:
            options: dict[str, Any] = {
                CONF_SCAN_INTERVAL: int(checked[CONF_SCAN_INTERVAL]),
                CONF_CONTROL: bool(user_input.get(CONF_CONTROL, False)) and can_control(entry, plugin),
                CONF_CELLS: str(user_input[CONF_CELLS]),
                CONF_CELL_BALANCING: bool(user_input.get(CONF_CELL_BALANCING, False)),
            }
            if can_grow(entry, plugin):
                options[CONF_SCAN_NEW_PACKS] = bool(user_input.get(CONF_SCAN_NEW_PACKS, True))
            if (chemistry := str(user_input.get(CONF_CHEMISTRY, CHEMISTRY_UNKNOWN))) in set(Chemistry):
                options[CONF_CHEMISTRY] = chemistry  # "unknown" is not stored
            old_cells = (entry.options.get(CONF_CELLS, CELLS_DEFAULT), entry.options.get(CONF_CELL_BALANCING, False))
            if old_cells != (options[CONF_CELLS], options[CONF_CELL_BALANCING]):
                apply_cell_choice(self.hass, entry, options[CONF_CELLS], options[CONF_CELL_BALANCING])
            return self.async_create_entry(data=options)
        default_interval = DEFAULT_SCAN_SECONDS.get(str(entry.data[CONF_LINK]), 15)
        fields: dict[Any, Any] = {
            vol.Required(CONF_SCAN_INTERVAL, default=default_interval): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_SCAN_SECONDS,
                    max=MAX_SCAN_SECONDS,
                    step=1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.BOX,
                )
            ),
        }
        if can_control(entry, plugin):
            fields[vol.Required(CONF_CONTROL, default=False)] = BooleanSelector()
        fields[vol.Required(CONF_CELLS, default=CELLS_DEFAULT)] = SelectSelector(
            SelectSelectorConfig(options=list(CELL_CHOICES), translation_key=CONF_CELLS)
        )
        fields[vol.Required(CONF_CELL_BALANCING, default=False)] = BooleanSelector()
        if can_grow(entry, plugin):
            fields[vol.Required(CONF_SCAN_NEW_PACKS, default=True)] = BooleanSelector()
        fields[vol.Required(CONF_CHEMISTRY, default=CHEMISTRY_UNKNOWN)] = SelectSelector(
            SelectSelectorConfig(options=[CHEMISTRY_UNKNOWN, *Chemistry], translation_key=CONF_CHEMISTRY)
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), user_input or dict(entry.options)),
            errors=errors,
            description_placeholders={
                "default_interval": str(default_interval),
                "min": str(MIN_SCAN_SECONDS),
                "max": str(MAX_SCAN_SECONDS),
            },
        )
