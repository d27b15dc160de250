"""Static checks: manifest shape and drift against the registry, hacs.json, translations and icons."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from custom_components.bms_gateway.descriptions import NON_SCALAR_FIELDS, SCALAR_SENSORS
from vendor_plugins.model import Alarm, BmsSnapshot, TemperatureKind
from vendor_plugins.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]
INTEGRATION = ROOT / "custom_components" / "bms_gateway"


def _gen_manifest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_manifest", ROOT / "scripts" / "gen_manifest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_manifest = _gen_manifest()


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_manifest_is_what_hassfest_expects() -> None:
    manifest = _load(INTEGRATION / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "bms_gateway"
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_polling"
    assert manifest["integration_type"] == "device"  # "Add device": an entry is a battery (or a bus of packs)
    assert "bluetooth_adapters" in manifest["dependencies"]
    assert "usb" in manifest["dependencies"]
    assert any(r.startswith("bms-gateway") for r in manifest["requirements"])
    assert manifest["version"]
    for matcher in manifest["usb"]:
        assert set(matcher) <= {"vid", "pid", "description", "manufacturer", "serial_number"}
        assert matcher["vid"] == matcher["vid"].upper() and matcher["pid"] == matcher["pid"].upper()
    for matcher in manifest["bluetooth"]:
        name = matcher.get("local_name")
        assert name is None or not set("*?[") & set(name[:3])


def test_manifest_bluetooth_matchers_cover_the_registry() -> None:
    """Every registry matcher Home Assistant's schema can express is in the manifest (run gen_manifest.py)."""
    manifest = _load(INTEGRATION / "manifest.json")
    registry = load_registry(include_third_party=False)
    present = {json.dumps(m, sort_keys=True) for m in manifest["bluetooth"]}
    missing = []
    for plugin in registry:
        for matcher in plugin.ble_matchers:
            converted = gen_manifest.ha_matcher(matcher)
            if converted is not None and json.dumps(converted, sort_keys=True) not in present:
                missing.append((plugin.name, matcher))
    assert not missing, f"manifest bluetooth list is stale, run scripts/gen_manifest.py: {missing}"
    assert gen_manifest.main(["--check"]) == 0


def test_ha_matcher_conversion_rules() -> None:
    from vendor_plugins.plugin import BleMatcher

    assert gen_manifest.ha_matcher(
        BleMatcher(local_name="JBD-*", service_uuid="0000FF00-0000-1000-8000-00805F9B34FB")
    ) == {
        "local_name": "JBD-*",
        "service_uuid": "0000ff00-0000-1000-8000-00805f9b34fb",
    }
    assert gen_manifest.ha_matcher(BleMatcher(local_name="N-?????BL*")) is None  # < 3 literal leading characters
    # What is expressible stays as a pre-filter (the config flow checks the OUI / name precisely).
    assert gen_manifest.ha_matcher(BleMatcher(local_name="N-?????BL*", service_uuid="X")) == {"service_uuid": "x"}
    assert gen_manifest.ha_matcher(BleMatcher(oui="A4:C1:38", service_uuid="X")) == {"service_uuid": "x"}
    assert gen_manifest.ha_matcher(BleMatcher(oui="A4:C1:38")) is None
    assert gen_manifest.ha_matcher(BleMatcher(manufacturer_id=0x0102)) == {"manufacturer_id": 0x0102}


def test_hacs_json() -> None:
    hacs = _load(ROOT / "hacs.json")
    assert hacs["name"]
    assert hacs["homeassistant"] == "2026.10.4"


def test_translations_complete_and_really_spanish() -> None:
    en = _flatten(_load(INTEGRATION / "translations" / "en.json"))
    es = _flatten(_load(INTEGRATION / "translations" / "es.json"))
    assert set(en) - set(es) == set(), "keys missing from es.json"
    assert set(es) - set(en) == set(), "keys missing from en.json"
    same = [k for k in en if en[k] == es[k]]
    assert len(same) <= len(en) / 10, same
    for key in en:  # the same placeholders in both languages
        assert sorted(_placeholders(en[key])) == sorted(_placeholders(es[key])), key


def _placeholders(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_every_model_value_and_alarm_has_a_translated_name() -> None:
    """A new model field needs a description, a new Alarm member (or temperature kind) a translation."""
    en = _load(INTEGRATION / "translations" / "en.json")["entity"]
    for lang in ("en", "es"):
        entity = _load(INTEGRATION / "translations" / f"{lang}.json")["entity"]
        for alarm in Alarm:
            assert f"alarm_{alarm.value}" in entity["binary_sensor"], (lang, alarm)
        for kind in TemperatureKind:
            assert f"temperature_{kind.value}" in entity["sensor"], (lang, kind)
            assert f"temperature_{kind.value}_n" in entity["sensor"], (lang, kind)
        for name in SCALAR_SENSORS:
            assert name in entity["sensor"], (lang, name)
    fields = {f.name for f in dataclasses.fields(BmsSnapshot)}
    assert fields - NON_SCALAR_FIELDS - set(SCALAR_SENSORS) == set(), "a model field has no entity description"
    icons = _load(INTEGRATION / "icons.json")["entity"]
    for platform, keys in icons.items():
        assert set(keys) <= set(en[platform]), platform


def test_config_flow_strings_exist() -> None:
    """Every error and abort key the flow uses is translated."""
    source = (INTEGRATION / "config_flow.py").read_text() + (INTEGRATION / "bank_flow.py").read_text()
    en = _load(INTEGRATION / "translations" / "en.json")["config"]
    for key in en["error"]:
        assert f'"{key}"' in source
    for key in (
        "bad_host",
        "cannot_connect",
        "no_answer",
        "wrong_vendor",
        "cannot_detect",
        "no_packs_found",
        "no_packs_selected",
    ):
        assert key in en["error"]
    for key in ("already_configured", "no_devices_found", "not_supported"):
        assert key in en["abort"]


QUALITY_RULES = {
    "bronze": "action-setup appropriate-polling brands common-modules config-flow-test-coverage config-flow "
    "dependency-transparency docs-actions docs-conditions docs-high-level-description docs-installation-instructions "
    "docs-removal-instructions docs-triggers entity-event-setup entity-unique-id has-entity-name runtime-data "
    "test-before-configure test-before-setup unique-config-entry",
    "silver": "action-exceptions config-entry-unloading docs-configuration-parameters docs-installation-parameters "
    "entity-unavailable integration-owner log-when-unavailable parallel-updates reauthentication-flow test-coverage",
    "gold": "devices diagnostics discovery-update-info discovery docs-data-update docs-examples docs-known-limitations "
    "docs-supported-devices docs-supported-functions docs-troubleshooting docs-use-cases dynamic-devices "
    "entity-category entity-device-class entity-disabled-by-default entity-translations exception-translations "
    "icon-translations reconfiguration-flow repair-issues stale-devices",
}


def test_quality_scale_lists_every_rule_with_a_status() -> None:
    """Every Bronze/Silver/Gold rule is done, todo, or exempt with a reason."""
    import yaml

    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    for tier, names in QUALITY_RULES.items():
        for name in names.split():
            assert name in rules, (tier, name)
            rule = rules[name]
            status = rule if isinstance(rule, str) else rule["status"]
            assert status in ("done", "todo", "exempt"), name
            if status != "done":
                assert isinstance(rule, dict) and rule.get("comment"), f"{name}: {status} needs a reason"


def test_every_new_string_is_translated() -> None:
    """Options, reconfigure, switches, the event entity, exceptions and repair issues exist in both languages."""
    for lang in ("en", "es"):
        strings = _load(INTEGRATION / "translations" / f"{lang}.json")
        assert set(strings["options"]["step"]["init"]["data"]) == {
            "scan_interval",
            "control",
            "cell_entities",
            "cell_balancing_entities",
            "scan_new_packs",
            "chemistry",
        }
        assert "reconfigure" in strings["config"]["step"]
        assert {"charge_mosfet_switch", "discharge_mosfet_switch"} <= set(strings["entity"]["switch"])
        events = strings["entity"]["event"]["alarm_events"]["state_attributes"]["event_type"]["state"]
        assert set(events) == {"alarm_raised", "alarm_cleared", "warning_raised", "warning_cleared"}
        assert {"control_not_confirmed", "control_refused", "control_failed"} <= set(strings["exceptions"])
        assert set(strings["issues"]) == {"serial_port_missing", "wrong_vendor", "pack_missing", "bank_member_gone"}
        for key in ("energy_charged", "energy_discharged", "battery_power"):
            assert key in strings["entity"]["sensor"]


def test_manifest_names_a_code_owner_and_gen_manifest_keeps_every_other_key() -> None:
    """integration-owner: the project's GitHub team; regenerating the Bluetooth list touches nothing else."""
    manifest = _load(INTEGRATION / "manifest.json")
    assert manifest["codeowners"] == ["@bms-gateway/maintainers"]
    registry = load_registry(include_third_party=False)
    stale = {**manifest, "bluetooth": []}
    regenerated = json.loads(gen_manifest.render(stale, registry))
    assert regenerated == manifest
    assert list(regenerated) == list(manifest)
