"""Resilience: the broker killed and restarted, a BMS link dropped, SIGTERM, energy meters across restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from .broker import Mosquitto
from .conftest import load, recording, running, served, simulator, write_config

PREFIX = "bms_gateway/testgw"
ROOT = Path(__file__).resolve().parents[2]


def _shed(port: int) -> list[dict[str, object]]:
    return [{"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{port}"}]


async def test_broker_restart_reconnects_and_republishes(broker: Mosquitto, tmp_path: Path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, _shed(server.port)))
        async with running(config) as gateway:
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/voltage"), what="first states")
            broker.stop()  # killed: no persistence, every retained message is gone
            await rec.wait_for(lambda: not gateway.publisher.connected.is_set(), what="the gateway notices")
            sim.state.current = 3.0  # changes while the broker is away: only the latest value is kept
            sim.state.current = 4.0
            await asyncio.sleep(1.5)
            assert gateway.publisher.pending > 0
            rec.messages.clear()
            started = asyncio.get_running_loop().time()
            broker.start()
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/current") == "4.0", what="the new current")
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/availability") == "online", what="online again")
            recovered = asyncio.get_running_loop().time() - started
            assert recovered < 5  # back-off capped at the 1 s poll interval; slack for a loaded machine
            assert rec.last(f"{PREFIX}/status") == "online"
            assert any(m.topic.endswith("/shed_voltage/config") for m in rec.messages), "discovery republished"
            assert gateway.publisher.connections == 2


async def test_a_dropped_simulator_makes_its_pack_unavailable_the_others_go_on(broker: Mosquitto, tmp_path) -> None:
    first, second = simulator("jbd"), simulator("daly")
    async with served(first) as one, served(second) as two, recording(broker.port) as rec:
        connections = [
            {"name": "one", "vendor": "jbd", "tcp": f"127.0.0.1:{one.port}", "timeout": 0.3},
            {"name": "two", "vendor": "daly", "tcp": f"127.0.0.1:{two.port}", "timeout": 0.3},
        ]
        config = load(write_config(tmp_path, broker.port, connections))
        async with running(config) as gateway:
            for pack in ("one", "two"):
                await rec.wait_for(lambda p=pack: rec.last(f"{PREFIX}/{p}/availability") == "online", what=pack)
            await one.close()
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/one/availability") == "offline", what="one offline")
            rounds = gateway.runners[1].rounds
            second.state.current = -7.5  # the other pack keeps being read and published
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/two/current") == "-7.5", what="two keeps updating")
            assert gateway.runners[1].rounds > rounds
            assert rec.last(f"{PREFIX}/two/availability") == "online"
            assert rec.last(f"{PREFIX}/status") == "online"


async def test_sigterm_offline_and_state_saved(broker: Mosquitto, tmp_path: Path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        path = write_config(tmp_path, broker.port, _shed(server.port))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vendor_plugins.cli",
            "serve",
            "--config",
            str(path),
            cwd=ROOT,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/availability") == "online", seconds=30, what="up")
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()
        await rec.wait_for(lambda: rec.last(f"{PREFIX}/status") == "offline", what="gateway offline")
        assert rec.last(f"{PREFIX}/shed/availability") == "offline"
        assert server.connections >= 1
        await rec.wait_for(lambda: not server.clients, what="the link closed")
        saved = json.loads((tmp_path / "state.json").read_text())
        assert set(saved["packs"]) == {"shed"}
        assert "Traceback" not in stderr.decode()


async def test_energy_meters_survive_a_restart(broker: Mosquitto, tmp_path: Path) -> None:
    sim = simulator("jbd")
    sim.state.current = 20.0  # charging: about 270 W
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, _shed(server.port)))
        topic = f"{PREFIX}/shed/energy_charged"
        async with running(config) as gateway:
            await rec.wait_for(lambda: float(rec.last(topic) or 0) > 0, seconds=20, what="charged energy")
            runner = gateway.runners[0]
            await rec.wait_for(lambda: runner.rounds >= 4, what="a few polls")
        saved = json.loads((tmp_path / "state.json").read_text())["packs"]["shed"]["energy"]
        assert saved["charged_wh"] > 0
        rec.messages.clear()
        async with running(config) as gateway:
            await rec.wait_for(lambda: rec.last(topic) is not None, what="the meter after the restart")
            assert float(rec.last(topic) or 0) >= round(saved["charged_wh"] / 1000, 3)
            meter = gateway.runners[0].packs[None].energy
            assert meter.charged_wh >= saved["charged_wh"]


async def test_tls_password_and_no_secret_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from .broker import MOSQUITTO, SKIP_REASON, make_tls

    if MOSQUITTO is None:
        pytest.skip(SKIP_REASON)
    import ssl

    password = "Tls-s3cret-9f2"
    directory = tmp_path / "broker"
    directory.mkdir()
    tls = make_tls(directory)
    mosquitto = Mosquitto(directory, tls=tls, users={"gw": password})
    mosquitto.start()
    caplog.set_level(logging.DEBUG)
    try:
        context = ssl.create_default_context(cafile=str(tls.ca))
        sim = simulator("jbd")
        async with (
            served(sim) as server,
            recording(mosquitto.port, tls=context, username="gw", password=password) as rec,
        ):
            path = write_config(
                tmp_path,
                mosquitto.port,
                _shed(server.port),
                broker={"username": "gw", "password": password, "tls": {"ca_file": str(tls.ca)}},
            )
            async with running(load(path)):
                await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/voltage"), what="states over TLS")
            # a wrong password: refused, retried, logged without the secret
            bad = write_config(
                tmp_path,
                mosquitto.port,
                _shed(server.port),
                broker={"username": "gw", "password": "wrong-" + password, "tls": {"ca_file": str(tls.ca)}},
            )
            async with running(load(bad)):
                await asyncio.sleep(1.5)
    finally:
        mosquitto.stop()
    assert password not in caplog.text
    assert "wrong-" not in caplog.text
    assert "MQTT broker" in caplog.text  # the refused login was logged


async def test_a_pack_unplugged_from_a_bus_goes_offline_the_bus_goes_on(broker: Mosquitto, tmp_path: Path) -> None:
    bus = [simulator("pace", address=a, seed=a) for a in (1, 2, 3)]
    async with served(bus) as server, recording(broker.port) as rec:
        connection = {"name": "rack", "vendor": "pace", "tcp": f"127.0.0.1:{server.port}", "address": "1-3"}
        config = load(write_config(tmp_path, broker.port, [connection]))
        async with running(config):
            for pack in ("rack_1", "rack_2", "rack_3"):
                await rec.wait_for(lambda p=pack: rec.last(f"{PREFIX}/{p}/availability") == "online", what=pack)
            bus[1].present = False
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/rack_2/availability") == "offline", what="rack_2 off")
            bus[2].state.current = -9.25
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/rack_3/current") == "-9.25", what="rack_3 updates")
            assert rec.last(f"{PREFIX}/rack_1/availability") == "online"
            bus[1].present = True
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/rack_2/availability") == "online", what="rack_2 back")
