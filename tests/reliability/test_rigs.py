"""The rigs are vendor-neutral: targets from the registry, transports from the plugin, a rig for any plugin instance.

:data:`~tests.support.rigs.TARGETS` is every ``reliability_targets`` entry of the registry's plugins;
:func:`~tests.support.rigs.transports_for` derives the transports from what a plugin declares (link kinds, BLE
profile, whether the target's session reads registers); :meth:`~tests.support.rigs.Rig.for_plugin` builds a rig for
a plugin instance the registry does not hold (what the conformance suite does for a third-party test plugin).
"""

from __future__ import annotations

import copy

import pytest

from tests.support.rigs import (
    BYTE_TRANSPORTS,
    MODBUS_TRANSPORTS,
    TARGETS,
    Rig,
    bus_targets,
    frame_bus,
    full_bus,
    transports_for,
)
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import LinkKind
from vendor_plugins.registry import default_registry


def test_targets_are_every_plugins_declared_reliability_targets() -> None:
    declared = {(p.name, spec.name): spec for p in default_registry() for spec in p.reliability_targets}
    assert {(t.plugin.name, name) for name, t in TARGETS.items()} == set(declared)
    for target in TARGETS.values():
        assert target.plugin is default_registry().get(target.plugin.name)
        assert target.spec is declared[target.plugin.name, target.name]
    # the families the hand-kept table of the rigs had, now declared by the plugins themselves (plus any others)
    assert {"jbd", "daly-a5", "daly-d2", "daly-p81", "pace-ascii", "pace-modbus", "pace-modbus-1"} <= set(TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_transports_follow_what_the_plugin_declares(name: str) -> None:
    target = TARGETS[name]
    plugin, kinds = target.plugin, target.plugin.link_kinds
    assert target.transports == transports_for(plugin, target.spec)
    assert target.registers == plugin.needs_register_link(target.spec.options())
    if target.registers:
        assert target.transports == (MODBUS_TRANSPORTS if LinkKind.MODBUS in kinds else ())
        return
    assert set(target.transports) <= set(BYTE_TRANSPORTS)
    assert ("tcp" in target.transports) == (LinkKind.TCP in kinds)
    assert ("pty" in target.transports) == (LinkKind.SERIAL in kinds)
    assert ("ble" in target.transports) == (LinkKind.BLE in kinds and plugin.ble_profile is not None)


@pytest.mark.parametrize("name", sorted(TARGETS))
async def test_a_rig_for_a_plugin_instance_outside_the_registry_reads_every_pack(name: str) -> None:
    """A copy of the plugin is not the registered instance: the rig uses what it is given, looks nothing up."""
    target = TARGETS[name]
    outsider = copy.copy(target.plugin)
    assert outsider is not default_registry().get(target.plugin.name)
    transport = transports_for(outsider, target.spec)[0]
    async with Rig.for_plugin(outsider, target.spec, transport, seed=3, timeout=0.5) as rig:
        assert rig.target.plugin is outsider
        results = await rig.poll()
    assert all(isinstance(r, BmsSnapshot) for r in results), results
    assert (rig.tally.ok, rig.tally.polls, rig.tally.wrong) == (len(target.addresses), len(target.addresses), 0)


def test_a_rig_refuses_a_transport_its_plugin_does_not_offer() -> None:
    frames = next(t for t in TARGETS.values() if not t.registers)
    registers = next(t for t in TARGETS.values() if t.registers)
    with pytest.raises(ValueError, match="does not run over"):
        Rig.for_plugin(frames.plugin, frames.spec, "modbus-tcp")
    with pytest.raises(ValueError, match="does not run over"):
        Rig.for_plugin(registers.plugin, registers.spec, "tcp")
    with pytest.raises(ValueError, match="unknown transport"):
        Rig.for_plugin(frames.plugin, frames.spec, "carrier-pigeon")


def test_a_full_bus_takes_the_plugins_bus_addresses_from_the_targets_first() -> None:
    buses = bus_targets()
    assert buses and all(t.plugin.capabilities.multi_address and len(t.addresses) > 1 for t in buses)
    bus = frame_bus(15)
    assert not bus.registers
    assert bus.name == f"{bus.plugin.name}-bus"
    assert bus.addresses == tuple(a for a in bus.plugin.bus_addresses if a >= (buses[0].addresses[0] or 0))[:15]
    assert len(bus.addresses) == 15
    with pytest.raises(ValueError, match="fewer than"):
        full_bus(buses[0], len(bus.plugin.bus_addresses) + 1)
