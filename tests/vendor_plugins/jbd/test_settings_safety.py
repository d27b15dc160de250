"""Safety properties of JBD settings writes, with hypothesis, against the simulator.

* an arbitrary change set that breaks any rule (range, step, read-only, unknown name, ordering) is refused before a
  byte that could change the device is sent — asserted on the simulator's request log;
* an accepted set round-trips: the device's saved words decode to exactly the requested values, and the read-back
  equals them;
* a device that acknowledges but silently ignores one register yields ControlNotConfirmed naming exactly the
  changed settings in it;
* a link dropped at any write of the sequence leaves the device unchanged, and the error says so.

The link is the in-memory BLE fake (20-byte notifications) for speed; the drop uses a real TCP server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tests.vendor_plugins.jbd.test_settings_session import EXIT_SAVE, DroppingSimulator, setting_writes
from vendor_plugins.battery_settings import BmsSettings, Number
from vendor_plugins.battery_settings_write import precheck
from vendor_plugins.errors import ControlNotConfirmed, SettingsPartiallyWritten, SettingsRefused
from vendor_plugins.jbd import codec_settings
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd import table_settings as ts
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.jbd.simulator_settings import DEFAULT_WORDS
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import BleLink, TcpLink

pytestmark = pytest.mark.timeout(300)

DEFAULTS = codec_settings.decode_settings(DEFAULT_WORDS)
WRITABLE = [spec for spec in ts.SPECS if spec.writable]


@st.composite
def value_for(draw: st.DrawFn, spec: ts.JbdSettingSpec) -> object:
    """A value for ``spec``: mostly near the default (so rule-abiding sets are common), sometimes anywhere."""
    if spec.word.kind == "bool":
        return draw(st.one_of(st.booleans(), st.sampled_from([2, -1, 0.5])))
    current = float(DEFAULTS[spec.name])
    kind = draw(st.sampled_from(["near", "near", "near", "range", "outside", "off-grid"]))
    if kind == "near":
        return round(current + draw(st.integers(-300, 300)) * spec.step, 6)
    if kind == "range":
        return round(draw(st.integers(round(spec.minimum / spec.step), round(spec.maximum / spec.step))) * spec.step, 6)
    if kind == "outside":
        return draw(st.sampled_from([spec.minimum - 10 * spec.step, spec.maximum + spec.step, float("nan"), -1e9]))
    return current + spec.step * 0.37


@st.composite
def change_sets(draw: st.DrawFn) -> dict[str, object]:
    specs = draw(st.lists(st.sampled_from(WRITABLE), min_size=1, max_size=5, unique_by=lambda s: s.name))
    changes: dict[str, object] = {spec.name: draw(value_for(spec)) for spec in specs}
    if draw(st.integers(0, 19)) == 0:
        changes[draw(st.sampled_from(["cell_count", "no_such_setting"]))] = 8
    return changes


async def _write(sim: JbdSimulator, changes: Mapping[str, object]) -> BmsSettings:
    link = BleLink(
        "A4:C1:38:00:00:01", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE), timeout=1.0
    )
    try:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        return await session.write_settings(None, changes)  # type: ignore[arg-type]
    finally:
        await link.close()


def _expected(changes: Mapping[str, object]) -> BmsSettings | None:
    """What validation makes of ``changes`` from the simulator's defaults (None: refused)."""
    try:
        return ts.TABLE.validate(BmsSettings("jbd", "jbd", 4, DEFAULTS), changes)
    except SettingsRefused:
        return None


def _rules_hold(values: Mapping[str, Number], touched: set[str]) -> bool:
    return all(rule.holds(values) for rule in ts.TABLE.rules if {rule.lower, rule.upper} & touched)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=change_sets())
def test_refused_sets_send_nothing_and_accepted_sets_round_trip(changes: dict[str, object]) -> None:
    sim = JbdSimulator()
    expected = _expected(changes)
    event("refused" if expected is None else "accepted")
    if expected is None:
        with pytest.raises(SettingsRefused):
            asyncio.run(_write(sim, changes))
        assert setting_writes(sim) == []
        assert sim.settings.words == DEFAULT_WORDS
        try:
            precheck(ts.TABLE, changes)
        except SettingsRefused:
            assert list(sim.requests) == []  # a value refused on its own: not even a read went out
        return
    after = asyncio.run(_write(sim, changes))
    saved = codec_settings.decode_settings(sim.settings.words)
    for name in changes:
        spec = ts.BY_NAME[name]
        assert spec.same(saved[name], expected.values[name]), name
        assert spec.same(after.values[name], expected.values[name]), name
        assert spec.minimum - 1e-9 <= float(saved[name]) <= spec.maximum + 1e-9
    assert _rules_hold(saved, set(changes))
    assert after.values == saved
    untouched = {n for n in DEFAULTS if n not in changes}
    assert {n: saved[n] for n in untouched} == {n: DEFAULTS[n] for n in untouched}


@st.composite
def accepted_sets(draw: st.DrawFn) -> dict[str, object]:
    changes = draw(change_sets())
    result = _expected(changes)
    assume(result is not None and ts.TABLE.changed(BmsSettings("jbd", "jbd", 4, DEFAULTS), result))
    return changes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(changes=accepted_sets(), data=st.data())
def test_a_silently_ignored_register_is_named(changes: dict[str, object], data: st.DataObject) -> None:
    expected = _expected(changes)
    assert expected is not None
    changed = ts.TABLE.changed(BmsSettings("jbd", "jbd", 4, DEFAULTS), expected)
    victim = data.draw(st.sampled_from(changed))
    register = ts.BY_NAME[victim].register
    sim = JbdSimulator()
    sim.settings.ignore_registers.add(register)
    with pytest.raises(ControlNotConfirmed) as err:
        asyncio.run(_write(sim, changes))
    assert set(err.value.names) == {n for n in changed if ts.BY_NAME[n].register == register}


async def _write_with_drop(changes: Mapping[str, object], at: int) -> tuple[DroppingSimulator, Exception | None]:
    sim = DroppingSimulator(after=at)
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        sim.drop = server.drop_clients
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        try:
            await session.write_settings(None, changes)  # type: ignore[arg-type]
        except Exception as err:
            return sim, err
    return sim, None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(changes=accepted_sets(), data=st.data())
def test_link_drop_at_any_write_leaves_the_device_unchanged(changes: dict[str, object], data: st.DataObject) -> None:
    expected = _expected(changes)
    assert expected is not None
    changed = ts.TABLE.changed(BmsSettings("jbd", "jbd", 4, DEFAULTS), expected)
    registers = {ts.BY_NAME[n].register for n in changed}
    at = data.draw(st.integers(1, len(registers)))
    sim, err = asyncio.run(_write_with_drop(changes, at))
    assert isinstance(err, SettingsPartiallyWritten), err
    assert err.changed == ()
    assert set(err.unchanged) == set(changed)
    assert EXIT_SAVE not in sim.requests
    assert codec_settings.decode_settings(sim.settings.words) == DEFAULTS
