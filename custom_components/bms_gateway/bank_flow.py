"""The battery bank's config flow step and options flow: pick packs of any entries, the wiring and the policy.

"Battery bank" in the config flow's first menu (step ``bank``) makes a bank entry (:mod:`.bank_config`): a name,
the member packs (any connection entries of this domain: every vendor, every transport), the ``mode`` (parallel /
series), the freshness ``policy`` (``all`` / ``available``) and whether bank switches are wanted. Errors:
``bank_no_packs`` (none chosen) and ``bank_control_not_enabled`` (switches wanted, but some member entry has control
off — naming them); with no connection entry at all the flow aborts (``bank_no_packs_configured``). The options flow
changes the same settings (the entry reloads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .bank_config import (
    CONF_BANK,
    CONF_MEMBERS,
    CONF_MODE,
    CONF_NAME,
    CONF_POLICY,
    CONF_SWITCHES,
    MODES,
    POLICIES,
    MemberRef,
    entries_without_control,
    member_choices,
    options_from_form,
)

#: The bank's name when the user leaves the field as it is.
DEFAULT_NAME = "Battery bank"


def bank_schema(choices: Mapping[str, str], *, with_name: bool) -> vol.Schema:
    """The bank form: (name,) members, mode, policy, switches."""
    fields: dict[Any, Any] = {}
    if with_name:
        fields[vol.Required(CONF_NAME, default=DEFAULT_NAME)] = TextSelector()
    fields[vol.Required(CONF_MEMBERS, default=[])] = SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=key, label=label) for key, label in choices.items()],
            multiple=True,
            mode=SelectSelectorMode.LIST,
        )
    )
    fields[vol.Required(CONF_MODE, default=MODES[0])] = SelectSelector(
        SelectSelectorConfig(options=list(MODES), translation_key="bank_mode")
    )
    fields[vol.Required(CONF_POLICY, default=POLICIES[0])] = SelectSelector(
        SelectSelectorConfig(options=list(POLICIES), translation_key="bank_policy")
    )
    fields[vol.Required(CONF_SWITCHES, default=False)] = BooleanSelector()
    return vol.Schema(fields)


def check_bank(hass: HomeAssistant, user_input: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The form's errors (``base``) and their placeholders; none when the bank can be made."""
    members = [MemberRef.parse(str(key)) for key in user_input.get(CONF_MEMBERS) or []]
    if not members:
        return {"base": "bank_no_packs"}, {}
    if user_input.get(CONF_SWITCHES):
        refusing = entries_without_control(hass, {member.entry_id for member in members})
        if refusing:
            return {"base": "bank_control_not_enabled"}, {"entries": ", ".join(refusing)}
    return {}, {}


class BankConfigFlow(ConfigFlow):
    """The bank step of the integration's config flow (mixed into it; no domain of its own)."""

    async def async_step_bank(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Name the bank, pick its packs, its wiring and freshness policy, and whether it gets switches."""
        choices = member_choices(self.hass)
        if not choices:
            return self.async_abort(reason="bank_no_packs_configured")
        errors: dict[str, str] = {}
        placeholders = {"count": str(len(choices)), "entries": ""}
        if user_input is not None:
            errors, extra = check_bank(self.hass, user_input)
            placeholders |= extra
            if not errors:
                title = str(user_input.get(CONF_NAME) or "").strip() or DEFAULT_NAME
                return self.async_create_entry(
                    title=title, data={CONF_BANK: True}, options=options_from_form(user_input)
                )
        return self.async_show_form(
            step_id="bank",
            data_schema=self.add_suggested_values_to_schema(bank_schema(choices, with_name=True), user_input),
            errors=errors,
            description_placeholders=placeholders,
        )


class BankOptionsFlow(OptionsFlowWithReload):
    """Change a bank's packs, wiring, policy and switches; the bank reloads."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The bank form (its own step id: ``init`` is the connection entries' options form)."""
        return await self.async_step_bank(user_input)

    async def async_step_bank(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form, as the bank step's without the name."""
        choices = member_choices(self.hass)
        errors: dict[str, str] = {}
        placeholders = {"count": str(len(choices)), "entries": ""}
        if user_input is not None:
            errors, extra = check_bank(self.hass, user_input)
            placeholders |= extra
            if not errors:
                return self.async_create_entry(data=options_from_form(user_input))
        current = dict(self.config_entry.options)
        # Members whose entry is gone stay visible (so that removing them is a choice, not a surprise).
        for key in current.get(CONF_MEMBERS) or []:
            choices.setdefault(str(key), str(key))
        return self.async_show_form(
            step_id="bank",
            data_schema=self.add_suggested_values_to_schema(
                bank_schema(choices, with_name=False), user_input or current
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


__all__ = ["BankConfigFlow", "BankOptionsFlow", "bank_schema", "check_bank"]
