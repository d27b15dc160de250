"""Benchmark: one coordinator refresh of a 16-cell pack in Home Assistant, decode included, no sockets.

Run inside the Home Assistant test harness (asyncio debug mode is switched off for the measurement)::

    .venv/bin/python -m pytest -q -p no:cacheprovider benchmarks/bench_ha_refresh.py -s

The config entry is set up normally, except that its link is an in-memory byte link answering every request with
the frames the JBD simulator generates for the pack's state (precomputed, so the simulator's own cost is not
measured; the vendor session still assembles, checks and decodes every frame). Figures printed:

* unchanged poll: event-loop CPU per refresh and the number of state writes (must be 0);
* changed poll: CPU per refresh, state writes per refresh (only the entities whose value changed), and the cost
  per written entity, (changed - unchanged) / writes — for a poll where only the current changed (3 writes) and a
  busy one (current and every cell, 24 writes) — and the marginal cost of one more written entity, the slope between
  the two, which leaves out the fixed cost every changed poll pays once (decoding the changed register);
* the parts: the vendor session's read (exchanges, plus the decode when the payload changed), and one state write
  of a sensor whose state changes (Home Assistant's own cost; part of it is the new context's ULID id, whose cost
  depends on whether ``ulid_transform``'s C extension is installed, so the benchmark prints which one runs);
* the per-entity cost split in two, from the same polls run with the state writes left out: what the integration
  and the library add per written entity (decode, dispatch, bookkeeping), and what each of Home Assistant's state
  writes costs inside a poll. That is more than the bare write in a tight loop, most when only a few entities write:
  the same calls are made (a profile counts the same functions), so the difference is most likely the CPU caches,
  which a tight loop keeps warm and a poll's other work does not.

Measuring conditions, as in a running Home Assistant: asyncio debug mode is really off (``loop.set_debug(False)``
only takes effect at the next loop iteration, and until then every coroutine records its origin — that alone used
to triple the figures), and the loop runs between batches (the coordinator re-arms its refresh timer on every
refresh; the cancelled timers are purged by the loop as between real polls instead of piling up).

Not a timed test: it prints figures and checks only the write counts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bms_gateway.const import DOMAIN
from custom_components.bms_gateway.entity import BmsEntity
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.framing import Expect, Frame
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.plugin import LinkKind
from vendor_plugins.transports.base import ByteLink

ROUNDS = 50
BATCHES = 80
PROFILE = os.environ.get("BENCH_PROFILE")  # "unchanged", "changed" or "busy": print a profile of that scenario


class MemoryLink(ByteLink):
    """A link whose peer is a table ``request -> reply bytes`` (what the device would send).

    Replies go through the framing family's assembler and the exchange's frame matching, exactly as bytes from a
    socket would; only the transport (sockets, the byte queue and the timeout machinery of ``ByteLink``) is left
    out, as the benchmark's boundary says.
    """

    kind = LinkKind.TCP

    def __init__(self, replies: dict[bytes, bytes]) -> None:
        """Answer from ``replies``."""
        self.replies = replies

    @property
    def description(self) -> str:
        """``memory://bench``."""
        return "memory://bench"

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """The frames of the stored reply that answer ``request``."""
        frames: list[Frame] = []
        for frame in expect.assembler().feed(self.replies[request]):
            if expect.accepts(frame) and not expect.complete(frames):
                frames.append(frame)
        if not expect.complete(frames):
            raise DeviceTimeout(f"no complete answer to {request.hex()}")
        return frames

    async def close(self) -> None:
        """Nothing to release."""


def _state(shift: float, cells: float = 0.0) -> JbdState:
    return JbdState(
        cell_voltages=[round(3.300 + 0.001 * i + cells, 3) for i in range(16)],
        current=-12.34 + shift,
        remaining_capacity=150.5,
        design_capacity=200.0,
        cycles=321,
        temperatures=[18.5, 19.0, 21.2],
    )


def _replies(state: JbdState) -> dict[bytes, bytes]:
    """The frames the simulator answers the session's requests with, for ``state``."""
    sim = JbdSimulator(state)
    from vendor_plugins.jbd import codec
    from vendor_plugins.jbd import table as t

    out = {}
    for register in (t.REG_BASIC, t.REG_CELLS, t.REG_HARDWARE):
        request = codec.build_read(register)
        reply = sim.handle(request)
        assert reply is not None
        out[request] = reply
    return out


def _no_write(self: BmsEntity) -> None:
    """Stands in for the state write in the ``_silent`` scenarios."""


async def _cpu_per_call(fn: Callable[[], Any], rounds: int, batches: int = BATCHES) -> float:
    """Event-loop CPU per call in µs: the best of ``batches`` batches (a shared machine adds noise, never speed).

    The loop runs once after each batch (not timed), as it does between polls.
    """
    best = float("inf")
    for _ in range(batches):
        start = time.thread_time_ns()
        for _ in range(rounds):
            await fn()
        best = min(best, (time.thread_time_ns() - start) / rounds / 1000)
        await asyncio.sleep(0)
    return best


def _ulid_cost() -> tuple[float, str]:
    """µs per context id (ULID) Home Assistant makes for each state write, and which implementation made it."""
    from ulid_transform import ulid_at_time

    kind = "C extension" if type(ulid_at_time).__name__ == "builtin_function_or_method" else "pure-Python fallback"
    best = float("inf")
    for _ in range(20):
        start = time.thread_time_ns()
        for _ in range(200):
            ulid_at_time(time.time())
        best = min(best, (time.thread_time_ns() - start) / 200 / 1000)
    return best, kind


async def test_bench_refresh(hass: HomeAssistant, enable_custom_integrations: None, mock_bluetooth: None) -> None:
    """Measure and print; assert only that unchanged polls write nothing and changed polls write only changes."""
    replies_a = _replies(_state(0.0))
    replies_b = _replies(_state(1.0))  # the current changes: current, power and battery power write
    replies_c = _replies(_state(1.0, cells=0.004))  # current and every cell: the common case of a busy pack
    link = MemoryLink(replies_a)
    data = {"link": "tcp", "host": "bench", "port": 1, "vendor": "jbd", "family": "jbd", "packs": [None]}
    entry = MockConfigEntry(domain=DOMAIN, data=data, unique_id="tcp:bench:1", title="bench")
    entry.add_to_hass(hass)
    with patch("custom_components.bms_gateway.open_entry_link", return_value=link):
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    enabled = [e for e in entities if e.disabled_by is None]

    writes = 0
    original = BmsEntity.async_write_ha_state

    def counting(self: BmsEntity) -> None:
        nonlocal writes
        writes += 1
        original(self)

    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(False)
    await asyncio.sleep(0)  # the loop switches coroutine origin tracking off at its next iteration
    assert sys.get_coroutine_origin_tracking_depth() == 0
    try:
        # Write counts (instrumented pass).
        with patch.object(BmsEntity, "async_write_ha_state", counting):
            await coordinator.async_refresh()
            writes = 0
            for _ in range(10):
                await coordinator.async_refresh()
            unchanged_writes = writes / 10
            writes = 0
            for i in range(10):
                link.replies = replies_b if i % 2 == 0 else replies_a
                await coordinator.async_refresh()
            changed_writes = writes / 10
        link.replies = replies_a
        await coordinator.async_refresh()

        with patch.object(BmsEntity, "async_write_ha_state", counting):
            writes = 0
            for i in range(10):
                link.replies = replies_c if i % 2 == 0 else replies_a
                await coordinator.async_refresh()
            busy_writes = writes / 10

        # Timing (uninstrumented). The scenarios are interleaved batch by batch and each keeps its best batch, so
        # load from other processes on a shared machine affects them alike (it adds time, never removes it).
        counter = [0]
        scenario = {"replies": [replies_a, replies_a]}

        async def refresh() -> None:
            counter[0] += 1
            link.replies = scenario["replies"][counter[0] & 1]
            await coordinator.async_refresh()

        from custom_components.bms_gateway.sensor import BmsSensor

        # The current sensor (not one of the binary sensors that also listen to the current: their state would
        # stay "on" and the write would only be a state report).
        platform = hass.data["entity_components"]["sensor"]
        sensor = next(
            s
            for s in platform.entities
            if isinstance(s, BmsSensor) and s.pack is None and s.entity_description.key == "current"
        )
        values = [1.0, 2.0]

        async def one_write() -> None:
            counter[0] += 1
            sensor._value = values[counter[0] & 1]
            sensor.async_write_ha_state()

        async def session_read() -> None:
            counter[0] += 1
            link.replies = scenario["replies"][counter[0] & 1]
            await coordinator.session.read(None)

        for _ in range(200):
            await refresh()
        plans: list[tuple[str, list[dict[bytes, bytes]], Callable[[], Any]]] = [
            ("unchanged", [replies_a, replies_a], refresh),
            ("changed", [replies_a, replies_b], refresh),
            ("busy", [replies_a, replies_c], refresh),
            ("write", [replies_a, replies_a], one_write),
            ("read", [replies_a, replies_a], session_read),
            ("decode", [replies_a, replies_b], session_read),
            # The same polls with the entities' state writes left out: what the poll costs besides the writes.
            ("changed_silent", [replies_a, replies_b], refresh),
            ("busy_silent", [replies_a, replies_c], refresh),
        ]
        best = dict.fromkeys((name for name, _, _ in plans), float("inf"))
        for _ in range(BATCHES):
            for name, replies, fn in plans:
                scenario["replies"] = replies
                link.replies = replies[0]
                silent = name.endswith("_silent")
                with patch.object(BmsEntity, "async_write_ha_state", _no_write) if silent else nullcontext():
                    best[name] = min(best[name], await _cpu_per_call(fn, ROUNDS, batches=1))
        link.replies = replies_a
        await coordinator.async_refresh()
        unchanged, changed, busy = best["unchanged"], best["changed"], best["busy"]
        bare_write, session_only, session_decode = best["write"], best["read"], best["decode"]
        ulid, ulid_kind = _ulid_cost()
        if PROFILE:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            scenario["replies"] = {"busy": [replies_a, replies_c], "changed": [replies_a, replies_b]}.get(
                PROFILE, [replies_a, replies_a]
            )
            for _ in range(ROUNDS):
                await refresh()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        loop.set_debug(debug)
        await hass.config_entries.async_unload(entry.entry_id)

    per_write = (changed - unchanged) / changed_writes if changed_writes else float("nan")
    per_busy_write = (busy - unchanged) / busy_writes if busy_writes else float("nan")
    parts = "\n".join(
        f"{label} poll, per written entity: {(silent - unchanged) / count:.1f} µs decode, dispatch and bookkeeping"
        f" + {(total - silent) / count:.1f} µs Home Assistant state write within the poll"
        for label, total, silent, count in (
            ("changed", changed, best["changed_silent"], changed_writes),
            ("busy", busy, best["busy_silent"], busy_writes),
        )
    )
    print(
        f"\n16-cell pack: {len(entities)} entities, {len(enabled)} enabled\n"
        f"unchanged poll: {unchanged:.1f} µs event-loop CPU per refresh, {unchanged_writes:g} state writes\n"
        f"changed poll:   {changed:.1f} µs per refresh, {changed_writes:g} state writes "
        f"-> {per_write:.1f} µs per written entity\n"
        f"busy poll:      {busy:.1f} µs per refresh, {busy_writes:g} state writes "
        f"-> {per_busy_write:.1f} µs per written entity\n"
        f"marginal cost of one more written entity (busy - changed) / {busy_writes - changed_writes:g} writes: "
        f"{(busy - changed) / (busy_writes - changed_writes):.1f} µs (the changed register's decode, a fixed cost of "
        f"any changed poll, is not in it)\n"
        f"unchanged poll = vendor session read (exchanges, payload unchanged) {session_only:.1f} µs"
        f" + Home Assistant coordinator and integration {unchanged - session_only:.1f} µs\n"
        f"vendor session read, current changed (exchanges + decode of the changed register): {session_decode:.1f} µs\n"
        f"one bare sensor state write (Home Assistant's own cost, for comparison): {bare_write:.1f} µs,"
        f" of which the context's ULID {ulid:.1f} µs ({ulid_kind})\n{parts}"
    )
    assert unchanged_writes == 0
    assert changed_writes == 3  # current, power and battery power (the same value, HA sign); nothing else
    assert busy_writes < len(enabled) / 2
