"""Dynamic devices: a pack plugged into a running PACE bus (simulator over TCP loopback) is found in the background.

Every request the simulated bus receives is recorded (each simulator on a bus sees every request), so the tests can
say which addresses were probed and that no probe wrote anything.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.bms_gateway as integration
from custom_components.bms_gateway import bus_growth
from custom_components.bms_gateway.bus_growth import PROBE_EVERY
from custom_components.bms_gateway.const import CONF_IGNORED_PACKS, CONF_SCAN_NEW_PACKS, DOMAIN
from tests.vendor_plugins.readonly import assert_read_only
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import SimServer, Simulator, serve_tcp
from vendor_plugins.transports import TcpLink

from .helpers import answer_again, assert_states_match, bus_simulators, pace_bus_entry, setup_entry, silence, tick

#: Addresses of the simulated bus: 1 and 2 are configured, 3 is plugged in later.
BUS = (1, 2, 3)
FREE = 13  # addresses 0-15 minus the configured 1, 2 and the later one


@dataclass
class Bus:
    """A running simulated PACE bus and every request it received."""

    server: SimServer
    sims: dict[int, Simulator]
    requests: list[bytes] = field(default_factory=list)
    _handlers: dict[int, Callable[[bytes], bytes | None]] = field(default_factory=dict)

    def unplug(self, address: int) -> None:
        """The pack at ``address`` stops answering (disconnected from the bus)."""
        silence(self.sims[address])

    def plug(self, address: int) -> None:
        """The pack at ``address`` answers again."""
        answer_again(self.sims[address])

    def addresses(self, since: int = 0) -> set[int]:
        """The addresses requests were sent to (PACE ASCII: ADR is the 2 hex digits after ``~`` and VER)."""
        return {int(r[3:5], 16) for r in self.requests[since:]}


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    sims = dict(zip(BUS, bus_simulators(BUS), strict=True))
    server = await serve_tcp(list(sims.values()))
    recorded = Bus(server, sims)
    first = sims[BUS[0]]
    handle = first.handle

    def recording(request: bytes) -> bytes | None:
        recorded.requests.append(bytes(request))
        return handle(request)

    first.handle = recording  # type: ignore[method-assign]
    try:
        yield recorded
    finally:
        await server.close()


def _entry(bus: Bus, packs: list[int], **options: Any) -> MockConfigEntry:
    return pace_bus_entry(bus.server, packs, options=options)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED


async def _tick(hass: HomeAssistant) -> None:
    """One probe period passes (the coordinator polls too)."""
    await tick(hass, PROBE_EVERY)


async def _read(bus: Bus, address: int) -> BmsSnapshot:
    link = TcpLink(bus.server.host, bus.server.port, timeout=1.0)
    try:
        return await default_registry().get("pace").open_session(link).read(address)
    finally:
        await link.close()


@pytest.fixture(autouse=True)
def _short_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """An absent address costs the probe timeout in real time: keep sweeps of the bus short."""
    monkeypatch.setattr(bus_growth, "PROBE_TIMEOUT", 0.1)


def test_probe_order_starts_after_the_highest_configured_address() -> None:
    assert bus_growth.probe_order(range(16), [1, 2], []) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]
    assert bus_growth.probe_order(range(16), [1, 2], [3]) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]
    assert bus_growth.probe_order(range(4), [0, 1, 2, 3], []) == []


async def test_pack_plugged_in_later_gets_its_device_and_entities(hass: HomeAssistant, bus: Bus) -> None:
    bus.unplug(3)
    entry = _entry(bus, [1, 2])
    await _setup(hass, entry)
    devices = dr.async_get(hass)
    uid3 = f"{entry.unique_id}_3"
    assert devices.async_get_device(identifiers={(DOMAIN, uid3)}) is None

    start = len(bus.requests)
    await _tick(hass)  # the first probe asks address 3: nobody there yet
    assert 3 in bus.addresses(start)
    assert entry.data["packs"] == [1, 2]

    bus.plug(3)  # a pack is plugged into the running bus
    expected = await _read(bus, 3)
    for _ in range(FREE + 1):  # the round robin comes back to address 3 within one sweep
        await _tick(hass)
        if 3 in entry.data["packs"]:
            break
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.data["packs"] == [1, 2, 3]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.packs == (1, 2, 3)  # the entry reloaded with the new pack
    device = devices.async_get_device(identifiers={(DOMAIN, uid3)})
    assert device is not None
    assert device.serial_number == "SIM030003"
    assert assert_states_match(hass, uid3, expected) > 10
    probed = bus.addresses(start) - {1, 2}
    assert probed == set(range(16)) - {1, 2}  # the whole free range was swept, one address per period
    assert assert_read_only(bus.requests) > 0  # polls and probes: not one write
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_pack_the_user_deleted_is_never_added_again(hass: HomeAssistant, bus: Bus) -> None:
    entry = _entry(bus, [1, 2, 3])
    await _setup(hass, entry)
    bus.unplug(3)
    await _tick(hass)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"{entry.unique_id}_3")})
    assert device is not None
    assert await integration.async_remove_config_entry_device(hass, entry, device)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.data["packs"] == [1, 2]
    assert entry.data[CONF_IGNORED_PACKS] == [3]

    bus.plug(3)  # the pack answers again, at the address the user removed
    start = len(bus.requests)
    for _ in range(2 * FREE + 2):  # two full sweeps of the free addresses
        await _tick(hass)
    assert entry.data["packs"] == [1, 2]
    assert entry.runtime_data.packs == (1, 2)
    assert bus.addresses(start) == set(range(16)) - {3}  # every other address was probed, 3 never
    assert assert_read_only(bus.requests[start:]) > 0
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_disabled_option_means_no_probes(hass: HomeAssistant, bus: Bus) -> None:
    entry = _entry(bus, [1, 2], **{CONF_SCAN_NEW_PACKS: False})
    await _setup(hass, entry)
    for _ in range(4):
        await _tick(hass)
    assert bus.requests  # the configured packs are polled...
    assert bus.addresses() == {1, 2}  # ...and nothing else is asked
    assert entry.data["packs"] == [1, 2]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_probe_holds_the_bus_exclusively_and_delays_a_poll_by_one_probe_at_most(
    hass: HomeAssistant, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll that comes while a probe waits for an absent address starts right after it; nothing interleaves."""
    monkeypatch.setattr(bus_growth, "PROBE_TIMEOUT", 0.4)
    bus.unplug(3)
    entry = _entry(bus, [1, 2])
    await _setup(hass, entry)
    coordinator = entry.runtime_data
    growth = bus_growth.BusGrowth(hass, entry, coordinator)
    start = len(bus.requests)
    probe = hass.async_create_task(growth.async_probe_next(), eager_start=True)  # runs up to its first request
    assert coordinator.exclusive_held
    began = time.monotonic()
    await coordinator.async_refresh()
    waited = time.monotonic() - began
    assert await probe is None
    assert coordinator.last_update_success
    assert 0.3 < waited < 0.4 + 1.0  # waited for the probe's timeout, not more (generous: shared CI cores)
    sent = [int(r[3:5], 16) for r in bus.requests[start:]]
    assert sent[0] == 3
    assert set(sent[sent.index(1) :]) == {1, 2}  # the poll's requests all came after the probe's
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_flow_offers_the_check_for_bus_entries_only(hass: HomeAssistant, bus: Bus) -> None:
    """A bus entry's options have the switch (on by default); turning it off stops the probes after the reload."""
    entry = _entry(bus, [1, 2])
    await _setup(hass, entry)
    form = await hass.config_entries.options.async_init(entry.entry_id)
    keys = {str(key): key for key in form["data_schema"].schema}
    assert CONF_SCAN_NEW_PACKS in keys
    assert keys[CONF_SCAN_NEW_PACKS].default() is True
    done = await hass.config_entries.options.async_configure(
        form["flow_id"],
        {"scan_interval": 15, "cell_entities": "default", "cell_balancing_entities": False, CONF_SCAN_NEW_PACKS: False},
    )
    await hass.async_block_till_done()
    assert done["type"] == "create_entry"
    assert entry.options[CONF_SCAN_NEW_PACKS] is False
    since = len(bus.requests)
    for _ in range(3):
        await _tick(hass)
    assert bus.addresses(since) <= {1, 2}

    single = MockConfigEntry(
        domain=DOMAIN,
        data={"link": "tcp", "host": bus.server.host, "port": 1, "vendor": "jbd", "packs": [None]},
        unique_id="tcp:single",
        title="JBD",
    )
    single.add_to_hass(hass)
    form = await hass.config_entries.options.async_init(single.entry_id)
    assert CONF_SCAN_NEW_PACKS not in {str(key) for key in form["data_schema"].schema}
