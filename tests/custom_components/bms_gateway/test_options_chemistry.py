"""The options flow's cell chemistry: default unknown (not stored), the choice reaches the library, translated.

The chemistry is the user's word for packs whose protocol does not say their own; it never refuses a reading, it
names cells outside the chemistry's window in the snapshot's ``raw`` (docs/model.md, "Chemistry").
"""

from __future__ import annotations

import json
import pathlib

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.bms_gateway.const import CONF_CHEMISTRY
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Chemistry
from vendor_plugins.sim import serve_tcp

from .helpers import jbd_state, setup_entry, tcp_entry

TRANSLATIONS = pathlib.Path(__file__).parents[3] / "custom_components" / "bms_gateway" / "translations"
OTHER_OPTIONS = {"scan_interval": 15, "control": False, "cell_entities": "default", "cell_balancing_entities": False}


async def test_chemistry_option_defaults_to_unknown_and_reaches_the_reader(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))  # JBD packs do not say their chemistry
    async with await serve_tcp(sim) as server:
        entry = await setup_entry(hass, tcp_entry(server.host, server.port))
        assert entry.runtime_data.session.options.chemistry is None

        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["type"] is FlowResultType.FORM
        defaults = {str(key): key.default() for key in result["data_schema"].schema if hasattr(key, "default")}
        assert defaults[CONF_CHEMISTRY] == "unknown"
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**OTHER_OPTIONS, CONF_CHEMISTRY: "lfp"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.options[CONF_CHEMISTRY] == "lfp"
        coordinator = entry.runtime_data  # reloaded with the new options
        assert coordinator.session.options.chemistry is Chemistry.LFP
        assert coordinator.device_infos[None].chemistry is Chemistry.LFP

        # An LFP cell charged past 3.65 V is shown (never refused) and named in the diagnostics' raw values.
        sim.state.cell_voltages[2] = 3.9
        await coordinator.async_refresh()
        snapshot = coordinator.data[None]
        assert snapshot.cell_voltages[2] == 3.9
        assert snapshot.raw["cells_above_chemistry_window"] == "3"

        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**OTHER_OPTIONS, CONF_CHEMISTRY: "unknown"}
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        assert CONF_CHEMISTRY not in entry.options  # unknown is the absence of a choice
        assert entry.runtime_data.session.options.chemistry is None
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("language", ["en", "es"])
def test_chemistry_choices_are_translated(language: str) -> None:
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text())
    options = strings["selector"][CONF_CHEMISTRY]["options"]
    assert set(options) == {"unknown", *Chemistry}
    step = strings["options"]["step"]["init"]
    assert step["data"][CONF_CHEMISTRY] and step["data_description"][CONF_CHEMISTRY]
