"""Settings across every registered plugin and protocol family, against its simulator over TCP.

For each reliability target: a write without the control opt-in sends no byte; a settings read either works (names
from the vocabulary, values inside the family's table) or says the family has no documented map without sending a
byte; where it works, one writable value changes and reads back through the verified path. Families gain settings
by declaring a table — this test then covers them without changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from vendor_plugins.battery_settings import VOCABULARY, BmsSettings, SettingSpec, SettingsTable
from vendor_plugins.connect import LinkSettings, open_link
from vendor_plugins.errors import ControlRefused, SettingsRefused, SettingsUnsupported
from vendor_plugins.kinds import LinkKind
from vendor_plugins.plugin import SessionOptions, SimulatorOptions, VendorPlugin
from vendor_plugins.registry import default_registry
from vendor_plugins.sim.tcp import serve_tcp

pytestmark = pytest.mark.timeout(120)


def _targets() -> Iterator[tuple[VendorPlugin, SessionOptions, tuple[int | None, ...]]]:
    for plugin in default_registry():
        if LinkKind.TCP not in plugin.link_kinds:
            continue
        for target in plugin.reliability_targets or ():
            yield plugin, target.options(), target.addresses


TARGETS = list(_targets())
IDS = [f"{plugin.name}-{options.family}-{len(addresses)}" for plugin, options, addresses in TARGETS]


def _simulators(plugin: VendorPlugin, options: SessionOptions, addresses: tuple[int | None, ...]) -> list[object]:
    return [
        plugin.create_simulator(SimulatorOptions(family=options.family, address=a, profile="static")) for a in addresses
    ]


def _candidate(spec: SettingSpec, table: SettingsTable, current: BmsSettings) -> object | None:
    """A new value for ``spec`` that the table accepts from ``current`` (None: none found nearby)."""
    now = current.values[spec.name]
    options: list[object] = (
        [not now] if isinstance(now, bool) else [float(now) + k * spec.step for k in (1, -1, 2, -2, 5, -5)]
    )
    for value in options:
        try:
            table.validate(current, {spec.name: value})
        except SettingsRefused:
            continue
        return value
    return None


@pytest.mark.parametrize(("plugin", "options", "addresses"), TARGETS, ids=IDS)
async def test_settings_contract(
    plugin: VendorPlugin, options: SessionOptions, addresses: tuple[int | None, ...]
) -> None:
    sims = _simulators(plugin, options, addresses)
    address = addresses[0]
    async with await serve_tcp(sims) as server:  # type: ignore[arg-type]
        sent: list[bytes] = []
        link = open_link(LinkSettings.tcp(server.host, server.port, timeout=0.5), plugin, options)
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        try:
            session = plugin.open_session(link, options)
            with pytest.raises(ControlRefused):
                await session.write_settings(address, {"cell_overvoltage_protect": 3.6})
            assert sent == [], "a write without the control opt-in sent bytes"
            try:
                table = session.settings_table(address)
            except SettingsUnsupported:
                with pytest.raises(SettingsUnsupported, match="family"):
                    await session.read_settings(address)
                assert sent == [], "an unsupported settings read sent bytes"
                return
            settings = await session.read_settings(address)
            assert set(settings.values) <= set(VOCABULARY)
            assert set(settings.values) <= set(table.names)
            for name, value in settings.values.items():
                spec = table.spec(name)
                assert spec.minimum - 1e-9 <= float(value) <= spec.maximum + 1e-9, (name, value)
            writer = plugin.open_session(link, dataclasses.replace(options, control_enabled=True))
            for spec in table.specs:
                if not spec.writable or spec.name not in settings.values:
                    continue
                value = _candidate(spec, table, settings)
                if value is None:
                    continue
                after = await writer.write_settings(address, {spec.name: value})
                assert spec.same(after.values[spec.name], table.spec(spec.name).coerce(value))
                break
            else:
                pytest.fail("no writable setting could be changed")
        finally:
            await link.close()
