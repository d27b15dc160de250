"""Battery settings over MQTT: number/switch entities for connections with control, verified writes, refusals.

With the real Mosquitto and the JBD simulator over TCP (its settings live in EEPROM words, written only inside
factory mode, and it refuses out-of-range values as the board does). JBD request frames: ``DD``, then ``A5`` for a
read and ``5A`` for a write, then the register.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiomqtt
import pytest

from custom_components.bms_gateway import number as ha_number
from vendor_plugins.battery_settings import SettingsTable
from vendor_plugins.connect import LinkSettings, open_link
from vendor_plugins.errors import ControlNotConfirmed, SettingsRefused
from vendor_plugins.gateway.discovery import PackIdentity, discovery_messages
from vendor_plugins.gateway.settings import SETTINGS_MAX_AGE, pack_settings, parse_setting, published
from vendor_plugins.gateway.topics import Topics
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.registry import default_registry

from .broker import Mosquitto
from .conftest import load, recording, running, served, simulator, write_config

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "bms_gateway/testgw"
JBD_WRITE = 0x5A
SETTING = "charge_overcurrent_protect"
STATE = f"{PREFIX}/shed/setting_{SETTING}"


async def _publish(port: int, topic: str, payload: str, *, retain: bool = False) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1, retain=retain)


def _connection(port: int, *, control: bool = True) -> dict[str, object]:
    return {"name": "shed", "vendor": "jbd", "tcp": f"127.0.0.1:{port}", "control": control}


def _writes(requests: list[bytes]) -> list[bytes]:
    return [r for r in requests if r[1] == JBD_WRITE]


async def test_a_setting_write_reaches_the_pack_and_the_value_read_back_is_published(
    broker: Mosquitto, tmp_path
) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, [_connection(server.port)]))
        async with running(config) as gateway:
            before = await rec.wait_for(lambda: rec.last(STATE), what="the setting's state")
            assert float(before) == pytest.approx(sim.settings.values()[SETTING])
            number = next(c for c in rec.discovery().values() if c["unique_id"].endswith(f"_setting_{SETTING}"))
            assert number["command_topic"] == f"{STATE}/set"
            assert (number["entity_category"], number["enabled_by_default"]) == ("config", False)
            assert number["name"] == "Charge over-current protection"
            balancer = [t for t, c in rec.discovery().items() if c["unique_id"].endswith("_setting_balancer_enabled")]
            assert balancer == ["homeassistant/switch/bmsgw_testgw/shed_setting_balancer_enabled/config"]
            target = 61.237 if float(before) != 61.24 else 55.0
            await _publish(broker.port, f"{STATE}/set", str(target))
            # the wire resolution is 0.01 A: what the pack reads back (61.24) is what is published
            expected = round(target, 2)
            await rec.wait_for(lambda: rec.last(STATE) == repr(expected), what="the value read back")
            assert sim.settings.values()[SETTING] == pytest.approx(expected)
            assert not rec.on(f"{PREFIX}/shed/command_error")
            # the balancer as a switch: OFF then ON, each read back
            balancer_state = f"{PREFIX}/shed/setting_balancer_enabled"
            first = await rec.wait_for(lambda: rec.last(balancer_state), what="balancer state")
            flipped = "OFF" if first == "ON" else "ON"
            await _publish(broker.port, f"{balancer_state}/set", flipped)
            await rec.wait_for(lambda: rec.last(balancer_state) == flipped, what="balancer read back")
            assert sim.settings.values()["balancer_enabled"] is (flipped == "ON")
            # settings were read at the start and after each write, never on each poll
            rounds = gateway.runners[0].rounds
            await rec.wait_for(lambda: gateway.runners[0].rounds >= rounds + 3, what="three more polls")
            assert gateway.runners[0].settings_reads == 3
            assert SETTINGS_MAX_AGE >= 120


async def test_without_control_no_setting_entity_and_a_command_is_refused_without_a_byte(
    broker: Mosquitto, tmp_path
) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, [_connection(server.port, control=False)]))
        async with running(config):
            await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/availability") == "online", what="online")
            assert not [c for c in rec.discovery().values() if "_setting_" in c["unique_id"]]
            assert not [c for c in rec.discovery().values() if c["unique_id"].endswith("_set_soc")]
            await _publish(broker.port, f"{STATE}/set", "50")
            error = await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/command_error"), what="a command error")
            assert "control is not enabled" in error
        assert sim.requests
        assert not _writes(sim.requests), "a byte of a write went out"
        assert rec.last(STATE) is None


async def test_an_out_of_range_value_is_refused_before_any_byte(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, [_connection(server.port)]))
        async with running(config):
            before = await rec.wait_for(lambda: rec.last(STATE), what="the setting's state")
            sent = len(sim.requests)
            for payload in ("5000", "-3", "nan", "abc"):
                await _publish(broker.port, f"{STATE}/set", payload)
            errors = await rec.wait_for(
                lambda: len(rec.on(f"{PREFIX}/shed/command_error")) == 4 and rec.on(f"{PREFIX}/shed/command_error"),
                what="four command errors",
            )
            assert all(SETTING in e.payload for e in errors)
            assert not _writes(sim.requests[sent:]), "a write went out for a refused value"
            assert rec.last(STATE) == before


async def test_a_retained_setting_command_is_never_run(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        await _publish(broker.port, f"{STATE}/set", "40", retain=True)  # stored before the gateway starts
        config = load(write_config(tmp_path, broker.port, [_connection(server.port)]))
        async with running(config) as gateway:
            before = await rec.wait_for(lambda: rec.last(STATE), what="the setting's state")
            rounds = gateway.runners[0].rounds
            await rec.wait_for(lambda: gateway.runners[0].rounds >= rounds + 2, what="two more polls")
            assert gateway.runners[0].settings_reads == 1
        assert float(before) != 40.0
        assert sim.settings.values()[SETTING] == pytest.approx(float(before))
        assert not rec.on(f"{PREFIX}/shed/command_error")


def test_payloads_are_parsed_or_refused() -> None:
    assert parse_setting(SETTING, "12.5") == 12.5
    assert parse_setting("balancer_enabled", "ON") is True
    for name, payload in ((SETTING, "inf"), (SETTING, ""), ("balancer_enabled", "1"), ("no_such_setting", "1")):
        with pytest.raises(SettingsRefused):
            parse_setting(name, payload)


def _tables() -> list[tuple[str, SettingsTable]]:
    out = []
    for vendor, options in (
        ("jbd", SessionOptions()),
        ("daly", SessionOptions(family="d2")),
        ("pace", SessionOptions(family="modbus")),
        ("pace", SessionOptions(family="ascii-25")),
    ):
        plugin = default_registry().get(vendor)
        link = open_link(LinkSettings.tcp("127.0.0.1", 1), plugin, options)
        session = plugin.open_session(link, options)
        out.append((f"{vendor}/{options.family}", session.settings_table(None)))
    return out


@pytest.mark.parametrize(("family", "table"), _tables(), ids=lambda v: v if isinstance(v, str) else "")
def test_setting_numbers_are_the_integrations_number_entities(family: str, table: SettingsTable) -> None:
    topics = Topics("bms_gateway", "homeassistant", "gw")
    settings = pack_settings(table)
    messages = discovery_messages(topics, PackIdentity("p", "P", "x"), settings.specs, settings.extras)
    configs = {json.loads(m)["unique_id"].removeprefix("bmsgw_gw_p_"): json.loads(m) for m in messages.values()}
    numbers = [spec for spec in table.specs if spec.writable and spec.word.kind != "bool"]
    assert numbers, family
    for spec in numbers:
        description = ha_number._description(spec)
        config = configs.pop(description.key)
        assert config["name"] == settings_name(description.translation_key), spec.name
        assert config.get("device_class") == (description.device_class and description.device_class.value)
        limits = (description.native_min_value, description.native_max_value, description.native_step)
        if description.key in settings.scales:  # finer than Home Assistant's MQTT number allows: a smaller unit
            assert description.native_step is not None and description.native_step < 0.001
            scale = settings.scales[description.key]
            assert (description.native_unit_of_measurement, config["unit_of_measurement"], scale) == ("s", "ms", 1000)
            limits = tuple(round(v * scale, 9) for v in limits if v is not None)
        else:
            assert config.get("unit_of_measurement") == description.native_unit_of_measurement
        assert config["step"] >= 0.001
        assert (config["min"], config["max"], config["step"]) == limits
        assert config["entity_category"] == description.entity_category
        assert config["enabled_by_default"] is description.entity_registry_enabled_default
        assert config["mode"] == description.mode
    # what is left: the on/off settings, as switches
    assert all(key.startswith("setting_") and "/switch/" not in key for key in configs)
    assert {key.removeprefix("setting_") for key in configs} == {
        spec.name for spec in table.specs if spec.writable and spec.word.kind == "bool"
    }


def settings_name(translation_key: str | None) -> str:
    from vendor_plugins.entity_names import NAMES, NUMBER

    assert translation_key is not None
    return NAMES[NUMBER][translation_key]


async def test_set_soc_reaches_the_pack_and_the_soc_read_back_is_published(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, [_connection(server.port)]))
        async with running(config):
            state = f"{PREFIX}/shed/set_soc"
            before = await rec.wait_for(lambda: rec.last(state), what="the SoC")
            assert before == rec.last(f"{PREFIX}/shed/soc")  # the SoC the pack reports
            number = next(c for c in rec.discovery().values() if c["unique_id"].endswith("_set_soc"))
            assert (number["min"], number["max"], number["unit_of_measurement"]) == (0, 100, "%")
            assert (number["entity_category"], number["enabled_by_default"]) == ("config", False)
            target = 30 if float(before) > 50 else 80
            await _publish(broker.port, f"{state}/set", str(target))
            await rec.wait_for(lambda: float(rec.last(state) or -1) == target, what="the new SoC read back")
            assert float(rec.last(f"{PREFIX}/shed/soc") or -1) == target
            await _publish(broker.port, f"{state}/set", "101")  # refused by the library before any byte
            error = await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/command_error"), what="a command error")
            assert error.startswith("set_soc 101:")


async def test_an_unconfirmed_write_is_reported_re_read_and_never_retried(broker: Mosquitto, tmp_path) -> None:
    sim = simulator("jbd")
    async with served(sim) as server, recording(broker.port) as rec:
        config = load(write_config(tmp_path, broker.port, [_connection(server.port)]))
        async with running(config) as gateway:
            before = await rec.wait_for(lambda: rec.last(STATE), what="the setting's state")
            runner = gateway.runners[0]
            session = runner.session
            assert session is not None
            calls: list[dict[str, object]] = []

            async def write_that_does_not_take(address: int | None, changes: dict[str, object]) -> object:
                calls.append(changes)
                raise ControlNotConfirmed(f"{SETTING}: wrote 45, read back {before}", names=(SETTING,))

            session.write_settings = write_that_does_not_take  # type: ignore[method-assign]
            reads = runner.settings_reads
            await _publish(broker.port, f"{STATE}/set", "45")
            error = await rec.wait_for(lambda: rec.last(f"{PREFIX}/shed/command_error"), what="a command error")
            assert error.startswith(f"setting_{SETTING} 45:") and "read back" in error
            await rec.wait_for(lambda: runner.settings_reads == reads + 1, what="the settings read again")
            rounds = runner.rounds
            await rec.wait_for(lambda: runner.rounds >= rounds + 2, what="two more polls")
            assert len(calls) == 1  # never retried
            assert rec.last(STATE) == before
            assert len(rec.on(f"{PREFIX}/shed/command_error")) == 1


def test_every_setting_has_one_english_name_which_the_integration_uses_too() -> None:
    """The library's setting names (used by the gateway) and the integration's translations cannot drift apart."""
    from vendor_plugins.battery_settings import VOCABULARY
    from vendor_plugins.entity_names import NAMES, NUMBER, SWITCH
    from vendor_plugins.setting_names import NUMBER_SETTING_NAMES, SWITCH_SETTING_NAMES

    assert {n for n, w in VOCABULARY.items() if w.kind == "bool"} == set(SWITCH_SETTING_NAMES)
    assert {n for n, w in VOCABULARY.items() if w.kind != "bool"} == set(NUMBER_SETTING_NAMES)
    translations = json.loads((ROOT / "custom_components/bms_gateway/translations/en.json").read_text())["entity"]
    assert {key: value["name"] for key, value in translations[NUMBER].items()} == NAMES[NUMBER]
    for name, english in SWITCH_SETTING_NAMES.items():
        assert translations[SWITCH][name]["name"] == english == NAMES[SWITCH][name]


def test_a_setting_finer_than_mqtt_allows_is_published_in_a_smaller_unit() -> None:
    table = dict(_tables())["pace/ascii-25"]
    settings = pack_settings(table)
    key = "setting_short_circuit_delay"
    assert settings.scales == {key: 1000.0}
    assert published(settings, key, 0.00035) == 0.35
    assert parse_setting("short_circuit_delay", "0.35", settings.scales[key]) == pytest.approx(0.00035)
    assert published(settings, "setting_cell_overvoltage_protect", 3.65) == 3.65


@pytest.mark.parametrize(("family", "table"), _tables(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_setting_entity_passes_home_assistants_mqtt_schema(family: str, table: SettingsTable) -> None:
    """Home Assistant's own MQTT discovery schemas accept every setting's payload (e.g. its step floor of 0.001)."""
    from homeassistant.components.mqtt import number as mqtt_number
    from homeassistant.components.mqtt import switch as mqtt_switch

    topics = Topics("bms_gateway", "homeassistant", "gw")
    settings = pack_settings(table)
    messages = discovery_messages(topics, PackIdentity("p", "P", "x"), settings.specs, settings.extras)
    for topic, payload in messages.items():
        schema = mqtt_number.DISCOVERY_SCHEMA if "/number/" in topic else mqtt_switch.DISCOVERY_SCHEMA
        schema(json.loads(payload))  # raises on anything Home Assistant would refuse
