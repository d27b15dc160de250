"""Fixtures of the gateway tests: a real Mosquitto, simulators over TCP, a recording MQTT client, config files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

aiomqtt = pytest.importorskip("aiomqtt", reason="the gateway extra (aiomqtt) is not installed")
yaml = pytest.importorskip("yaml", reason="the gateway extra (PyYAML) is not installed")

from vendor_plugins.gateway.config import GatewayConfig, load_config  # noqa: E402
from vendor_plugins.gateway.service import Gateway  # noqa: E402
from vendor_plugins.plugin import SimulatorOptions  # noqa: E402
from vendor_plugins.registry import default_registry  # noqa: E402
from vendor_plugins.sim.base import Simulator  # noqa: E402
from vendor_plugins.sim.tcp import SimServer, serve_tcp  # noqa: E402

from .broker import MOSQUITTO, SKIP_REASON, Mosquitto  # noqa: E402

needs_mosquitto = pytest.mark.skipif(MOSQUITTO is None, reason=SKIP_REASON)


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """Allow sockets: the Home Assistant test plugin blocks them, its guard still limits them to 127.0.0.1."""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A plain Mosquitto on a free loopback port."""
    if MOSQUITTO is None:
        pytest.skip(SKIP_REASON)
    directory = tmp_path / "broker"
    directory.mkdir()
    mosquitto = Mosquitto(directory)
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


def simulator(vendor: str, *, profile: str = "static", seed: int = 1, address: int | None = None) -> Simulator:
    """A simulator of ``vendor``'s built-in plugin."""
    plugin = default_registry().get(vendor)
    return plugin.create_simulator(SimulatorOptions(profile=profile, seed=seed, address=address))


@contextlib.asynccontextmanager
async def served(sims: Simulator | list[Simulator]) -> AsyncIterator[SimServer]:
    """``sims`` (one, or a bus) behind a TCP bridge on a free loopback port."""
    server = await serve_tcp(sims)
    try:
        yield server
    finally:
        await server.close()


def write_config(directory: Path, broker_port: int, connections: list[dict[str, Any]], **extra: Any) -> Path:
    """A gateway config file (mode 0600) with ``connections``; ``extra`` merges into the top level."""
    document: dict[str, Any] = {
        "gateway": {"id": "testgw", "state_file": str(directory / "state.json"), "poll_interval": 1},
        "broker": {"host": "127.0.0.1", "port": broker_port},
        "connections": connections,
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    os.chmod(path, 0o600)
    return path


def load(path: Path) -> GatewayConfig:
    """The checked config."""
    return load_config(path, default_registry())


@dataclass
class Message:
    topic: str
    payload: str
    retain: bool


@dataclass
class Recorder:
    """Every message the broker delivers on ``#`` (and ``$SYS`` excluded), in order."""

    port: int
    messages: list[Message] = field(default_factory=list)
    tls: Any = None
    username: str | None = None
    password: str | None = None

    def last(self, topic: str) -> str | None:
        for message in reversed(self.messages):
            if message.topic == topic:
                return message.payload
        return None

    def on(self, prefix: str) -> list[Message]:
        return [m for m in self.messages if m.topic.startswith(prefix)]

    async def wait_for(self, check: Callable[[], Any], seconds: float = 15.0, what: str = "condition") -> Any:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            result = check()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    def discovery(self, prefix: str = "homeassistant/") -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for m in self.messages:
            if m.topic.startswith(prefix) and m.topic.endswith("/config") and m.payload:
                out[m.topic] = json.loads(m.payload)
        return out


@contextlib.asynccontextmanager
async def recording(port: int, **kwargs: Any) -> AsyncIterator[Recorder]:
    """A client recording everything on the broker at ``port`` (reconnects when the broker restarts)."""
    recorder = Recorder(port, **kwargs)
    subscribed = asyncio.Event()

    async def run() -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    port,
                    username=recorder.username,
                    password=recorder.password,
                    tls_context=recorder.tls,
                ) as client:
                    await client.subscribe("#", qos=1)
                    subscribed.set()
                    async for message in client.messages:
                        payload = message.payload
                        text = payload.decode() if isinstance(payload, bytes) else str(payload)
                        recorder.messages.append(Message(str(message.topic), text, bool(message.retain)))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    task = asyncio.create_task(run())
    await asyncio.wait_for(subscribed.wait(), 10)
    try:
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def running(config: GatewayConfig, **kwargs: Any) -> AsyncIterator[Gateway]:
    """The gateway running in this event loop until the block ends (then stopped cleanly)."""
    gateway = Gateway(config, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    try:
        yield gateway
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
