"""End to end: simulators → the gateway → a real Mosquitto → Home Assistant's own MQTT integration.

Home Assistant sets up every entity from the discovery payloads with no warning in its log; the entity states equal
``bmsgw read --json`` for the same simulators; a switch toggled in Home Assistant reaches the simulator.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from vendor_plugins.model import Alarm

from .broker import Mosquitto
from .conftest import load, running, served, simulator, write_config

ROOT = Path(__file__).resolve().parents[2]


async def _read_json(vendor: str, port: int, address: int | None = None) -> dict[str, Any]:
    extra = [] if address is None else ["--address", str(address)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vendor_plugins.cli",
        "read",
        "--tcp",
        f"127.0.0.1:{port}",
        "--vendor",
        vendor,
        "--json",
        *extra,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    document: dict[str, Any] = json.loads(out)
    return document


def _expected(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Entity key -> the value ``bmsgw read --json`` shows for it."""
    out: dict[str, Any] = {}
    for key in ("voltage", "current", "power", "soc", "soh", "remaining_capacity", "full_capacity", "cycles"):
        if snapshot.get(key) is not None:
            out[key] = snapshot[key]
    for index, volts in enumerate(snapshot["cell_voltages"]):
        out[f"cell_{index + 1}_voltage"] = volts
    for reading in snapshot["temperatures"]:
        out[f"temperature_{reading['name']}"] = reading["celsius"]
    for key in ("charge_mosfet", "discharge_mosfet"):
        if snapshot.get(key) is not None:
            out[key] = "on" if snapshot[key] else "off"
    return out


async def _wait(check: Any, seconds: float = 20, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        if result := check():
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_home_assistant_mqtt_sees_what_bmsgw_reads(
    hass: HomeAssistant, broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    sims = {"jbd": simulator("jbd"), "daly": simulator("daly")}
    bus = [simulator("pace", address=1, seed=1), simulator("pace", address=2, seed=2)]
    async with served(sims["jbd"]) as jbd, served(sims["daly"]) as daly, served(bus) as pace:
        ports = {"jbd": jbd.port, "daly": daly.port, "pace": pace.port}
        connections = [
            {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{jbd.port}", "control": True},
            {"name": "garage", "vendor": "daly", "tcp": f"127.0.0.1:{daly.port}"},
            # control on the bus too: its settings (PACE ranges and steps) must pass Home Assistant's number schema
            {"name": "rack", "vendor": "pace", "tcp": f"127.0.0.1:{pace.port}", "address": "1-2", "control": True},
        ]
        config = load(write_config(tmp_path, broker.port, connections))
        ha_config = tmp_path / "ha"
        ha_config.mkdir()
        (ha_config / "configuration.yaml").write_text("")
        hass.config.config_dir = str(ha_config)  # the MQTT integration reads it (YAML-configured items)
        entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": broker.port}, version=2)
        entry.add_to_hass(hass)
        async with running(config):
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            registry = er.async_get(hass)

            def entities(name: str) -> dict[str, str]:
                prefix = f"bmsgw_testgw_{name}_"
                return {
                    e.unique_id.removeprefix(prefix): e.entity_id
                    for e in registry.entities.values()
                    if e.platform == "mqtt" and e.unique_id.startswith(prefix)
                }

            packs = (("shed", "jbd", None), ("garage", "daly", None), ("rack_1", "pace", 1), ("rack_2", "pace", 2))
            for name, _, _ in packs:
                await _wait(lambda n=name: "voltage" in entities(n), what=f"{name} entities")
            await asyncio.sleep(1.0)  # the rest of the discovery flood
            await hass.async_block_till_done()
            compared = 0
            for name, vendor, address in packs:
                document = await _read_json(vendor, ports[vendor], address)
                snapshot = document["packs"][0]["snapshot"]
                ids = entities(name)
                for key, value in _expected(snapshot).items():
                    state = hass.states.get(ids[key])
                    assert state is not None, key
                    compared += 1
                    if isinstance(value, str):
                        assert state.state == value, (name, key)
                    else:
                        assert float(state.state) == pytest.approx(value, abs=1e-6), (name, key, state.state)
                voltage = hass.states.get(ids["voltage"])
                assert voltage is not None
                assert voltage.attributes["device_class"] == "voltage"
                assert voltage.attributes["unit_of_measurement"] == "V"
                assert voltage.attributes["state_class"] == "measurement"
                assert voltage.name.endswith("Voltage")

            assert compared >= 50
            switch = entities("shed")["charge_mosfet_switch"]
            assert hass.states.get(switch).state == "on"
            await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
            await _wait(lambda: not sims["jbd"].state.charge_mosfet, what="the simulator's MOSFET off")
            await _wait(lambda: hass.states.get(switch).state == "off", what="the switch off in Home Assistant")
            assert "charge_mosfet_switch" not in entities("garage")  # control is off there

            # an alarm raised on the pack: its binary sensor turns on and the event entity fires
            events = entities("shed")["alarm_events"]
            assert hass.states.get(events).state == "unknown"
            fired: list[tuple[str, str]] = []

            def on_change(event: Any) -> None:
                new = event.data["new_state"]
                if event.data["entity_id"] == events and new is not None and "event_type" in new.attributes:
                    fired.append((new.attributes["event_type"], new.attributes.get("alarm")))

            hass.bus.async_listen("state_changed", on_change)
            sims["jbd"].state.alarms.add(Alarm.CELL_OVERVOLTAGE)
            alarm = entities("shed")["alarm_cell_overvoltage"]
            await _wait(lambda: hass.states.get(alarm).state == "on", what="the alarm's binary sensor on")
            await _wait(lambda: ("alarm_raised", "cell_overvoltage") in fired, what="the alarm event")
            await _devices_and_settings(hass, entry, entities, sims["jbd"])
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("homeassistant")]
    assert not problems, [r.getMessage() for r in problems]


async def _devices_and_settings(hass: HomeAssistant, entry: MockConfigEntry, entities: Any, jbd: Any) -> None:
    """The packs hang off the gateway's device; settings are config numbers, disabled by default, and write."""
    devices = dr.async_get(hass)
    gateway = devices.async_get_device_by_identifier(("mqtt", "bmsgw_testgw"), entry.entry_id)
    assert gateway is not None
    assert (gateway.name, gateway.model) == ("BMS gateway testgw", "bmsgw serve")
    for name in ("shed", "garage", "rack_1", "rack_2"):
        pack = devices.async_get_device_by_identifier(("mqtt", f"bmsgw_testgw_{name}"), entry.entry_id)
        assert pack is not None, name
        assert pack.via_device_id == gateway.id, name
    registry = er.async_get(hass)
    status = next(e.entity_id for e in registry.entities.values() if e.platform == "mqtt" and e.device_id == gateway.id)
    assert hass.states.get(status).state == "on"  # the gateway is connected

    setting = "setting_charge_overcurrent_protect"
    number = entities("shed")[setting]
    registered = registry.async_get(number)
    assert registered is not None
    assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert registered.entity_category is EntityCategory.CONFIG
    assert not [key for key in entities("garage") if key.startswith("setting_")]  # control is off there
    for pack in ("rack_1", "rack_2"):  # every setting of the bus's packs set up (disabled) by Home Assistant
        await _wait(lambda p=pack: len([k for k in entities(p) if k.startswith("setting_")]) >= 50, what=pack)
    # the user enables it: after the reload Home Assistant shows the pack's value and a write reaches the pack
    registry.async_update_entity(number, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await _wait(
        lambda: (s := hass.states.get(number)) is not None and s.state not in ("unknown", "unavailable"),
        what="the setting's value in Home Assistant",
    )
    assert float(hass.states.get(number).state) == pytest.approx(jbd.settings.values()["charge_overcurrent_protect"])
    assert hass.states.get(number).attributes["unit_of_measurement"] == "A"
    await hass.services.async_call("number", "set_value", {"entity_id": number, "value": 42.5}, blocking=True)
    await _wait(
        lambda: jbd.settings.values()["charge_overcurrent_protect"] == pytest.approx(42.5),
        what="the setting written to the simulator",
    )
    await _wait(lambda: hass.states.get(number).state == "42.5", what="the value read back in Home Assistant")
