"""Discovery and state publishing against a real Mosquitto: entities from the catalog, change-only states."""

from __future__ import annotations

import asyncio
import json

from .broker import Mosquitto
from .conftest import load, recording, running, served, simulator, write_config

PREFIX = "bms_gateway/testgw"


async def test_discovery_states_and_no_message_for_an_unchanged_poll(broker: Mosquitto, tmp_path) -> None:
    async with served(simulator("jbd")) as sim, recording(broker.port) as rec:
        path = write_config(tmp_path, broker.port, [{"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{sim.port}"}])
        config = load(path)
        async with running(config) as gateway:
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/availability") == "online", what="pack online")
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/voltage") is not None, what="voltage state")
            discovery = rec.discovery()
            sensors = {c["unique_id"]: c for c in discovery.values()}
            voltage = sensors["bmsgw_testgw_shed_voltage"]
            assert voltage["device_class"] == "voltage"
            assert voltage["unit_of_measurement"] == "V"
            assert voltage["state_class"] == "measurement"
            assert voltage["name"] == "Voltage"
            assert voltage["state_topic"] == f"{PREFIX}/shed/voltage"
            assert {"topic": f"{PREFIX}/status"} in voltage["availability"]
            assert "bmsgw_testgw_shed_energy_charged" in sensors
            assert "bmsgw_testgw_shed_alarm_events" in sensors
            # control is off: no switch announced
            assert not [c for c in sensors if c.endswith("_mosfet_switch")]
            assert rec.last(f"{PREFIX}/status") == "online"

            # wait for a few polls; the static simulator does not change: nothing more is published
            rounds = gateway.runners[0].rounds
            await rec.wait_for(lambda: gateway.runners[0].rounds >= rounds + 1, what="a poll")
            await asyncio.sleep(0.3)
            sent = gateway.publisher.sent
            count = len(rec.messages)
            rounds = gateway.runners[0].rounds
            await rec.wait_for(lambda: gateway.runners[0].rounds >= rounds + 2, what="two more polls")
            await asyncio.sleep(0.3)
            assert gateway.publisher.sent == sent
            assert len(rec.messages) == count
        assert rec.last(f"{PREFIX}/shed/availability") == "offline"
        assert rec.last(f"{PREFIX}/status") == "offline"
        saved = json.loads((tmp_path / "state.json").read_text())
        assert "shed" in saved["packs"]


async def test_vendor_auto_is_detected_read_only(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        path = write_config(
            tmp_path, broker.port, [{"name": "boat", "vendor": "auto", "tcp": f"127.0.0.1:{server.port}"}]
        )
        config = load(path)
        assert config.connections[0].plugin is None
        async with running(config) as gateway:
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/boat/voltage"), seconds=30, what="the detected pack")
            assert gateway.runners[0].plugin is not None
            assert gateway.runners[0].plugin.name == "jbd"
        assert all(request[1] == 0xA5 for request in sim.requests), "detection wrote to the pack"
