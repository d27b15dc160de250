"""Bank switches: every member's MOSFET through its own entry's verified path; a partial failure names the packs.

Two JBD packs, each behind its own TCP bridge with control enabled, make a bank with switches. One pack
acknowledges MOSFET writes but never switches (a protection holding it: ``ControlNotConfirmed`` after read-back):
turning the bank's discharge switch off raises a translated error naming the pack that switched and the one that did
not, and the bank shows the state read back. Switches are not offered unless every member entry has control enabled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.const import CONF_CONTROL
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import session as jbd_session
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.sim import serve_tcp

from .bank_helpers import bank_entity_id, bank_entry, bank_state, device_name, hub, jbd_tcp_entry, pack_state
from .helpers import jbd_state, setup_entry


@pytest.fixture(autouse=True)
def _fast_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JBD session re-reads a few times before giving up; keep those waits short."""
    monkeypatch.setattr(jbd_session, "CONFIRM_INTERVAL", 0.01)


class StubbornSimulator(JbdSimulator):
    """Acknowledges MOSFET writes but never changes state (a protection holding the MOSFET)."""

    def handle(self, request: bytes) -> bytes | None:
        frame = codec.parse_frame(request, request=True)
        if frame.status == t.MODE_WRITE and frame.command == t.REG_MOS:
            self.requests.append(request)
            return codec.build_response(t.REG_MOS, b"")
        return super().handle(request)


@asynccontextmanager
async def two_jbd_bank(
    first: JbdSimulator, second: JbdSimulator, *, control: tuple[bool, bool] = (True, True)
) -> AsyncIterator[tuple[MockConfigEntry, MockConfigEntry, MockConfigEntry]]:
    """Two JBD entries serving ``first`` / ``second`` (control as given), a bank of both with switches (not set up)."""
    async with await serve_tcp(first) as server_a, await serve_tcp(second) as server_b:
        yield (
            jbd_tcp_entry(server_a, entry_id="packa", title="Pack A", **{CONF_CONTROL: control[0]}),
            jbd_tcp_entry(server_b, entry_id="packb", title="Pack B", **{CONF_CONTROL: control[1]}),
            bank_entry(["packa", "packb"], switches=True),
        )


async def _setup(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    for entry in entries:
        await setup_entry(hass, entry)


async def _unload(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    for entry in reversed(entries):
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_bank_switch_switches_every_member(hass: HomeAssistant) -> None:
    """Both packs switch: the bank switch shows off, and so does each pack's MOSFET."""
    sims = JbdSimulator(jbd_state(cells=4)), JbdSimulator(jbd_state(cells=4))
    async with two_jbd_bank(*sims) as (pack_a, pack_b, bank):
        await _setup(hass, pack_a, pack_b, bank)
        switch = bank_entity_id(hass, "discharge_mosfet_switch", "switch")
        assert switch is not None
        assert hass.states.get(switch).state == STATE_ON
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        assert hass.states.get(switch).state == STATE_OFF
        assert [sim.state.discharge_mosfet for sim in sims] == [False, False]
        for entry in (pack_a, pack_b):
            assert pack_state(hass, entry, None, "discharge_mosfet", "binary_sensor") == STATE_OFF
        names = [device_name(hass, entry, None) for entry in (pack_a, pack_b)]
        assert bank_state(hass, "discharge_mosfet", "binary_sensor").attributes["off"] == names
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        assert hass.states.get(switch).state == STATE_ON
        await _unload(hass, pack_a, pack_b, bank)


async def test_one_member_refusing_names_the_packs(hass: HomeAssistant) -> None:
    """One pack does not switch (ControlNotConfirmed): the error names which packs did and which did not."""
    good, stubborn = JbdSimulator(jbd_state(cells=4)), StubbornSimulator(jbd_state(cells=4))
    async with two_jbd_bank(good, stubborn) as (pack_a, pack_b, bank):
        await _setup(hass, pack_a, pack_b, bank)
        switch = bank_entity_id(hass, "discharge_mosfet_switch", "switch")
        assert switch is not None
        with pytest.raises(HomeAssistantError) as caught:
            await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        assert caught.value.translation_key == "bank_switch_partial"
        placeholders = caught.value.translation_placeholders or {}
        name_a, name_b = device_name(hass, pack_a, None), device_name(hass, pack_b, None)
        assert placeholders["switched"] == name_a
        assert placeholders["failed"].startswith(f"{name_b} (")
        assert f"Switched: {name_a}. Not switched: {name_b} (" in str(caught.value)
        assert (good.state.discharge_mosfet, stubborn.state.discharge_mosfet) == (False, True)
        # The bank shows what the packs read back: some MOSFET off (Pack A), so the bank switch is off.
        assert hass.states.get(switch).state == STATE_OFF
        assert bank_state(hass, "discharge_mosfet", "binary_sensor").attributes["off"] == [name_a]

        # The other way round: a protection turned the stubborn pack's MOSFET off and holds it there; turning the
        # bank on switches Pack A back on and fails for Pack B again.
        stubborn.state.discharge_mosfet = False
        with pytest.raises(HomeAssistantError) as caught:
            await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        assert caught.value.translation_key == "bank_switch_partial"
        assert (good.state.discharge_mosfet, stubborn.state.discharge_mosfet) == (True, False)
        assert hass.states.get(switch).state == STATE_OFF
        await _unload(hass, pack_a, pack_b, bank)


async def test_every_member_refusing(hass: HomeAssistant) -> None:
    """No pack switches: the error says none did (its own message), naming each with its reason."""
    sims = StubbornSimulator(jbd_state(cells=4)), StubbornSimulator(jbd_state(cells=4))
    async with two_jbd_bank(*sims) as (pack_a, pack_b, bank):
        await _setup(hass, pack_a, pack_b, bank)
        switch = bank_entity_id(hass, "charge_mosfet_switch", "switch")
        assert switch is not None
        with pytest.raises(HomeAssistantError) as caught:
            await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        assert caught.value.translation_key == "bank_switch_failed"
        failed = (caught.value.translation_placeholders or {})["failed"]
        assert all(f"{device_name(hass, entry, None)} (" in failed for entry in (pack_a, pack_b))
        assert hass.states.get(switch).state == STATE_ON
        await _unload(hass, pack_a, pack_b, bank)


async def test_no_switches_without_control_on_every_member(hass: HomeAssistant) -> None:
    """A member entry with control off: the bank offers no switches (even though its options ask for them)."""
    sims = JbdSimulator(jbd_state(cells=4)), JbdSimulator(jbd_state(cells=4))
    async with two_jbd_bank(*sims, control=(True, False)) as (pack_a, pack_b, bank):
        await _setup(hass, pack_a, pack_b, bank)
        assert bank_entity_id(hass, "charge_mosfet_switch", "switch") is None
        assert bank_entity_id(hass, "discharge_mosfet_switch", "switch") is None
        assert hub(bank).switches == ()
        # Control enabled on the second entry too (its options change, it reloads): the bank reloads with switches.
        hass.config_entries.async_update_entry(pack_b, options={CONF_CONTROL: True})
        assert await hass.config_entries.async_reload(pack_b.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert bank_entity_id(hass, "discharge_mosfet_switch", "switch") is not None
        await _unload(hass, pack_a, pack_b, bank)
