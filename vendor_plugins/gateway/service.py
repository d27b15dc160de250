"""The gateway daemon: every connection polled on its own, one broker connection, commands, state file, shutdown.

:meth:`Gateway.run` restores the energy meters from the state file, clears the discovery of packs the last run
announced and the config no longer has (the state file remembers what was announced), announces the gateway's own
device (which every pack's device is linked to), starts the :class:`~.publisher.Publisher`
(which reconnects on its own) and one :class:`~.packs.ConnectionRunner` per connection, saves the state file every
:data:`SAVE_EVERY` seconds, and runs until ``stop`` is set (``bmsgw serve``: SIGTERM / SIGINT). Then it shuts down
cleanly: polling stops, every pack and the gateway go ``offline`` on the broker, links close, the state file is saved.

A message on one of the gateway's command topics (:meth:`Topics.parse_command`) is run by the connection owning the
pack as its own task; a command for a pack this gateway does not have is ignored (logged at debug level).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from ..energy import EnergyState
from .config import ConnectionConfig, GatewayConfig
from .discovery import gateway_messages
from .packs import ConnectionRunner
from .publisher import Publisher
from .state import StateFile
from .topics import Topics, pack_id

_LOGGER = logging.getLogger(__name__)

#: Seconds between two saves of the state file (and one at shutdown).
SAVE_EVERY: Final = 60.0
#: Seconds after a pack's (first) announcement before the state file is saved.
ANNOUNCE_SAVE_DELAY: Final = 1.0


class Gateway:
    """One gateway (see the module docstring)."""

    def __init__(self, config: GatewayConfig, *, backoff_max: float | None = None) -> None:
        """Set up (nothing is connected until :meth:`run`)."""
        self.config = config
        self.topics = Topics(config.topic_prefix, config.discovery_prefix, config.gateway_id)
        self.state_file = StateFile(config.state_file)
        if backoff_max is None:
            backoff_max = min([10.0, *(c.poll_interval for c in config.connections)])
        self.publisher = Publisher(config.broker, self.topics, self._on_command, backoff_max=backoff_max)
        self._energy: dict[str, EnergyState] = {}
        self.runners: list[ConnectionRunner] = []
        self._commands: set[asyncio.Task[None]] = set()
        #: Set when a pack announced its entities (the state file then remembers them soon).
        self.announced_changed = asyncio.Event()

    def _on_command(self, topic: str, payload: bytes) -> None:
        parsed = self.topics.parse_command(topic)
        if parsed is None:
            return
        pack, key = parsed
        for runner in self.runners:
            state = runner.pack_by_id(pack)
            if state is not None:
                task = asyncio.create_task(runner.command(state, key, payload))
                self._commands.add(task)
                task.add_done_callback(self._commands.discard)
                return
        _LOGGER.debug("command for unknown pack %r ignored", pack)

    def energy_states(self) -> dict[str, EnergyState]:
        """Every pack's meters (the saved ones of packs not seen since the start included)."""
        out = dict(self._energy)
        for runner in self.runners:
            out.update(runner.energy_states())
        return out

    def announced(self) -> dict[str, set[str]]:
        """Every discovery topic this gateway stands by, by pack (``""``: its own device)."""
        out: dict[str, set[str]] = {}
        for runner in self.runners:
            out.update(runner.announced)
        out[""] = set(gateway_messages(self.topics))
        return out

    def _clear_stale(self) -> None:
        """Remove from Home Assistant what the last run announced and the config no longer has (empty retained)."""
        own = set(gateway_messages(self.topics))
        stale = self.state_file.discovery.get("", set()) - own
        for pack, topics in self.state_file.discovery.items():
            if not pack:
                continue
            runner = next((r for r in self.runners if _may_hold(r.config, pack)), None)
            if runner is None:
                stale |= topics
            else:  # still configured: its announcement at its first answer removes what it no longer offers
                runner.announced[pack] = set(topics)
        for topic in sorted(stale):
            self.publisher.set(topic, "")
        if stale:
            _LOGGER.info("removing %d discovery config(s) of packs/entities no longer configured", len(stale))

    def save_state(self) -> None:
        """Write the state file now (a failure is logged, never fatal)."""
        try:
            self.state_file.save(self.energy_states(), self.announced())
        except OSError as err:
            _LOGGER.error("cannot save the state file %s: %s", self.state_file.path, err)

    async def _save_periodically(self) -> None:
        """Save every :data:`SAVE_EVERY` seconds, and soon after a pack's announcement (so a crash forgets none)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.announced_changed.wait(), SAVE_EVERY)
                await asyncio.sleep(ANNOUNCE_SAVE_DELAY)  # one save for a burst of announcements
            self.announced_changed.clear()
            self.save_state()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        self._energy = self.state_file.load()
        self.runners = [
            ConnectionRunner(c, self.publisher, self.topics, self._energy, on_announce=self.announced_changed.set)
            for c in self.config.connections
        ]
        self._clear_stale()
        for topic, payload in gateway_messages(self.topics).items():
            self.publisher.set(topic, payload)
        names = ", ".join(c.name for c in self.config.connections)
        _LOGGER.info("gateway %s: %d connection(s): %s", self.config.gateway_id, len(self.runners), names)
        tasks = [asyncio.create_task(self.publisher.run(), name="mqtt")]
        tasks += [asyncio.create_task(r.run(), name=f"poll {r.config.name}") for r in self.runners]
        tasks.append(asyncio.create_task(self._save_periodically(), name="state file"))
        stopping = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopping:
                    task.result()  # a bug in a task: surface it
        finally:
            stopping.cancel()
            await self._shutdown(tasks)

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        publisher_task, *others = tasks
        for task in [*others, *self._commands]:
            task.cancel()
        await asyncio.gather(*others, *self._commands, return_exceptions=True)
        offline = [self.topics.availability(state.pack) for r in self.runners for state in r.packs.values()]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.publisher.goodbye(offline), 5)
        publisher_task.cancel()
        await asyncio.gather(publisher_task, return_exceptions=True)
        for runner in self.runners:
            await runner.close()
        self.save_state()
        _LOGGER.info("gateway %s stopped; state saved to %s", self.config.gateway_id, self.state_file.path)


def _may_hold(connection: ConnectionConfig, pack: str) -> bool:
    """Whether ``pack`` (a topic level) can be one of ``connection``'s packs."""
    if connection.addresses is None:  # a bus scan: any address
        head = f"{connection.name}_"
        return pack == connection.name or (pack.startswith(head) and pack[len(head) :].isdigit())
    return pack in {pack_id(connection.name, address) for address in connection.addresses}
