"""The bank's repair issue: a member pack that no longer exists (its entry deleted, or the pack removed from its bus).

Such a member can never answer again (a connection added anew is a new entry with a new id), so under policy
``all`` the bank would stay unavailable for good and under ``available`` degraded for good. ``bank_member_gone``
names the bank and the packs; the user changes the bank's packs in its options (the bank reloads and the issue is
checked again). Checked when the bank starts and whenever an entry of this domain changes or is removed; deleted
with the bank.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .bank_config import BankSettings, MemberRef, entry_members
from .const import DOMAIN

BANK_MEMBER_GONE = "bank_member_gone"


def gone_members(hass: HomeAssistant, settings: BankSettings) -> list[MemberRef]:
    """The members whose entry is gone, or whose entry no longer has that pack."""
    gone = []
    for member in settings.members:
        entry = hass.config_entries.async_get_entry(member.entry_id)
        if entry is None or member not in entry_members(entry):
            gone.append(member)
    return gone


@callback
def async_check(hass: HomeAssistant, bank_id: str, title: str, names: list[str]) -> None:
    """Raise ``bank_member_gone`` naming ``names`` (the gone members), or delete it when there are none."""
    ident = f"{BANK_MEMBER_GONE}_{bank_id}"
    if not names:
        ir.async_delete_issue(hass, DOMAIN, ident)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ident,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=BANK_MEMBER_GONE,
        translation_placeholders={"bank": title, "packs": ", ".join(names)},
    )
