"""Command topics: a switch goes through the library's verified path; refused without control, no byte sent."""

from __future__ import annotations

import aiomqtt

from .broker import Mosquitto
from .conftest import load, recording, running, served, simulator, write_config

PREFIX = "bms_gateway/testgw"
#: JBD frames: 0xDD, then 0xA5 for a read, 0x5A for a write, then the register (0xE1: the MOSFETs).
JBD_READ = 0xA5
JBD_WRITE = 0x5A
JBD_MOSFETS = 0xE1


async def _publish(port: int, topic: str, payload: str) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1)


async def test_switch_command_reaches_the_pack_and_its_true_state_is_published(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        connection = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{server.port}", "control": True}
        config = load(write_config(tmp_path, broker.port, [connection]))
        async with running(config):
            state = f"{PREFIX}/shed/charge_mosfet_switch"
            await rec.wait_for(lambda: rec.last(state) == "ON", what="switch state ON")
            switch = [c for c in rec.discovery().values() if c["unique_id"].endswith("_charge_mosfet_switch")]
            assert switch[0]["command_topic"] == f"{state}/set"
            await _publish(broker.port, f"{state}/set", "OFF")
            await rec.wait_for(lambda: rec.last(state) == "OFF", what="switch state OFF")
            assert sim.state.charge_mosfet is False
            assert rec.last(f"{PREFIX}/shed/charge_mosfet") == "OFF"  # the MOSFET's binary sensor too
            await _publish(broker.port, f"{state}/set", "ON")
            await rec.wait_for(lambda: rec.last(state) == "ON", what="switch state ON again")
            assert sim.state.charge_mosfet is True
            assert not rec.on(f"{PREFIX}/shed/command_error")


async def test_without_control_a_command_is_refused_and_no_byte_is_sent(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        connection = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{server.port}"}
        config = load(write_config(tmp_path, broker.port, [connection]))
        async with running(config):
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/availability") == "online", what="online")
            assert not [c for c in rec.discovery().values() if c["unique_id"].endswith("_switch")]
            await _publish(broker.port, f"{PREFIX}/shed/charge_mosfet_switch/set", "OFF")
            error = await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/command_error"), what="a command error")
            assert "control is not enabled" in error
            # a command on another gateway's topic is not ours: ignored
            await _publish(broker.port, "bms_gateway/othergw/shed/charge_mosfet_switch/set", "OFF")
            await _publish(broker.port, f"{PREFIX}/shed/charge_mosfet_switch/set/extra", "OFF")
        assert sim.state.charge_mosfet is True
        assert sim.requests
        assert all(request[1] == JBD_READ for request in sim.requests), "a write went out"
        assert len(rec.on(f"{PREFIX}/shed/command_error")) == 1


async def test_a_retained_command_is_never_run(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:  # stored before the gateway starts
            await client.publish(f"{PREFIX}/shed/charge_mosfet_switch/set", "OFF", qos=1, retain=True)
        connection = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{server.port}", "control": True}
        config = load(write_config(tmp_path, broker.port, [connection]))
        async with running(config) as gateway:
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/charge_mosfet_switch") == "ON", what="switch ON")
            rounds = gateway.runners[0].rounds
            await rec.wait_for(lambda: gateway.runners[0].rounds >= rounds + 2, what="two more polls")
        assert sim.state.charge_mosfet is True
        # with control the pack's settings are read (factory mode is entered by a write), but no MOSFET write
        assert not [r for r in sim.requests if r[1] == JBD_WRITE and r[2] == JBD_MOSFETS], "a MOSFET write went out"
