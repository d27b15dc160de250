#!/usr/bin/env python3
"""The demo: a simulated battery fleet in a real Home Assistant, set up the way a user would set it up.

1. Builds the release artifacts (``scripts/build_release.py``: ``dist/bms_gateway.zip``, the zip HACS downloads,
   and the library's wheel) and unpacks the zip into a fresh config folder's ``custom_components/``.
2. Starts the simulated fleet (``bmsgw simulate``, each on its own local TCP port): one device per built-in vendor
   plugin, a bus vendor as a rack of 4 packs on one RS485 bus behind one TCP port, with live profiles.
3. Starts ``hass -c <config>`` on 127.0.0.1:8123 from ``.demo/venv`` - a Home Assistant venv *without* the
   library. Home Assistant installs the manifest's requirement ``bms-gateway==<version>`` itself, with its own
   installer (``uv pip install``), from ``dist/`` standing in for the package index (``UV_FIND_LINKS``).
4. Onboards (user ``demo``), adds one entry per connection through the integration's own config flow (REST
   ``/api/config/config_entries/flow``), imports the last 7 days of the simulated fleet as the entities' own
   long-term statistics (``recorder/import_statistics``, :mod:`demo_history`; the kWh meters' live statistics then
   continue from the imported sums), saves the Energy dashboard (``energy/save_prefs``) and a "Battery fleet"
   dashboard (``lovelace/config/save``, :mod:`demo_dashboard`) over the websocket API, checks Home Assistant's log
   and its repairs, prints URL + login. The HTTP settings (127.0.0.1, the port) are written where Home Assistant
   keeps them (``.storage/http``), not as the deprecated ``http:`` YAML block, so the demo raises no repair.
5. Ctrl-C (or SIGTERM) stops Home Assistant, then the simulators.

``--run-dir DIR`` keeps everything (config, logs, ``demo.json`` with addresses and devices) in DIR; by default
a temporary folder is used and removed at exit. ``--profile static`` serves unchanging values (the e2e test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_dashboard
import demo_history
import demo_mqtt

ROOT = Path(__file__).resolve().parent.parent
DEMO_VENV = ROOT / ".demo" / "venv"
REQUIREMENTS = ROOT / "scripts" / "demo-requirements.txt"
BMSGW = ROOT / ".venv" / "bin" / "bmsgw"
USER, PASSWORD = "demo", "demo-bms-1234"
#: Packs on the simulated bus of a bus vendor.
BUS_PACKS = 4


def fleet() -> list[tuple[str, str, list[str], int]]:
    """One simulated device per built-in vendor plugin, a bus vendor as a bus of :data:`BUS_PACKS` packs.

    Each is ``(name, vendor, extra simulate args, seed)``.
    """
    sys.path.insert(0, str(ROOT))
    from vendor_plugins.registry import load_registry

    return [
        (
            plugin.name,
            plugin.name,
            ["--packs", str(BUS_PACKS)] if plugin.capabilities.multi_address else [],
            11 + 10 * i,
        )
        for i, plugin in enumerate(load_registry(include_third_party=False))
    ]


FLEET = fleet()
#: The fleet's bus: its packs are the demo's battery bank, "<vendor> rack".
BUS_NAME = next(name for name, _, extra, _ in FLEET if "--packs" in extra)
LOG_OK = re.compile(r"We found a custom integration bms_gateway which has not been tested")


def say(msg: str) -> None:
    """Progress to stderr."""
    print(f"demo: {msg}", file=sys.stderr, flush=True)


# --- set-up ------------------------------------------------------------------------------------------
def ensure_demo_venv() -> Path:
    """``.demo/venv``: Home Assistant + what the demo's integrations need, never the library itself."""
    uv = ROOT / ".venv" / "bin" / "uv"
    python = DEMO_VENV / "bin" / "python"
    constraints = next((ROOT / ".venv" / "lib").glob("python3*/site-packages/homeassistant/package_constraints.txt"))
    stamp = DEMO_VENV / ".installed-from"
    want = hashlib.sha256(REQUIREMENTS.read_bytes() + constraints.read_bytes()).hexdigest()
    if not python.exists():
        base = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "-c", "import sys; print(sys._base_executable)"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        say(f"creating {DEMO_VENV.relative_to(ROOT)} ({base})")
        subprocess.run([str(uv), "venv", "--quiet", "--python", base, str(DEMO_VENV)], check=True)
    if (stamp.read_text() if stamp.exists() else "") != want:
        say("installing Home Assistant and the demo's requirements into .demo/venv")
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                "-r",
                str(REQUIREMENTS),
                "-c",
                str(constraints),
            ],
            check=True,
        )
        stamp.write_text(want)
    # The library comes from the release wheel, installed by Home Assistant: remove any left from a former run.
    subprocess.run(
        [str(uv), "pip", "uninstall", "--quiet", "--python", str(python), "bms-gateway"],
        check=False,
        capture_output=True,
    )
    return DEMO_VENV / "bin" / "hass"


def build_release(dist: Path) -> tuple[Path, Path]:
    """Run scripts/build_release.py; the zip and the wheel."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_release.py"), str(dist)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return Path(out[0]), Path(out[1])


def write_config(config: Path, zip_path: Path, port: int) -> None:
    """A minimal configuration (no default_config) and the integration unpacked from the release zip."""
    target = config / "custom_components" / "bms_gateway"
    target.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(target)
    (config / "configuration.yaml").write_text(
        """\
# BMS gateway demo - written by scripts/demo.py
homeassistant:
  name: BMS Gateway demo
  unit_system: metric
  time_zone: UTC
  country: DE
  currency: EUR
  latitude: 52.52
  longitude: 13.40
  elevation: 0
frontend:
api:
config:
energy:
history:
logbook:
lovelace:
logger:
  default: warning
  logs:
    homeassistant.util.package: info
    homeassistant.requirements: info
""",
        encoding="utf-8",
    )
    write_http_storage(config, port)


def write_http_storage(config: Path, port: int) -> None:
    """The HTTP server's settings (127.0.0.1 only, ``port``) where Home Assistant keeps them: ``.storage/http``.

    Home Assistant 2026.10 deprecated the ``http:`` YAML block (a repair issue, and a trial that reverts unless
    confirmed); the demo writes the stored settings instead, as confirmed ("stable") settings with the YAML
    migration marked done, so no repair and no trial.
    """
    stable = {
        "server_host": ["127.0.0.1"],
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    storage = config / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    (storage / "http").write_text(json.dumps(doc, indent=2), encoding="utf-8")


# --- the fleet ---------------------------------------------------------------------------------------
async def start_simulator(
    vendor: str, extra: list[str], profile: str, seed: int
) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``bmsgw simulate``; the process and HOST:PORT it listens on."""
    proc = await asyncio.create_subprocess_exec(
        str(BMSGW),
        "simulate",
        "--vendor",
        vendor,
        "--tcp",
        "127.0.0.1:0",
        "--profile",
        profile,
        "--seed",
        str(seed),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip()
    if not line.startswith("tcp://"):
        raise RuntimeError(f"simulator {vendor} did not start (printed {line!r})")
    return proc, line.removeprefix("tcp://")


# --- Home Assistant over HTTP / websocket ------------------------------------------------------------
class HA:
    """Just enough of Home Assistant's REST and websocket APIs."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.token = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._id = 0
        self._ws_lock = asyncio.Lock()  # one command at a time: a result is read by the command that sent it

    async def wait_up(self, proc: asyncio.subprocess.Process, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"Home Assistant exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(f"{self.base}/api/onboarding", timeout=aiohttp.ClientTimeout(5)) as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(1)
        raise RuntimeError(f"Home Assistant did not answer within {seconds:.0f} s")

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(method, f"{self.base}{path}", headers=headers, **kw) as r:
            body = await r.text()
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {r.status}: {body}")
            return json.loads(body) if body else None

    async def onboard(self) -> None:
        client_id = f"{self.base}/"
        user = await self.call(
            "POST",
            "/api/onboarding/users",
            json={"client_id": client_id, "name": "Demo", "username": USER, "password": PASSWORD, "language": "en"},
        )
        tokens = await self.call(
            "POST",
            "/auth/token",
            data={"grant_type": "authorization_code", "code": user["auth_code"], "client_id": client_id},
        )
        self.token = tokens["access_token"]
        await self.call("POST", "/api/onboarding/core_config", json={})
        await self.call("POST", "/api/onboarding/analytics", json={})
        await self.call(
            "POST",
            "/api/onboarding/integration",
            json={"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
        )

    async def remove_onboarding_extras(self) -> None:
        """Remove what onboarding adds (weather forecast, radio browser, ...): they only try to reach the internet."""
        for entry in await self.call("GET", "/api/config/config_entries/entry"):
            if entry["domain"] in {"met", "google_translate", "radio_browser", "shopping_list"}:
                await self.call("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")

    async def config_flow(self, host_port: str, vendor: str) -> dict[str, Any]:
        """Menu "tcp" -> host -> vendor (-> packs: all the scan found) -> the created entry."""
        step = await self.call("POST", "/api/config/config_entries/flow", json={"handler": "bms_gateway"})
        flow = f"/api/config/config_entries/flow/{step['flow_id']}"
        answers = [{"next_step_id": "tcp"}, {"host": host_port}, {"vendor": vendor}]
        while step["type"] != "create_entry":
            if step["type"] == "abort" or step.get("errors"):
                raise RuntimeError(f"config flow for {vendor} at {host_port} stopped: {step}")
            if step["type"] == "form" and step["step_id"] == "packs":
                answer = {"packs": next(f for f in step["data_schema"] if f["name"] == "packs")["default"]}
            else:
                answer = answers.pop(0)
            step = await self.call("POST", flow, json=answer, timeout=aiohttp.ClientTimeout(120))
        return step["result"]

    async def ws_connect(self) -> None:
        self.ws = await self.session.ws_connect(f"{self.base}/api/websocket")
        await self.ws.receive_json()
        await self.ws.send_json({"type": "auth", "access_token": self.token})
        if (msg := await self.ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError(f"websocket auth failed: {msg}")

    async def cmd(self, type_: str, **kw: Any) -> Any:
        assert self.ws is not None
        async with self._ws_lock:
            self._id += 1
            await self.ws.send_json({"id": self._id, "type": type_, **kw})
            while True:
                msg = await self.ws.receive_json()
                if msg.get("id") == self._id and msg["type"] == "result":
                    if not msg["success"]:
                        raise RuntimeError(f"{type_}: {msg['error']}")
                    return msg["result"]


def _pack_uid(device: dict[str, Any]) -> str | None:
    """The pack id of one of our devices (its identifier; entity unique ids are ``<pack id>_<key>``)."""
    for domain, ident in device["identifiers"]:
        if domain == "bms_gateway" and not ident.endswith("_bus"):
            return str(ident)
    return None


async def collect_packs(ha: HA, entry_ids: set[str], expected: int) -> list[dict[str, Any]]:
    """Pack devices of our entries with their entities (description key -> entity id), once all have meters."""
    packs: list[dict[str, Any]] = []
    for _ in range(120):
        devices = await ha.cmd("config/device_registry/list")
        entities = await ha.cmd("config/entity_registry/list")
        packs = []
        for dev in devices:
            if not set(dev["config_entries"]) & entry_ids or (uid := _pack_uid(dev)) is None:
                continue
            ents = [e for e in entities if e["device_id"] == dev["id"] and e["platform"] == "bms_gateway"]
            by_key = {
                str(e["unique_id"]).removeprefix(uid + "_"): e["entity_id"] for e in ents if not e.get("disabled_by")
            }
            if "energy_charged" in by_key:
                packs.append(
                    {
                        "device_id": dev["id"],
                        "name": dev["name_by_user"] or dev["name"],
                        "entry_id": sorted(set(dev["config_entries"]) & entry_ids)[0],
                        "entities": by_key,
                    }
                )
        if len(packs) >= expected:
            return sorted(packs, key=lambda p: p["name"])
        await asyncio.sleep(1)
    raise RuntimeError(f"only {len(packs)} of {expected} packs have entities after 120 s")


async def create_bank(ha: HA, name: str, entry_id: str) -> dict[str, Any]:
    """A "Battery bank" entry of every pack of connection entry ``entry_id``, through the config flow (REST).

    The steps of docs/bank-home-assistant.md: the menu's "bank" step, its ``members`` options (member keys
    ``<entry_id>:<address>``), then name, members, parallel, policy "available" (a pack that misses a poll leaves
    the bank degraded, not unavailable), no bank switches (the demo's entries have no control enabled).
    """
    step = await ha.call("POST", "/api/config/config_entries/flow", json={"handler": "bms_gateway"})
    flow = f"/api/config/config_entries/flow/{step['flow_id']}"
    step = await ha.call("POST", flow, json={"next_step_id": "bank"})
    if step["type"] != "form" or step["step_id"] != "bank":
        raise RuntimeError(f"the bank step did not open: {step}")
    options = next(f for f in step["data_schema"] if f["name"] == "members")["selector"]["select"]["options"]
    members = [o["value"] for o in options if str(o["value"]).startswith(f"{entry_id}:")]
    answer = {"name": name, "members": members, "mode": "parallel", "policy": "available", "switches": False}
    step = await ha.call("POST", flow, json=answer)
    if step["type"] != "create_entry":
        raise RuntimeError(f"the bank flow stopped: {step}")
    return {**step["result"], "members": members}


async def collect_bank(ha: HA, entry_id: str) -> dict[str, Any]:
    """The bank's device and entities (sensor key -> entity id, by unique id ``bank_<entry_id>_<key>``)."""
    base = f"bank_{entry_id}_"
    for _ in range(120):
        entities = [
            e
            for e in await ha.cmd("config/entity_registry/list")
            if e["config_entry_id"] == entry_id and str(e["unique_id"]).startswith(base) and not e.get("disabled_by")
        ]
        by_key = {str(e["unique_id"]).removeprefix(base): e["entity_id"] for e in entities}
        if {"battery_power", "energy_charged", "energy_discharged", "soc"} <= set(by_key):
            device_id = next(e["device_id"] for e in entities if e["device_id"])
            device = next(d for d in await ha.cmd("config/device_registry/list") if d["id"] == device_id)
            return {
                "device_id": device_id,
                "name": device["name_by_user"] or device["name"],
                "entry_id": entry_id,
                "entities": by_key,
            }
        await asyncio.sleep(1)
    raise RuntimeError("the bank has no power/energy sensors after 120 s")


async def device_summary(ha: HA, entry_ids: set[str]) -> list[dict[str, Any]]:
    """Every device of our entries: name, model, how many entities it has, how many devices it connects."""
    devices = [d for d in await ha.cmd("config/device_registry/list") if set(d["config_entries"]) & entry_ids]
    entities = await ha.cmd("config/entity_registry/list")
    return [
        {
            "name": d["name_by_user"] or d["name"],
            "model": d["model"],
            "entities": sum(1 for e in entities if e["device_id"] == d["id"]),
            "children": sum(1 for c in devices if c["via_device_id"] == d["id"]),
        }
        for d in devices
    ]


def _number(states: dict[str, Any], entity_id: str | None) -> float | None:
    state = states.get(entity_id or "")
    try:
        return float(state["state"]) if state else None
    except ValueError:
        return None


async def import_history(
    ha: HA, packs: list[dict[str, Any]], bank: dict[str, Any] | None
) -> tuple[int, dict[str, float], datetime]:
    """The last 7 days of every pack, and of the bank, as their entities' own long-term statistics.

    Each pack is simulated (:mod:`demo_history`) and imported (``recorder/import_statistics``); the bank's history
    is made from its members' simulated days (power summed, SoC weighted by capacity, its own meters integrating
    the bank's power), so the bank and its packs tell the same week. Returns the rows imported, each kWh meter's
    last sum (where its live statistics must continue from) and the hour the history ends at.
    """
    states = {s["entity_id"]: s for s in await ha.call("GET", "/api/states")}
    end = demo_history.last_full_hour()
    rows, totals = 0, {}
    members: list[tuple[demo_history.Pack, list[demo_history.Hour]]] = []
    for i, pack in enumerate(packs):
        ents = pack["entities"]
        voltage = _number(states, ents.get("voltage")) or 51.2
        soc = _number(states, ents.get("soc")) or 50.0
        capacity = next(
            (c for k in ("full_capacity", "design_capacity") if (c := _number(states, ents.get(k)))),
            (_number(states, ents.get("remaining_capacity")) or 50.0) * 100 / max(soc, 1.0),
        )
        temperatures = {
            e: t for k, e in ents.items() if k.startswith("temperature_") and (t := _number(states, e)) is not None
        }
        model = demo_history.Pack(capacity, voltage, soc, temperatures, seed=101 + i)
        pack["capacity_kwh"] = round(capacity * voltage / 1000, 2)
        hours = await asyncio.to_thread(demo_history.simulate, model, end)
        if bank is not None and pack["entry_id"] == bank["members_entry_id"]:
            members.append((model, hours))
        statistics = demo_history.pack_statistics(model, ents, end, hours=hours)
        rows += await _import(ha, statistics)
        totals.update(demo_history.totals(statistics))
    if bank is not None and members:
        rack = [p for p in packs if p["entry_id"] == bank["members_entry_id"]]
        bank["capacity_kwh"] = round(sum(p["capacity_kwh"] for p in rack), 2)
        statistics = demo_history.bank_statistics(members, bank["entities"])
        rows += await _import(ha, statistics)
        totals.update(demo_history.totals(statistics))
    return rows, totals, end


async def _import(ha: HA, statistics: demo_history.Statistics) -> int:
    rows = 0
    for metadata, stats in statistics:
        await ha.cmd("recorder/import_statistics", metadata=metadata, stats=stats)
        rows += len(stats)
    return rows


async def start_mqtt(ha: HA, args: argparse.Namespace, run_dir: Path, procs: Procs) -> dict[str, Any]:
    """``--mqtt``: Mosquitto, a second simulated fleet, ``bmsgw serve`` for it and Home Assistant's MQTT entry.

    See :mod:`demo_mqtt`. Returns what ``demo.json`` says about it (broker port, config, the devices that arrived).
    """
    broker, port = await demo_mqtt.start_broker(run_dir)
    procs.sims.append(("mosquitto", broker))
    where: dict[str, str] = {}
    for conn in demo_mqtt.connections():
        proc, where[conn.name] = await start_simulator(conn.vendor, list(conn.simulate), args.profile, conn.seed)
        procs.sims.append((f"gateway {conn.name}", proc))
    config = run_dir / "gateway.yaml"
    config.write_text(demo_mqtt.gateway_yaml(port, where, run_dir / "gateway-state.json"), encoding="utf-8")
    gateway = await demo_mqtt.start_gateway(BMSGW, config, run_dir)
    procs.sims.append(("bmsgw serve", gateway))  # stop_all stops it first
    say(f"MQTT: Mosquitto on 127.0.0.1:{port}, bmsgw serve --config {config} for " + ", ".join(where))
    entry = await demo_mqtt.mqtt_flow(ha, port)
    packs = sum(demo_mqtt.BUS_PACKS if c.address == "all" else 1 for c in demo_mqtt.connections())
    devices = await demo_mqtt.mqtt_devices(ha, entry["entry_id"], packs + 1)  # + the gateway's own device
    say(f"MQTT: the gateway and {packs} packs arrived: " + ", ".join(str(d["name"]) for d in devices))
    return {"broker_port": port, "config": str(config), "fleet": where, "entry_id": entry["entry_id"]} | {
        "devices": devices
    }


def _report_failure(task: asyncio.Task[None]) -> None:
    """Say why a background step of the demo failed (a task's exception is otherwise never seen)."""
    if not task.cancelled() and (err := task.exception()) is not None:
        say(f"failed: {err!r}")


async def continue_meters(ha: HA, totals: dict[str, float], since: datetime) -> None:
    """Make the kWh meters' live statistics continue from the imported week's last sums.

    The recorder starts a new meter's sum at 0 with its first 5-minute statistics; once a meter has one, every sum
    from ``since`` on is raised by the imported total (``recorder/adjust_sum_statistics``), so the Energy dashboard
    sees no drop where the history meets the live values.
    """
    pending = dict(totals)
    while pending:
        await asyncio.sleep(15)
        found = await ha.cmd(
            "recorder/statistics_during_period",
            start_time=since.isoformat(),
            statistic_ids=list(pending),
            period="5minute",
            types=["sum"],
        )
        for statistic_id, stats in found.items():
            if stats and statistic_id in pending:
                await ha.cmd(
                    "recorder/adjust_sum_statistics",
                    statistic_id=statistic_id,
                    start_time=since.isoformat(),
                    adjustment=pending.pop(statistic_id),
                    adjustment_unit_of_measurement="kWh",
                )
    say("the meters' live statistics continue from the imported week")


def log_problems(log: Path) -> list[str]:
    """WARNING/ERROR records of Home Assistant's log that come from bms_gateway or vendor_plugins."""
    if not log.exists():
        return []
    problems, current = [], None
    for line in log.read_text(errors="replace").splitlines():
        if re.match(r"^\d{4}-\d\d-\d\d ", line):
            current = line if (" WARNING " in line or " ERROR " in line or " CRITICAL " in line) else None
            if current and ("bms_gateway" in line or "vendor_plugins" in line) and not LOG_OK.search(line):
                problems.append(line)
    return problems


# --- main --------------------------------------------------------------------------------------------
class Procs:
    """What the demo started, for the clean-up (done outside run(), which may be cancelled)."""

    def __init__(self) -> None:
        self.sims: list[tuple[str, asyncio.subprocess.Process]] = []
        self.hass: asyncio.subprocess.Process | None = None


async def stop_all(procs: Procs) -> None:
    """Stop Home Assistant (SIGTERM, its clean shutdown), then the simulators."""
    say("stopping")
    hass = procs.hass
    if hass is not None and hass.returncode is None:
        hass.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(hass.wait(), 90)
        except TimeoutError:
            hass.kill()
            await hass.wait()
        say(f"Home Assistant exited ({hass.returncode})")
    for name, proc in procs.sims:  # the gateway first: it says "offline" while the broker still runs
        if name == "bmsgw serve" and proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 15)
    for _, proc in procs.sims:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
    for _, proc in procs.sims:
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
    say("stopped")


async def run(args: argparse.Namespace, run_dir: Path, stop: asyncio.Event, procs: Procs) -> int:
    t0 = time.monotonic()
    base = f"http://127.0.0.1:{args.port}"
    config = run_dir / "config"
    with socket.socket() as probe:  # another Home Assistant on the port would answer in ours' place
        try:
            probe.bind(("127.0.0.1", args.port))
        except OSError as err:
            raise RuntimeError(f"127.0.0.1:{args.port} is in use ({err.strerror}); try --port N") from err
    hass_bin = await asyncio.to_thread(ensure_demo_venv)
    zip_path, wheel = await asyncio.to_thread(build_release, ROOT / "dist")
    say(f"release artifacts: {zip_path.relative_to(ROOT)}, {wheel.relative_to(ROOT)}")
    write_config(config, zip_path, args.port)
    sims = procs.sims
    fleet: dict[str, str] = {}
    for name, vendor, extra, seed in FLEET:
        proc, where = await start_simulator(vendor, extra, args.profile, seed)
        sims.append((name, proc))
        fleet[name] = where
    say("simulated fleet: " + ", ".join(f"{n} at {w}" for n, w in fleet.items()) + f" (profile {args.profile})")
    env = dict(os.environ, UV_FIND_LINKS=str(wheel.parent))
    env.pop("VIRTUAL_ENV", None)
    hass_out = (run_dir / "hass.out").open("wb")
    hass = procs.hass = await asyncio.create_subprocess_exec(
        str(hass_bin),
        "-c",
        str(config),
        stdout=hass_out,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=run_dir,
        start_new_session=True,
    )
    say(f"starting Home Assistant (config {config}, log {config / 'home-assistant.log'})")
    async with aiohttp.ClientSession() as session:
        ha = HA(session, base)
        await ha.wait_up(hass, 300)
        say(f"Home Assistant answers after {time.monotonic() - t0:.0f} s; onboarding")
        await ha.onboard()
        entries: dict[str, dict[str, Any]] = {}
        for name, vendor, _, _ in FLEET:
            entry = await ha.config_flow(fleet[name], vendor)
            entries[name] = entry
            say(f"config flow created entry {entry['title']!r} ({vendor})")
        await ha.remove_onboarding_extras()
        await ha.ws_connect()
        entry_ids = {e["entry_id"] for e in entries.values()}
        packs = await collect_packs(ha, entry_ids, expected=7)
        bus_entry = entries[BUS_NAME]["entry_id"]
        # Named as an owner would name it: the packs' "<vendor> pack N" -> "<vendor> rack".
        rack_name = re.sub(r" pack \d+$", "", next(p["name"] for p in packs if p["entry_id"] == bus_entry)) + " rack"
        bank_entry = await create_bank(ha, rack_name, bus_entry)
        say(f"config flow created the battery bank {bank_entry['title']!r} of {len(bank_entry['members'])} packs")
        bank = {**await collect_bank(ha, bank_entry["entry_id"]), "members_entry_id": bus_entry}
        entry_ids.add(bank_entry["entry_id"])
        rows, totals, history_end = await import_history(ha, packs, bank)
        say(f"imported {rows} hourly statistics rows: the last 7 days of {len(packs)} packs and the bank")
        continuing = asyncio.create_task(continue_meters(ha, totals, history_end))
        continuing.add_done_callback(_report_failure)
        batteries = demo_dashboard.batteries([bank, *(p for p in packs if p["entry_id"] != bus_entry)])
        await ha.cmd("energy/save_prefs", **demo_dashboard.energy_prefs(batteries))
        await ha.cmd(
            "lovelace/dashboards/create",
            url_path="battery-fleet",
            title="Battery fleet",
            icon="mdi:battery-high",
            show_in_sidebar=True,
            require_admin=False,
            mode="storage",
        )
        await ha.cmd("lovelace/config/save", url_path="battery-fleet", config=demo_dashboard.dashboard(packs, [bank]))
        gateway = await start_mqtt(ha, args, run_dir, procs) if args.mqtt else None
        devices = await device_summary(ha, entry_ids)
        repairs = (await ha.cmd("repairs/list_issues"))["issues"]
        say(f"{len(devices)} devices for {len(packs)} packs; {len(repairs)} repair issue(s)")
        state = {
            "url": base,
            "username": USER,
            "password": PASSWORD,
            "fleet": fleet,
            "profile": args.profile,
            "entries": {n: {"entry_id": e["entry_id"], "title": e["title"]} for n, e in entries.items()},
            "packs": packs,
            "bank": bank,
            "energy_batteries": [b.name for b in batteries],
            "devices": devices,
            "gateway": gateway,
            "repairs": repairs,
            "statistics_rows": rows,
            "history_end": history_end.isoformat(),
            "config": str(config),
            "log": str(config / "home-assistant.log"),
            "hass_pid": hass.pid,
            "demo_pid": os.getpid(),
        }
        (run_dir / "demo.json").write_text(json.dumps(state, indent=2))
        say(f"ready after {time.monotonic() - t0:.0f} s: {len(entries)} entries, {len(packs)} packs")
        print(f"\n  Home Assistant:  {base}/battery-fleet   (Energy: {base}/energy)", flush=True)
        print(f"  Login:           {USER} / {PASSWORD}", flush=True)
        print("  Ctrl-C stops Home Assistant and the simulators.\n", flush=True)
        await asyncio.sleep(20)  # a few polls, then look at the log
        problems = log_problems(config / "home-assistant.log")
        if problems:
            say("Home Assistant's log has warnings/errors from bms_gateway/vendor_plugins:")
            for p in problems:
                say("  " + p)
        else:
            say("Home Assistant's log: no warning or error from bms_gateway or vendor_plugins")
        (run_dir / "log-check.json").write_text(json.dumps(problems))
        await stop.wait()
        continuing.cancel()
        if ha.ws is not None:
            await ha.ws.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--profile", default="live", choices=["live", "static"])
    parser.add_argument(
        "--mqtt",
        action="store_true",
        help="also a second fleet through bmsgw serve, Mosquitto and Home Assistant's MQTT integration",
    )
    parser.add_argument("--run-dir", type=Path, help="keep config, logs and demo.json here (default: a temp folder)")
    args = parser.parse_args()
    if args.run_dir:
        run_dir = args.run_dir.resolve()
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
    else:
        run_dir = Path(tempfile.mkdtemp(prefix="bms-demo-"))

    async def amain() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        procs = Procs()
        task = asyncio.create_task(run(args, run_dir, stop, procs))
        await asyncio.wait([task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            return 0
        finally:
            await stop_all(procs)

    try:
        return asyncio.run(amain())
    except Exception as err:  # a failed step: say which, after the clean-up ran
        say(f"failed: {err}")
        return 1
    finally:
        if not args.run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
