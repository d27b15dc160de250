"""What the gateway announced stays in step with its config: stale discovery is removed; the gateway's own device."""

from __future__ import annotations

import asyncio
import json

from .broker import Mosquitto
from .conftest import load, recording, running, served, simulator, write_config

DISCOVERY = "homeassistant/"


async def _retained(port: int) -> dict[str, str]:
    """The retained discovery configs on the broker now (what Home Assistant would get when it subscribes)."""
    async with recording(port) as rec:
        await asyncio.sleep(0.5)
    return {m.topic: m.payload for m in rec.messages if m.topic.startswith(DISCOVERY) and m.retain}


async def test_discovery_of_packs_and_entities_no_longer_configured_is_cleared_at_start(
    broker: Mosquitto, tmp_path
) -> None:
    async with served(simulator("jbd")) as jbd, served(simulator("daly")) as daly:
        shed = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{jbd.port}", "control": True}
        garage = {"name": "garage", "vendor": "daly", "tcp": f"127.0.0.1:{daly.port}"}
        async with recording(broker.port) as rec, running(load(write_config(tmp_path, broker.port, [shed, garage]))):
            for pack in ("shed", "garage"):
                await rec.wait_for(lambda p=pack: rec.last(f"bms_gateway/testgw/{p}/voltage"), what=f"{pack} state")
        first = await _retained(broker.port)
        assert any("/garage_" in topic for topic in first)
        assert any(topic.endswith("/shed_charge_mosfet_switch/config") for topic in first)
        assert any(topic.endswith("/shed_setting_charge_overcurrent_protect/config") for topic in first)
        saved = json.loads((tmp_path / "state.json").read_text())["discovery"]
        assert set(saved) == {"", "shed", "garage"}
        assert set(saved["garage"]) == {t for t in first if "/garage_" in t}

        # the garage pack leaves the config, and control is turned off for the shed
        shed["control"] = False
        async with recording(broker.port) as rec, running(load(write_config(tmp_path, broker.port, [shed]))):
            await rec.wait_for(lambda: rec.last("bms_gateway/testgw/shed/availability") == "online", what="online")
            await asyncio.sleep(0.5)
        after = await _retained(broker.port)
    assert not [topic for topic in after if "/garage_" in topic]
    control_only = ("_switch/config", "_setting_", "_set_soc/")
    assert not [topic for topic in after if any(part in topic for part in control_only)]
    assert {t for t in first if "/shed_" in t and not any(part in t for part in control_only)} <= set(after)
    saved = json.loads((tmp_path / "state.json").read_text())["discovery"]
    assert set(saved) == {"", "shed"}
    assert set(saved["shed"]) == {t for t in after if "/shed_" in t}


async def test_a_pack_not_seen_yet_keeps_its_discovery(broker: Mosquitto, tmp_path) -> None:
    """A configured pack that does not answer this time is not removed (it may come back): only unconfigured ones."""
    async with served(simulator("jbd")) as jbd:
        shed = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{jbd.port}"}
        async with recording(broker.port) as rec, running(load(write_config(tmp_path, broker.port, [shed]))):
            await rec.wait_for(lambda: rec.last("bms_gateway/testgw/shed/voltage"), what="shed state")
        port = jbd.port
    first = await _retained(broker.port)
    shed["tcp"] = f"127.0.0.1:{port}"  # the simulator is gone: nothing answers there now
    async with running(load(write_config(tmp_path, broker.port, [shed]))) as gateway:
        await asyncio.sleep(1.5)
        assert gateway.runners[0].rounds >= 1
    after = await _retained(broker.port)
    assert {t for t in first if "/shed_" in t} <= set(after)
    assert set(json.loads((tmp_path / "state.json").read_text())["discovery"]["shed"]) == {
        t for t in first if "/shed_" in t
    }


async def test_the_gateway_is_a_device_its_packs_hang_off(broker: Mosquitto, tmp_path) -> None:
    async with served(simulator("jbd")) as jbd, recording(broker.port) as rec:
        shed = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{jbd.port}"}
        async with running(load(write_config(tmp_path, broker.port, [shed]))):
            await rec.wait_for(lambda: rec.last("bms_gateway/testgw/shed/voltage"), what="shed state")
        await rec.wait_for(lambda: rec.last("bms_gateway/testgw/status") == "offline", what="offline at the stop")
        configs = rec.discovery()
    status = configs["homeassistant/binary_sensor/bmsgw_testgw/status/config"]
    assert status["device"]["identifiers"] == ["bmsgw_testgw"]
    assert status["state_topic"] == "bms_gateway/testgw/status"
    assert (status["device_class"], status["entity_category"]) == ("connectivity", "diagnostic")
    assert "availability" not in status  # it shows "disconnected" (the last will), not "unavailable"
    packs = [c for t, c in configs.items() if "/shed_" in t]
    assert packs
    assert all(c["device"]["via_device"] == "bmsgw_testgw" for c in packs)


async def test_what_a_pack_announced_is_saved_soon_not_only_at_shutdown(broker: Mosquitto, tmp_path) -> None:
    """A gateway killed (no clean stop) a minute later still removes what it announced when the config changes."""
    async with served(simulator("jbd")) as jbd, recording(broker.port) as rec:
        shed = {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{jbd.port}"}
        async with running(load(write_config(tmp_path, broker.port, [shed]))):
            await rec.wait_for(lambda: rec.last("bms_gateway/testgw/shed/voltage"), what="shed state")
            state = tmp_path / "state.json"
            saved = await rec.wait_for(
                lambda: state.exists() and json.loads(state.read_text()).get("discovery", {}).get("shed"),
                seconds=5,
                what="the announcement in the state file",
            )
            assert any(topic.endswith("/shed_voltage/config") for topic in saved)


def test_which_saved_packs_a_connection_may_still_hold(tmp_path) -> None:
    from vendor_plugins.gateway.service import _may_hold

    connections = [
        {"name": "rack", "vendor": "pace", "tcp": "127.0.0.1:4196", "address": "all"},
        {"name": "pair", "vendor": "pace", "tcp": "127.0.0.1:4197", "address": "1-2"},
        {"name": "shed", "vendor": "jbd", "tcp": "127.0.0.1:4198"},
    ]
    rack, pair, shed = load(write_config(tmp_path, 1883, connections)).connections
    assert _may_hold(rack, "rack_7") and not _may_hold(rack, "rack_x") and not _may_hold(rack, "racks_1")
    assert _may_hold(pair, "pair_2") and not _may_hold(pair, "pair_3")
    assert _may_hold(shed, "shed") and not _may_hold(shed, "shed_1")
