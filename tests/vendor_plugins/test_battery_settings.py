"""The vendor-neutral settings core: vocabulary, validation, and the verified write order over a fake session.

The fake session keeps settings in memory and logs every write; "no byte sent" here means its write log is empty
and no read happened beyond what the order allows. Vendor tests (over simulators and real links) live per vendor.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vendor_plugins.battery_settings import (
    STANDARD_RULES,
    VOCABULARY,
    BmsSettings,
    Number,
    SettingSpec,
    SettingsTable,
    format_value,
)
from vendor_plugins.errors import (
    ControlNotConfirmed,
    ControlRefused,
    SettingsPartiallyWritten,
    SettingsRefused,
    SettingsUnsupported,
    TransportError,
)
from vendor_plugins.model import BmsSnapshot, DeviceInfo
from vendor_plugins.plugin import Session, SessionOptions

TABLE = SettingsTable(
    family="test",
    specs=(
        SettingSpec("cell_overvoltage_protect", 3.0, 4.5, 0.001),
        SettingSpec("cell_overvoltage_release", 3.0, 4.5, 0.001),
        SettingSpec("cell_undervoltage_protect", 2.0, 3.5, 0.001),
        SettingSpec("cell_undervoltage_release", 2.0, 3.5, 0.001),
        SettingSpec("balance_start_voltage", 2.0, 4.5, 0.001),
        SettingSpec("charge_overcurrent_protect", 0.0, 300.0, 0.01),
        SettingSpec("balancer_enabled", 0, 1, 1),
        SettingSpec("cell_count", 3, 32, 1, writable=False),
    ),
)

START: dict[str, Number] = {
    "cell_overvoltage_protect": 3.65,
    "cell_overvoltage_release": 3.45,
    "cell_undervoltage_protect": 2.5,
    "cell_undervoltage_release": 2.8,
    "balance_start_voltage": 3.4,
    "charge_overcurrent_protect": 100.0,
    "balancer_enabled": True,
    "cell_count": 4,
}


class FakeSession(Session):
    """Settings in a dict; ``ignore`` names values the fake device silently drops; ``drop_after`` fails the link."""

    family = "test"

    def __init__(self, control: bool = True, ignore: frozenset[str] = frozenset(), drop_after: int | None = None):
        super().__init__(link=None, options=SessionOptions(control_enabled=control))  # type: ignore[arg-type]
        self.values: dict[str, Number] = dict(START)
        self.writes: list[tuple[str, Number]] = []
        self.reads = 0
        self.ignore = ignore
        self.drop_after = drop_after
        self.dead = False
        self.readable_after_drop = False
        self.refuse_after: int | None = None

    async def read(self, address: int | None = None) -> BmsSnapshot:
        self.reads += 1
        if self.dead:
            raise TransportError("gone")
        return BmsSnapshot(soc=float(self.values.get("soc", 50.0)))

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        return DeviceInfo(vendor="fake")

    def settings_table(self, address: int | None = None) -> SettingsTable:
        return TABLE

    async def _read_settings(self, address: int | None) -> BmsSettings:
        self.reads += 1
        if self.dead and not self.readable_after_drop:
            raise TransportError("gone")
        return BmsSettings("fake", "test", 4, {k: v for k, v in self.values.items() if k != "soc"})

    async def _write_settings(
        self, address: int | None, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]
    ) -> None:
        for name in names:
            if self.refuse_after is not None and len(self.writes) >= self.refuse_after:
                raise ControlRefused(f"device refused {name}")
            if self.drop_after is not None and len(self.writes) >= self.drop_after:
                self.dead = True
                raise TransportError("link dropped")
            self.writes.append((name, target.values[name]))
            if name not in self.ignore:
                self.values[name] = target.values[name]


def test_vocabulary_and_rules_are_consistent() -> None:
    for rule in STANDARD_RULES:
        assert rule.lower in VOCABULARY, rule
        assert rule.upper in VOCABULARY, rule
        assert rule.lower != rule.upper
    for name, word in VOCABULARY.items():
        assert name == word.name
        assert name == name.lower() and " " not in name
        assert word.description


def test_table_refuses_unknown_vocabulary_and_duplicates() -> None:
    with pytest.raises(ValueError, match="vocabulary"):
        SettingsTable("x", (SettingSpec("no_such_thing", 0, 1, 1),))
    with pytest.raises(ValueError, match="twice"):
        SettingsTable("x", (SettingSpec("cell_count", 0, 1, 1), SettingSpec("cell_count", 0, 1, 1)))


def test_validate_rounds_to_the_wire_step_and_never_clamps() -> None:
    current = BmsSettings("fake", "test", 4, START)
    result = TABLE.validate(current, {"cell_overvoltage_protect": 3.6504})
    assert result.values["cell_overvoltage_protect"] == 3.65
    with pytest.raises(SettingsRefused, match="outside the device's range"):
        TABLE.validate(current, {"cell_overvoltage_protect": 4.6})


def test_validate_lists_every_problem() -> None:
    current = BmsSettings("fake", "test", 4, START)
    with pytest.raises(SettingsRefused) as err:
        TABLE.validate(
            current,
            {"nope": 1, "cell_count": 5, "balancer_enabled": 2, "charge_overcurrent_protect": float("nan")},
        )
    problems = err.value.problems
    assert len(problems) == 4
    assert any("'nope' is not a setting" in p for p in problems)
    assert any("read-only" in p for p in problems)
    assert any("on/off" in p for p in problems)
    assert any("finite" in p for p in problems)
    assert "nothing was sent" in str(err.value)


def test_validate_checks_the_resulting_set() -> None:
    current = BmsSettings("fake", "test", 4, START)
    with pytest.raises(SettingsRefused, match="release must be below its protection"):
        TABLE.validate(current, {"cell_overvoltage_protect": 3.40})
    # Lowering both together is fine.
    result = TABLE.validate(
        current, {"cell_overvoltage_protect": 3.40, "cell_overvoltage_release": 3.35, "balance_start_voltage": 3.3}
    )
    assert result.values["cell_overvoltage_release"] == 3.35
    with pytest.raises(SettingsRefused, match="balancing must start"):
        TABLE.validate(current, {"balance_start_voltage": 3.7})


def test_pack_voltages_must_be_plausible_per_cell() -> None:
    table = SettingsTable("x", (SettingSpec("pack_overvoltage_protect", 1.0, 150.0, 0.01),))
    current = BmsSettings("fake", "x", 4, {"pack_overvoltage_protect": 14.6})
    assert table.validate(current, {"pack_overvoltage_protect": 14.2}).values["pack_overvoltage_protect"] == 14.2
    with pytest.raises(SettingsRefused, match=r"36\.500 V per cell on a 4-cell pack"):
        table.validate(current, {"pack_overvoltage_protect": 146})
    unknown_cells = BmsSettings("fake", "x", None, {"pack_overvoltage_protect": 14.6})
    assert table.validate(unknown_cells, {"pack_overvoltage_protect": 146}).values["pack_overvoltage_protect"] == 146


def test_to_dict_is_flat_and_sorted() -> None:
    settings_ = BmsSettings("fake", "test", 4, {"b": 1, "a": 2.5})
    assert list(settings_.to_dict()) == ["a", "b"]
    assert format_value(True) == "on" and format_value(3.650) == "3.65" and format_value(7) == "7"


async def test_write_refused_without_control_no_io() -> None:
    session = FakeSession(control=False)
    with pytest.raises(ControlRefused):
        await session.write_settings(None, {"cell_overvoltage_protect": 3.6})
    assert session.reads == 0 and session.writes == []


async def test_bad_value_refused_before_any_io() -> None:
    session = FakeSession()
    with pytest.raises(SettingsRefused):
        await session.write_settings(None, {"cell_overvoltage_protect": 9.0})
    assert session.reads == 0 and session.writes == []


async def test_rule_violation_refused_before_any_write() -> None:
    session = FakeSession()
    with pytest.raises(SettingsRefused):
        await session.write_settings(None, {"cell_overvoltage_release": 3.7})
    assert session.writes == []


async def test_write_confirms_device_first_and_reads_back() -> None:
    session = FakeSession()
    after = await session.write_settings(None, {"charge_overcurrent_protect": 50})
    assert after.values["charge_overcurrent_protect"] == 50.0
    assert session.writes == [("charge_overcurrent_protect", 50.0)]
    assert None in session.confirmed


async def test_unchanged_value_is_not_written() -> None:
    session = FakeSession()
    await session.write_settings(None, {"charge_overcurrent_protect": 100.0})
    assert session.writes == []


async def test_ignored_value_is_named() -> None:
    session = FakeSession(ignore=frozenset({"cell_overvoltage_release"}))
    with pytest.raises(ControlNotConfirmed) as err:
        await session.write_settings(None, {"cell_overvoltage_release": 3.40, "charge_overcurrent_protect": 90})
    assert err.value.names == ("cell_overvoltage_release",)
    assert "cell_overvoltage_release 3.4 V" in str(err.value)


async def test_link_drop_mid_sequence_reports_what_changed_when_readable() -> None:
    session = FakeSession(drop_after=1)
    session.readable_after_drop = True
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(None, {"charge_overcurrent_protect": 90, "balancer_enabled": False})
    assert err.value.changed == ("charge_overcurrent_protect",)
    assert err.value.unchanged == ("balancer_enabled",)
    assert session.values["balancer_enabled"] is True
    assert "changed charge_overcurrent_protect 100 A -> 90 A; unchanged balancer_enabled" in str(err.value)


async def test_device_refusal_after_a_change_names_what_changed() -> None:
    session = FakeSession()
    session.refuse_after = 1
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(None, {"charge_overcurrent_protect": 90, "balancer_enabled": False})
    assert err.value.changed == ("charge_overcurrent_protect",)
    assert err.value.unchanged == ("balancer_enabled",)


async def test_device_refusal_before_any_change_keeps_its_own_error() -> None:
    session = FakeSession()
    session.refuse_after = 0
    with pytest.raises(ControlRefused, match="device refused") as err:
        await session.write_settings(None, {"charge_overcurrent_protect": 90})
    assert not isinstance(err.value, SettingsPartiallyWritten)


async def test_link_drop_unreadable_names_every_value_at_risk() -> None:
    session = FakeSession(drop_after=1)
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(None, {"charge_overcurrent_protect": 90, "balancer_enabled": False})
    assert err.value.unknown == ("charge_overcurrent_protect", "balancer_enabled")
    assert isinstance(err.value, ControlNotConfirmed)


async def test_unsupported_family_says_so_without_io() -> None:
    class Plain(FakeSession):
        def settings_table(self, address: int | None = None) -> SettingsTable:
            return Session.settings_table(self, address)

    session = Plain()
    with pytest.raises(SettingsUnsupported, match="family test"):
        await session.read_settings()
    with pytest.raises(SettingsUnsupported):
        await session.write_settings(None, {"cell_count": 3})
    with pytest.raises(SettingsUnsupported, match="SoC"):
        await session.set_soc(None, 50)
    assert session.reads == 0


async def test_set_balancer_goes_through_the_verified_write() -> None:
    session = FakeSession()
    await session.set_balancer(None, False)
    assert session.writes == [("balancer_enabled", False)]


async def test_set_soc_refuses_out_of_range_before_io() -> None:
    class Soc(FakeSession):
        def soc_unsupported_reason(self) -> str | None:
            return None

        async def _set_soc(self, address: int | None, percent: float) -> None:
            self.values["soc"] = percent

    session = Soc()
    with pytest.raises(SettingsRefused):
        await session.set_soc(None, 101)
    assert session.reads == 0
    snapshot = await session.set_soc(None, 80)
    assert snapshot.soc == 80


VALUE = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 500), st.booleans())


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from([*TABLE.names, "bogus"]), VALUE, min_size=1, max_size=5))
def test_validate_accepts_only_sets_that_satisfy_every_rule(changes: Mapping[str, object]) -> None:
    current = BmsSettings("fake", "test", 4, START)
    try:
        result = TABLE.validate(current, changes)
    except SettingsRefused as err:
        problems = err.problems
        assert problems
        return
    for name, value in result.values.items():
        if TABLE.has(name) and name in changes:
            spec = TABLE.spec(name)
            assert spec.writable
            assert spec.minimum - 1e-9 <= float(value) <= spec.maximum + 1e-9
    touched = set(changes)
    for rule in TABLE.rules:
        if rule.lower in touched or rule.upper in touched:
            assert rule.holds(result.values), rule
