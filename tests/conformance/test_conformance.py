"""The plugin conformance suite over every plugin in the registry (built-in and installed third-party alike).

Parametrised by plugin, protocol family and route (the link kinds the plugin declares): simulator round trips (one
pack, and a bus of two for multi-address plugins), random battery states, control refused without the opt-in and
verified with it, read-only probing, the fuzz entry points, a short reliability-rig run, and the declarations
themselves. The checks are in :mod:`.suite`; ``test_third_party.py`` runs them on a plugin installed from a temp dir.
"""

from __future__ import annotations

import pytest

from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import RigTarget, VendorPlugin
from vendor_plugins.registry import load_registry

from . import fuzzing, suite
from .serving import routes_for

PLUGINS = list(load_registry())
ROUND_TRIPS = [
    pytest.param(plugin, family, route, id=suite.case_id(plugin, family, route))
    for plugin in PLUGINS
    for family, route in suite.round_trip_cases(plugin)
]
FAMILIES = [
    pytest.param(plugin, family, id=suite.case_id(plugin, family))
    for plugin in PLUGINS
    for family in suite.families(plugin)
]
BUSES = [
    pytest.param(plugin, family, route, id=suite.case_id(plugin, family, route))
    for plugin in PLUGINS
    if plugin.capabilities.multi_address
    for family in suite.families(plugin)
    for route in routes_for(plugin, suite.options_for(family))
]
RANDOM_STATES = [
    pytest.param(plugin, family, seed, id=suite.case_id(plugin, family, seed))
    for plugin in PLUGINS
    for family in suite.families(plugin)
    for seed in suite.RANDOM_SEEDS
]
BY_PLUGIN = [pytest.param(plugin, id=plugin.name) for plugin in PLUGINS]
SWITCHING = [
    pytest.param(plugin, family, id=suite.case_id(plugin, family))
    for plugin in PLUGINS
    if plugin.capabilities.switches
    for family in suite.families(plugin)
]
RIGS = [
    pytest.param(plugin, spec, transport, id=suite.case_id(plugin, spec.name, transport))
    for plugin in PLUGINS
    for spec, transport in suite.rig_cases(plugin)
]
SWITCHERS = [pytest.param(plugin, id=plugin.name) for plugin in PLUGINS if plugin.capabilities.switches]

_static: dict[tuple[str, str | None], BmsSnapshot] = {}


async def _static_snapshot(plugin: VendorPlugin, family: str | None) -> BmsSnapshot:
    key = (plugin.name, family)
    if key not in _static:
        _static[key] = await suite.check_round_trip(plugin, family, suite.first_route(plugin, family))
    return _static[key]


def test_the_registry_holds_plugins() -> None:
    assert len(PLUGINS) >= 4  # the built-ins at least: an empty registry would make this suite vacuous
    assert len(ROUND_TRIPS) >= len(PLUGINS)


@pytest.mark.parametrize("plugin", BY_PLUGIN)
def test_declarations(plugin: VendorPlugin) -> None:
    suite.check_declarations(plugin)


@pytest.mark.parametrize(("plugin", "family"), FAMILIES)
def test_builtin_simulators_expose_their_state(plugin: VendorPlugin, family: str | None) -> None:
    """The built-ins' simulators show their battery (``state``), so every round trip is compared with the truth."""
    if plugin.name not in load_registry(include_third_party=False):
        pytest.skip("a third-party simulator may keep its state to itself")
    state = suite.simulated_state(suite.simulator(plugin, family))
    assert state is not None
    assert sum(any(hasattr(state, name) for name in names) for names in suite.TRUTH_FIELDS.values()) >= 5


@pytest.mark.parametrize(("plugin", "family", "route"), ROUND_TRIPS)
async def test_round_trip(plugin: VendorPlugin, family: str | None, route: str) -> None:
    snapshot = await suite.check_round_trip(plugin, family, route)
    assert snapshot == await _static_snapshot(plugin, family)  # every route reads the same pack alike


@pytest.mark.parametrize(("plugin", "family", "route"), BUSES)
async def test_bus_round_trip(plugin: VendorPlugin, family: str | None, route: str) -> None:
    await suite.check_bus_round_trip(plugin, family, route)


@pytest.mark.parametrize(("plugin", "family", "seed"), RANDOM_STATES)
async def test_random_state(plugin: VendorPlugin, family: str | None, seed: int) -> None:
    await suite.check_random_state(plugin, family, seed, await _static_snapshot(plugin, family))


@pytest.mark.parametrize(("plugin", "family"), FAMILIES)
async def test_control_refused_without_opt_in(plugin: VendorPlugin, family: str | None) -> None:
    await suite.check_control_refused(plugin, family)


@pytest.mark.parametrize(("plugin", "family"), SWITCHING)
async def test_control_verified_with_opt_in(plugin: VendorPlugin, family: str | None) -> None:
    await suite.check_control_verified(plugin, family)


@pytest.mark.parametrize("plugin", SWITCHERS)
async def test_declared_switches_work_in_some_family(plugin: VendorPlugin) -> None:
    """A plugin declaring switches switches for real in at least one family (not refusal everywhere)."""
    made = 0
    for family in suite.families(plugin):
        made += await suite.check_control_verified(plugin, family)
    assert made >= 2 * len(plugin.capabilities.switches)


@pytest.mark.parametrize(("plugin", "family"), FAMILIES)
async def test_probe_is_read_only(plugin: VendorPlugin, family: str | None) -> None:
    await suite.check_probe_read_only(plugin, family)


@pytest.mark.parametrize("plugin", BY_PLUGIN)
def test_fuzz_entry_points(plugin: VendorPlugin) -> None:
    if not plugin.fuzz_targets():
        pytest.skip(f"{plugin.name} declares no fuzz entry point (it decodes no bytes itself)")
    assert fuzzing.check_fuzz(plugin) > 0


@pytest.mark.parametrize(("plugin", "spec", "transport"), RIGS)
async def test_reliability_rig(plugin: VendorPlugin, spec: RigTarget, transport: str) -> None:
    await suite.check_reliability(plugin, spec, transport)


@pytest.mark.parametrize("plugin", BY_PLUGIN)
def test_reliability_targets_declared(plugin: VendorPlugin) -> None:
    if not plugin.reliability_targets:
        pytest.skip(f"{plugin.name} declares no reliability target")
    assert suite.rig_cases(plugin)
