"""The gateway's pieces on their own: topics, the change-only bounded publisher, the state file, the catalog."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from custom_components.bms_gateway import event as ha_event
from custom_components.bms_gateway import switch as ha_switch
from custom_components.bms_gateway.descriptions import ENERGY_SENSORS, binary_sensor_descriptions, sensor_descriptions
from vendor_plugins import entity_catalog as catalog
from vendor_plugins.connect import LinkSettings, open_link
from vendor_plugins.energy import EnergyState
from vendor_plugins.entity_names import NAMES
from vendor_plugins.gateway.config import BrokerConfig
from vendor_plugins.gateway.packs import pack_specs
from vendor_plugins.gateway.publisher import MAX_PENDING_EVENTS, Publisher
from vendor_plugins.gateway.state import StateFile
from vendor_plugins.gateway.topics import Topics
from vendor_plugins.model import Switch
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.registry import default_registry

from .conftest import served, simulator

ROOT = Path(__file__).resolve().parents[2]
TOPICS = Topics("bms_gateway", "homeassistant", "gw")


def test_catalog_names_are_the_integrations_english_names() -> None:
    translations = json.loads((ROOT / "custom_components/bms_gateway/translations/en.json").read_text())["entity"]
    for platform, names in NAMES.items():
        # Entities only the integration has (the bus device's, the bank's) may carry more names; every catalog name
        # must read the same in both. That the pack entity sets are the same is tested per vendor below.
        integration = {key: value["name"] for key, value in translations[platform].items()}
        assert {key: integration.get(key) for key in names} == names, platform


def test_integration_switch_and_event_use_the_catalog_keys() -> None:
    for switch in Switch:
        spec = catalog.switch_spec(switch)
        description = ha_switch._description(switch)
        assert (description.key, description.translation_key, description.field) == (
            spec.key,
            spec.translation_key,
            spec.field,
        )
    assert ha_event.DESCRIPTION.key == catalog.EVENT_SPEC.key
    assert tuple(ha_event.EVENT_TYPES) == catalog.EVENT_TYPES


def test_command_topics_are_only_our_own() -> None:
    assert TOPICS.parse_command("bms_gateway/gw/shed_1/charge_mosfet_switch/set") == ("shed_1", "charge_mosfet_switch")
    for topic in (
        "bms_gateway/other/shed/charge_mosfet_switch/set",
        "bms_gateway/gw/shed/charge_mosfet_switch",
        "bms_gateway/gw/shed/charge_mosfet_switch/set/x",
        "bms_gateway/gw//charge_mosfet_switch/set",
        "homeassistant/gw/shed/x/set",
    ):
        assert TOPICS.parse_command(topic) is None, topic


def test_publisher_sends_changes_only_and_keeps_the_latest_value_per_topic() -> None:
    publisher = Publisher(BrokerConfig("127.0.0.1", 1883), TOPICS)
    publisher.set("a", "1")
    publisher.set("a", "1")
    assert publisher.pending == 1
    for value in range(10_000):  # the broker is away: only the latest value per topic is kept
        publisher.set("a", str(value))
        publisher.set("b", str(value))
    assert publisher.pending == 2
    assert publisher.retained == {"a": "9999", "b": "9999"}
    for index in range(MAX_PENDING_EVENTS * 3):
        publisher.event("e", str(index))
    assert publisher.pending == 2 + MAX_PENDING_EVENTS


def test_state_file_round_trip_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    store = StateFile(path)
    assert store.load() == {}
    store.save({"shed": EnergyState(1500.0, 250.0, 100.0, 42.0)})
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert store.load() == {"shed": EnergyState(1500.0, 250.0, 100.0, 42.0)}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary file left


def test_a_broken_state_file_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    assert StateFile(path).load() == {}
    assert (tmp_path / "state.json.bad").exists()
    assert "energy meters start at zero" in caplog.text


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    store = StateFile(path)
    store.save({"shed": EnergyState(1.0, 2.0)})

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        store.save({"shed": EnergyState(5.0, 6.0)})
    assert store.load() == {"shed": EnergyState(1.0, 2.0)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def _ha_row(description: Any, unit: bool = True) -> tuple[Any, ...]:
    units = description.native_unit_of_measurement if unit else None
    return (description.key, description.translation_key, description.device_class, units)


@pytest.mark.parametrize("vendor", ["jbd", "daly", "pace"])
async def test_the_gateway_announces_the_integrations_entity_set(vendor: str) -> None:
    plugin = default_registry().get(vendor)
    async with served(simulator(vendor)) as server:
        link = open_link(LinkSettings.tcp("127.0.0.1", server.port), plugin, SessionOptions())
        try:
            snapshot = await plugin.open_session(link, SessionOptions()).read(None)
        finally:
            await link.close()
    integration = [_ha_row(d) for d in sensor_descriptions(snapshot)]
    integration += [_ha_row(d) for d in ENERGY_SENSORS]
    integration += [_ha_row(d, unit=False) for d in binary_sensor_descriptions(snapshot, plugin)]
    gateway = [
        (spec.key, spec.translation_key, spec.device_class, spec.unit)
        for spec in pack_specs(snapshot, plugin, control=False)
        if spec.platform != "event"
    ]
    assert gateway == integration
    switches = {spec.key for spec in pack_specs(snapshot, plugin, control=True) if spec.platform == "switch"}
    expected = {
        ha_switch._description(switch).key
        for switch in plugin.capabilities.switches
        if getattr(snapshot, f"{switch.value}_mosfet") is not None
    }
    assert switches == expected
