"""The battery bank's config flow and options flow: pick packs of any entries, mode, policy, switches.

Errors: no pack chosen, switches wanted while a member entry has control off (naming it), no connection entry at
all (abort). The REST sequence a script (the demo) posts is tested as well: ``POST /api/config/config_entries/flow``
``{"handler": "bms_gateway"}``, then ``{"next_step_id": "bank"}``, then the bank form.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryDisabler
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bms_gateway.bank_config import (
    CONF_BANK,
    CONF_MEMBERS,
    CONF_MODE,
    CONF_POLICY,
    CONF_SWITCHES,
)
from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import CONF_CONTROL, DOMAIN

from .bank_helpers import bank_entry


def _pack_entries(hass: HomeAssistant, control: tuple[bool, bool] = (False, False)) -> tuple[MockConfigEntry, ...]:
    """A PACE bus entry (packs 1, 2) and a JBD Bluetooth entry, added disabled (the flow needs only their data)."""
    pace_data = {"link": "tcp", "host": "10.0.0.5", "port": 4196, "vendor": "pace", "family": "ascii-25"}
    pace_data["packs"] = [1, 2]
    jbd_data = {"link": "ble", "address": "A4:C1:38:00:00:01", "vendor": "jbd", "packs": [None]}
    entries = (
        MockConfigEntry(
            domain=DOMAIN,
            data=pace_data,
            unique_id=unique_id(pace_data),
            title="Rack",
            entry_id="pace0",
            options={CONF_CONTROL: control[0]},
            disabled_by=ConfigEntryDisabler.USER,
        ),
        MockConfigEntry(
            domain=DOMAIN,
            data=jbd_data,
            unique_id=unique_id(jbd_data),
            title="Shed",
            entry_id="jbd0",
            options={CONF_CONTROL: control[1]},
            disabled_by=ConfigEntryDisabler.USER,
        ),
    )
    for entry in entries:
        entry.add_to_hass(hass)
    return entries


async def _bank_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "bank" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bank"})
    return dict(result)


async def test_no_pack_entries_aborts(hass: HomeAssistant) -> None:
    """A bank needs packs of connection entries: none configured, the flow aborts."""
    result = await _bank_form(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bank_no_packs_configured"


async def test_bank_flow_errors_then_creates(hass: HomeAssistant) -> None:
    """The packs of every entry are offered by name; no pack and switches without control are refused."""
    _pack_entries(hass, control=(True, False))
    result = await _bank_form(hass)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "bank"
    schema = result["data_schema"].schema
    members = next(v for k, v in schema.items() if k == CONF_MEMBERS)
    offered = {o["value"]: o["label"] for o in members.config["options"]}
    assert offered == {"pace0:1": "Rack 1", "pace0:2": "Rack 2", "jbd0": "Shed"}

    form = {"name": "House battery", CONF_MEMBERS: [], CONF_MODE: "parallel", CONF_POLICY: "all"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {**form, CONF_SWITCHES: False})
    assert result["errors"] == {"base": "bank_no_packs"}

    form[CONF_MEMBERS] = ["pace0:1", "pace0:2", "jbd0"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {**form, CONF_SWITCHES: True})
    assert result["errors"] == {"base": "bank_control_not_enabled"}
    assert result["description_placeholders"]["entries"] == "Shed"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, CONF_POLICY: "available", CONF_SWITCHES: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "House battery"
    assert result["data"] == {CONF_BANK: True}
    assert result["options"] == {
        CONF_MEMBERS: ["jbd0", "pace0:1", "pace0:2"],
        CONF_MODE: "parallel",
        CONF_POLICY: "available",
        CONF_SWITCHES: False,
    }
    await hass.async_block_till_done()


async def test_options_flow_changes_members(hass: HomeAssistant) -> None:
    """The bank's options flow changes its packs, mode and policy (and checks switches as the config flow does)."""
    _pack_entries(hass, control=(True, True))
    bank = bank_entry(["pace0:1", "pace0:2"])
    bank.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(bank.entry_id)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "bank"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MEMBERS: [], CONF_MODE: "series", CONF_POLICY: "all", CONF_SWITCHES: False}
    )
    assert result["errors"] == {"base": "bank_no_packs"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_MEMBERS: ["pace0:1", "jbd0"], CONF_MODE: "series", CONF_POLICY: "all", CONF_SWITCHES: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert bank.options == {
        CONF_MEMBERS: ["jbd0", "pace0:1"],
        CONF_MODE: "series",
        CONF_POLICY: "all",
        CONF_SWITCHES: True,
    }
    await hass.async_block_till_done()


async def test_reconfigure_a_bank_aborts(hass: HomeAssistant) -> None:
    """A bank has no connection to move."""
    _pack_entries(hass)
    bank = bank_entry(["jbd0"])
    bank.add_to_hass(hass)
    result = await bank.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_bank"


async def test_bank_through_the_rest_api(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    """What a script posts to make a bank: the menu choice, then the form (members by the values the form offers)."""
    _pack_entries(hass)
    assert await async_setup_component(hass, "config", {})
    assert await async_setup_component(hass, DOMAIN, {})  # its dependencies register views: before the client
    client = await hass_client()
    response = await client.post("/api/config/config_entries/flow", json={"handler": DOMAIN})
    assert response.status == 200
    flow = await response.json()
    assert flow["type"] == "menu" and "bank" in flow["menu_options"]
    response = await client.post(f"/api/config/config_entries/flow/{flow['flow_id']}", json={"next_step_id": "bank"})
    form = await response.json()
    assert form["step_id"] == "bank"
    field = next(f for f in form["data_schema"] if f["name"] == CONF_MEMBERS)
    members = [o["value"] for o in field["selector"]["select"]["options"] if o["label"].startswith("Rack")]
    response = await client.post(
        f"/api/config/config_entries/flow/{flow['flow_id']}",
        json={"name": "Rack bank", CONF_MEMBERS: members, CONF_MODE: "parallel", CONF_POLICY: "available"},
    )
    created = await response.json()
    assert response.status == 200, created
    assert created["type"] == "create_entry"
    (bank,) = [e for e in hass.config_entries.async_entries(DOMAIN) if e.data.get(CONF_BANK)]
    assert bank.title == "Rack bank"
    assert bank.options[CONF_MEMBERS] == ["pace0:1", "pace0:2"]
    await hass.async_block_till_done()
