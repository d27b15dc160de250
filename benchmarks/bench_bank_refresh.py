"""Benchmark: a battery bank of 15 packs in Home Assistant — state writes and event-loop CPU per member round.

Run inside the Home Assistant test harness::

    .venv/bin/python -m pytest -q -p no:cacheprovider benchmarks/bench_bank_refresh.py -s

Two banks of 15 packs, each set up for real (simulated packs over loopback TCP, the bank entry following the member
entries): a PACE rack of 15 packs on one bus (one entry), and 15 JBD packs with one entry each (as 15 Bluetooth packs
would be). Each round, every pack's current changes (and one of its cells by 1 mV): the bank's current, power,
battery power and cell figures change once per round, as in a working battery.

The rounds are fed to the bank as the member entries' coordinators tell it (:class:`~custom_components.bms_gateway
.poll.Poll` results, the I/O left out), in two ways:

* **per round** (what the integration does): a bus entry's poll is one result for its 15 packs; 15 entries' polls
  are collected into one round (:mod:`custom_components.bms_gateway.bank_hub`) — one bank update per round;
* **per member** (the naive way, for comparison): the bank updated after each pack's reading — 15 updates a round,
  each with one pack newer than the others, so the bank's sums change 15 times and write 15 times.

Printed per round: bank updates, state writes of the bank's entities, and event-loop CPU (the best of several
batches; a shared machine adds noise, never speed). Not a timed test: it asserts only the write counts' shape.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.bank_entity import BankEntity
from custom_components.bms_gateway.bank_hub import BankHub
from custom_components.bms_gateway.connection import unique_id
from custom_components.bms_gateway.const import DOMAIN
from custom_components.bms_gateway.poll import Poll
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import SimServer, serve_tcp

PACKS = 15
ROUNDS = 20
BATCHES = 15

type Member = tuple[str, int | None]


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _bank(members: list[str], entry_id: str) -> MockConfigEntry:
    options = {"members": members, "mode": "parallel", "policy": "all", "switches": False}
    return MockConfigEntry(domain=DOMAIN, data={"bank": True}, options=options, title=entry_id, entry_id=entry_id)


def _varied(snapshot: BmsSnapshot, round_no: int, pack: int) -> BmsSnapshot:
    """The pack's reading in round ``round_no``: its current (and one cell, by 1 mV) moved."""
    step = (round_no % 2) * 0.1 + pack * 0.01
    cells = list(snapshot.cell_voltages)
    if cells:
        cells[pack % len(cells)] = round(cells[pack % len(cells)] + (round_no % 2) * 0.001, 3)
    return dataclasses.replace(
        snapshot, current=round((snapshot.current or 0.0) - 5.0 - step, 3), power=None, cell_voltages=tuple(cells)
    )


class Feeder:
    """Feeds rounds of varied readings to a bank, the way its member entries' coordinators would."""

    def __init__(self, hub: BankHub, members: list[Member], base: dict[Member, BmsSnapshot]) -> None:
        self.hub = hub
        self.members = members
        self.base = base
        self.round_no = 0
        self.by_entry: dict[str, list[Member]] = {}
        for member in members:
            self.by_entry.setdefault(member[0], []).append(member)

    def _reading(self, member: Member, index: int) -> BmsSnapshot:
        return _varied(self.base[member], self.round_no, index)

    async def per_round(self) -> None:
        """One poll result per member entry (a bus: all its packs at once); the bank updates once the round is full."""
        self.round_no += 1
        now = dt_util.utcnow()
        index = 0
        for entry_id, members in self.by_entry.items():
            readings = {}
            for member in members:
                readings[member[1]] = self._reading(member, index)
                index += 1
            self.hub.member_poll(entry_id, Poll(now, readings, {}, 0))
        await asyncio.sleep(0)  # the bank's update runs as its own loop callback

    async def per_member(self) -> None:
        """The naive bank: updated after every pack's reading."""
        self.round_no += 1
        now = dt_util.utcnow()
        for index, member in enumerate(self.members):
            reading = {member[1]: self._reading(member, index)}
            self.hub.member_poll(member[0], Poll(now, reading, {}, 0, every_pack=False))  # no round bookkeeping
            self.hub.async_update_now()
        await asyncio.sleep(0)


async def _cpu_per_call(fn: Callable[[], Awaitable[Any]], rounds: int) -> float:
    """Event-loop CPU per call, µs (the best of :data:`BATCHES` batches)."""
    best = float("inf")
    for _ in range(BATCHES):
        start = time.thread_time_ns()
        for _ in range(rounds):
            await fn()
        best = min(best, (time.thread_time_ns() - start) / rounds / 1000)
        await asyncio.sleep(0)
    return best


async def _measure(label: str, feeder: Feeder) -> dict[str, float]:
    """Writes and CPU per round, both ways."""
    writes = 0
    original = BankEntity.async_write_ha_state

    def counting(self: BankEntity) -> None:
        nonlocal writes
        writes += 1
        original(self)

    out: dict[str, float] = {}
    for mode, fn in (("per_round", feeder.per_round), ("per_member", feeder.per_member)):
        await fn()  # settle
        updates = feeder.hub.stats["updates"]
        with patch.object(BankEntity, "async_write_ha_state", counting):
            writes = 0
            for _ in range(ROUNDS):
                await fn()
            out[f"{mode}_writes"] = writes / ROUNDS
        out[f"{mode}_updates"] = (feeder.hub.stats["updates"] - updates) / ROUNDS
        out[f"{mode}_cpu"] = await _cpu_per_call(fn, ROUNDS)
    print(
        f"\n{label}: per round (the integration): {out['per_round_updates']:g} bank update, "
        f"{out['per_round_writes']:g} state writes, {out['per_round_cpu']:.0f} µs event-loop CPU\n"
        f"{label}: per member (naive):           {out['per_member_updates']:g} bank updates, "
        f"{out['per_member_writes']:g} state writes, {out['per_member_cpu']:.0f} µs event-loop CPU"
    )
    return out


async def test_bench_bank(
    hass: HomeAssistant, enable_custom_integrations: None, mock_bluetooth: None, socket_enabled: None
) -> None:
    """Measure and print; assert one update per round and that per-member updating multiplies the writes."""
    pace = default_registry().get("pace")
    rack_sims = [pace.create_simulator(SimulatorOptions(profile="static", seed=a, address=a)) for a in range(1, 16)]
    jbd_sims = [JbdSimulator(JbdState(cell_voltages=[3.30 + 0.001 * i for i in range(16)])) for _ in range(PACKS)]
    servers: list[SimServer] = []
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    try:
        rack_server = await serve_tcp(rack_sims)
        servers.append(rack_server)
        data = {"link": "tcp", "host": rack_server.host, "port": rack_server.port, "vendor": "pace"}
        data |= {"family": "ascii-25", "packs": list(range(1, 16))}
        rack = await _setup(hass, MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title="Rack"))
        singles: list[MockConfigEntry] = []
        for index, sim in enumerate(jbd_sims):
            server = await serve_tcp(sim)
            servers.append(server)
            data = {"link": "tcp", "host": server.host, "port": server.port, "vendor": "jbd", "packs": [None]}
            entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id=unique_id(data), title=f"JBD {index}")
            singles.append(await _setup(hass, entry))
        rack_bank = await _setup(hass, _bank([f"{rack.entry_id}:{a}" for a in range(1, 16)], "rackbank"))
        single_bank = await _setup(hass, _bank([e.entry_id for e in singles], "singlebank"))

        rack_members: list[Member] = [(rack.entry_id, a) for a in range(1, 16)]
        single_members: list[Member] = [(e.entry_id, None) for e in singles]
        base = {m: rack.runtime_data.snapshot(m[1]) for m in rack_members}
        base |= {m: e.runtime_data.snapshot(None) for m, e in zip(single_members, singles, strict=True)}
        assert all(snapshot is not None for snapshot in base.values())

        loop.set_debug(False)
        await asyncio.sleep(0)  # coroutine origin tracking goes off at the loop's next iteration
        assert sys.get_coroutine_origin_tracking_depth() == 0
        rack_feeder = Feeder(rack_bank.runtime_data, rack_members, base)  # type: ignore[arg-type]
        single_feeder = Feeder(single_bank.runtime_data, single_members, base)  # type: ignore[arg-type]
        rack_out = await _measure("15 packs on one bus (1 entry)", rack_feeder)
        single_out = await _measure("15 packs, one entry each   ", single_feeder)
    finally:
        loop.set_debug(debug)
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        for server in servers:
            await server.close()

    for out in (rack_out, single_out):
        assert out["per_round_updates"] == 1
        assert out["per_member_updates"] == PACKS
        assert 0 < out["per_round_writes"] < out["per_member_writes"]
