"""Gateway load benchmark: one ``bmsgw serve`` publishing 47 packs to a real Mosquitto. Not a timed test.

Run: ``.venv/bin/python benchmarks/bench_gateway.py [--minutes 10] [--interval 10]`` (needs mosquitto and the
``gateway`` extra). The fleet: three 15-pack PACE buses (ASCII, 16 cells each) behind TCP bridges paced like a
9600-baud RS485 line (a reply leaves after its request's and its own bytes would have crossed the wire, one at a time
per bus), plus one JBD and one DALY single pack on their own bridges. Simulators run in a child process, the gateway
in another (its CPU time and RSS are read from ``/proc``), the broker in a third.

Two runs of ``--minutes`` / 2 each:

1. **static** simulators (values never change): after the first cycle every poll must publish **0** messages;
2. **live** simulators (a compressed charge/discharge cycle): messages per cycle for a changing fleet; halfway through,
   the broker is killed, left down for 5 s and restarted — the time until the gateway publishes again is measured.

Reported: CPU seconds per poll cycle and % of one core, messages per cycle, RSS at start and end, recovery time.
Targets (issue 22): < 5 % of one core, RSS flat and < 80 MB, 0 messages for an unchanged poll, publishing again within
one poll interval after the broker returns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BAUD = 9600
BITS_PER_BYTE = 10
BUSES = 3
PACKS_PER_BUS = 15
TICKS = os.sysconf("SC_CLK_TCK")


# --- the simulators (child process) -------------------------------------------------------------------------------
class _PacedProtocol(asyncio.Protocol):
    """A TCP bridge to a bus: replies leave after (request + reply bytes) x 10 bits / baud, one at a time."""

    def __init__(self, endpoint: Any, line: dict[str, float]) -> None:
        self.endpoint = endpoint.fork()
        self.line = line
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        reply = self.endpoint.feed(data)
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self.line["free_at"])
        done = start + (len(data) + len(reply)) * BITS_PER_BYTE / BAUD
        self.line["free_at"] = done
        if reply:
            loop.call_at(done, self._write, reply)

    def _write(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)


async def _serve_simulators(profile: str) -> None:
    from vendor_plugins.plugin import SimulatorOptions
    from vendor_plugins.registry import default_registry
    from vendor_plugins.sim.serving import SimEndpoint

    registry = default_registry()
    loop = asyncio.get_running_loop()
    fleet: dict[str, Any] = {}
    servers = []
    for bus in range(BUSES):
        plugin = registry.get("pace")
        sims = [
            plugin.create_simulator(SimulatorOptions(address=a, profile=profile, seed=100 * bus + a))
            for a in range(1, PACKS_PER_BUS + 1)
        ]
        fleet[f"pace{bus + 1}"] = sims
    for vendor in ("jbd", "daly"):
        fleet[vendor] = registry.get(vendor).create_simulator(SimulatorOptions(profile=profile, seed=7))
    ports = {}
    for name, sims in fleet.items():
        endpoint = SimEndpoint(sims)
        line = {"free_at": 0.0}
        server = await loop.create_server(lambda e=endpoint, ln=line: _PacedProtocol(e, ln), "127.0.0.1", 0)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin


# --- measuring (parent) ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.config = directory / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n{user}")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.1):
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Counter:
    """Counts the gateway's messages (everything under the topic and discovery prefixes) as they arrive."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.times: list[float] = []
        self.topics: list[str] = []

    async def run(self) -> None:
        import aiomqtt

        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port) as client:
                    await client.subscribe("bms_gateway/#")
                    await client.subscribe("homeassistant/#")
                    async for message in client.messages:
                        if not message.retain:  # retained ones are the broker's copies on subscribe
                            self.times.append(time.monotonic())
                            self.topics.append(str(message.topic))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.times if start <= t < end)

    def topics_between(self, start: float, end: float) -> list[str]:
        return sorted({topic for t, topic in zip(self.times, self.topics, strict=True) if start <= t < end})

    async def first_after(self, moment: float) -> float:
        while True:
            later = [t for t in self.times if t > moment]
            if later:
                return later[0] - moment
            await asyncio.sleep(0.02)


def _config(directory: Path, broker: int, ports: dict[str, int], interval: float) -> Path:
    connections = [
        {"name": f"pace{b + 1}", "vendor": "pace", "tcp": f"127.0.0.1:{ports[f'pace{b + 1}']}", "address": "1-15"}
        for b in range(BUSES)
    ]
    connections += [{"name": v, "vendor": v, "tcp": f"127.0.0.1:{ports[v]}"} for v in ("jbd", "daly")]
    document = {
        "gateway": {"id": "bench", "poll_interval": interval, "state_file": str(directory / "state.json")},
        "broker": {"host": "127.0.0.1", "port": broker},
        "connections": connections,
    }
    path = directory / "gateway.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    os.chmod(path, 0o600)
    return path


async def _run(profile: str, seconds: float, interval: float, restart: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        broker = Broker(directory)
        broker.start()
        sims = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", profile, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert sims.stdout is not None
        ports = json.loads(await sims.stdout.readline())
        counter = Counter(broker.port)
        counting = asyncio.create_task(counter.run())
        await asyncio.sleep(0.5)
        gateway = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vendor_plugins.cli",
            "serve",
            "--config",
            str(_config(directory, broker.port, ports, interval)),
            cwd=ROOT,
            stderr=asyncio.subprocess.DEVNULL,
        )
        result: dict[str, Any] = {"profile": profile}
        try:
            await asyncio.sleep(2 * interval)  # discovery and the first states
            start = time.monotonic()
            result["startup_messages"] = len(counter.times)
            cpu0, rss0 = _cpu_seconds(gateway.pid), _rss_mb(gateway.pid)
            recovery = None
            windows: list[int] = []
            while time.monotonic() - start < seconds:
                window_start = time.monotonic()
                if restart and recovery is None and window_start - start > seconds / 2:
                    broker.stop()
                    await asyncio.sleep(5)
                    broker.start()
                    recovery = await counter.first_after(time.monotonic())
                    continue
                await asyncio.sleep(interval)
                windows.append(counter.between(window_start, window_start + interval))
            wall = time.monotonic() - start
            cpu = _cpu_seconds(gateway.pid) - cpu0
            cycles = wall / interval
            result |= {
                "packs": BUSES * PACKS_PER_BUS + 2,
                "seconds": round(wall, 1),
                "cycles": round(cycles, 1),
                "cpu_seconds_per_cycle": round(cpu / cycles, 4),
                "cpu_percent_of_one_core": round(100 * cpu / wall, 2),
                "messages_per_cycle": windows,
                "rss_mb_start": round(rss0, 1),
                "rss_mb_end": round(_rss_mb(gateway.pid), 1),
                "broker_restart_recovery_s": None if recovery is None else round(recovery, 2),
                "topics_changed_in_the_last_cycle": counter.topics_between(start + wall - interval, start + wall)[:20],
            }
        finally:
            gateway.terminate()
            await gateway.wait()
            assert sims.stdin is not None
            sims.stdin.close()
            await sims.wait()
            counting.cancel()
            broker.stop()
    return result


async def _main(minutes: float, interval: float) -> None:
    # the counting client's socket vanishes when the broker is killed: paho's late writer callback is noise here
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    half = minutes * 60 / 2
    for profile, restart in (("static", False), ("live", True)):
        print(json.dumps(await _run(profile, half, interval, restart)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--serve", choices=("static", "live"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve_simulators(args.serve))
    else:
        asyncio.run(_main(args.minutes, args.interval))
