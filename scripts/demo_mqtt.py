"""The demo's MQTT half (``scripts/demo.sh --mqtt``): a second fleet reaching Home Assistant through the gateway.

Packs then arrive both ways: the first fleet through the integration's own entries, this one through
``bmsgw serve`` -> Mosquitto -> Home Assistant's own MQTT integration (MQTT discovery), as on a Raspberry Pi next to
batteries in a shed (docs/gateway.md):

* Debian's Mosquitto (``scripts/mqtt-setup.sh`` installs it) on a free loopback port, anonymous, no persistence,
  its config and log in the demo's run folder;
* its own simulators: the bus vendor's rack of :data:`BUS_PACKS` packs on one bus behind one TCP port, and one
  single pack with ``control: true`` (its charge/discharge MOSFET switches appear in Home Assistant and go through
  the library's verified path);
* :func:`gateway_yaml` writes the gateway's config (checked with ``bmsgw serve --check`` before it starts);
* :func:`mqtt_flow` adds the MQTT integration's entry through its config flow (REST), as a user would.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Packs on the gateway's simulated bus.
BUS_PACKS = 3
#: The gateway's id (a topic level and part of every unique id).
GATEWAY_ID = "shed"


@dataclass(frozen=True)
class Connection:
    """One connection of the gateway: its name (topic level), vendor, simulator arguments, address, control."""

    name: str
    vendor: str
    simulate: tuple[str, ...]
    seed: int
    address: str | None
    control: bool


def connections() -> list[Connection]:
    """The second fleet: the bus vendor's rack of :data:`BUS_PACKS` packs, and a single pack with control."""
    sys.path.insert(0, str(ROOT))
    from vendor_plugins.registry import load_registry

    plugins = load_registry(include_third_party=False)
    bus = next(p for p in plugins if p.capabilities.multi_address)
    single = next(p for p in plugins if not p.capabilities.multi_address and p.capabilities.switches)
    return [
        Connection("rack", bus.name, ("--packs", str(BUS_PACKS)), 201, "all", control=False),
        Connection("garage", single.name, (), 211, None, control=True),
    ]


def mosquitto() -> str | None:
    """Debian's broker binary, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def free_port() -> int:
    """A free loopback TCP port (for the broker)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_yaml(broker_port: int, where: dict[str, str], state_file: Path, poll_interval: int = 5) -> str:
    """The gateway's config (docs/gateway.md): the broker on 127.0.0.1, one connection per :func:`connections`.

    ``where``: connection name -> ``HOST:PORT`` of its simulator.
    """
    lines = [
        "# BMS gateway demo - written by scripts/demo_mqtt.py",
        "gateway:",
        f"  id: {GATEWAY_ID}",
        f"  poll_interval: {poll_interval}",
        f"  state_file: {json.dumps(str(state_file))}",
        "broker:",
        "  host: 127.0.0.1",
        f"  port: {broker_port}",
        "connections:",
    ]
    for conn in connections():
        lines += [f"  - name: {conn.name}", f"    vendor: {conn.vendor}", f"    tcp: {where[conn.name]}"]
        if conn.address is not None:
            lines.append(f"    address: {conn.address}")
        if conn.control:
            lines.append("    control: true")
    return "\n".join(lines) + "\n"


async def start_broker(run_dir: Path) -> tuple[asyncio.subprocess.Process, int]:
    """Mosquitto on a free loopback port (config and log in ``run_dir``); the process and its port."""
    binary = mosquitto()
    if binary is None:
        raise RuntimeError("--mqtt needs Debian's mosquitto: run scripts/mqtt-setup.sh")
    port = free_port()
    conf = run_dir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
    log = (run_dir / "mosquitto.log").open("wb")
    proc = await asyncio.create_subprocess_exec(binary, "-c", str(conf), stdout=log, stderr=log, start_new_session=True)
    for _ in range(100):
        if proc.returncode is not None:
            raise RuntimeError(f"mosquitto exited with {proc.returncode}: see {run_dir / 'mosquitto.log'}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return proc, port
    raise RuntimeError(f"mosquitto does not listen on 127.0.0.1:{port}")


async def start_gateway(bmsgw: Path, config: Path, run_dir: Path) -> asyncio.subprocess.Process:
    """``bmsgw serve --config`` after ``--check`` passed (its output in ``run_dir/gateway.log``)."""
    check = await asyncio.create_subprocess_exec(
        str(bmsgw), "serve", "--config", str(config), "--check", stdout=asyncio.subprocess.PIPE, stderr=-2
    )
    out, _ = await check.communicate()
    if check.returncode != 0:
        raise RuntimeError(f"bmsgw serve --check refused {config}: {out.decode().strip()}")
    log = (run_dir / "gateway.log").open("wb")
    return await asyncio.create_subprocess_exec(
        str(bmsgw), "serve", "--config", str(config), stdout=log, stderr=log, start_new_session=True
    )


async def mqtt_flow(ha: Any, port: int) -> dict[str, Any]:
    """Home Assistant's MQTT integration pointed at the broker, through its config flow (REST): the created entry."""
    step = await ha.call("POST", "/api/config/config_entries/flow", json={"handler": "mqtt"})
    if step["type"] == "form" and step["step_id"] == "broker":
        step = await ha.call(
            "POST",
            f"/api/config/config_entries/flow/{step['flow_id']}",
            json={
                "broker": "127.0.0.1",
                "port": port,
                "other_settings": {"set_client_cert": False, "set_ca_cert": "off"},
            },
        )
    if step["type"] != "create_entry":
        raise RuntimeError(f"the MQTT config flow stopped: {step}")
    return dict(step["result"])


async def mqtt_devices(ha: Any, entry_id: str, expected: int, seconds: float = 120) -> list[dict[str, Any]]:
    """The devices the gateway's discovery made under the MQTT entry (name, model, entities), once ``expected``."""
    found: list[dict[str, Any]] = []
    for _ in range(int(seconds)):
        devices = [d for d in await ha.cmd("config/device_registry/list") if entry_id in d["config_entries"]]
        entities = await ha.cmd("config/entity_registry/list")
        found = [
            {
                "device_id": d["id"],
                "name": d["name_by_user"] or d["name"],
                "model": d["model"],
                "entities": sum(1 for e in entities if e["device_id"] == d["id"]),
            }
            for d in devices
        ]
        if sum(1 for d in found if d["entities"]) >= expected:
            return sorted(found, key=lambda d: str(d["name"]))
        await asyncio.sleep(1)
    raise RuntimeError(f"only {len(found)} of {expected} gateway devices in Home Assistant after {seconds:.0f} s")
