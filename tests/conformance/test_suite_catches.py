"""The conformance suite has teeth: plugins with the classic mistakes fail it, each at the check meant for it.

Each case is the minimal third-party plugin with one thing broken: a probe that writes, control that writes before
asking for the opt-in, a switch "confirmed" without the device showing it, a current with the wrong sign, cell
voltages in millivolts, a codec entry point that crashes on short input.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pytest

from vendor_plugins.framing import Expect
from vendor_plugins.model import BmsSnapshot, Switch
from vendor_plugins.plugin import FuzzTarget, ProbeResult, SessionOptions, VendorPlugin
from vendor_plugins.transports.base import Link, as_byte_link

from . import fuzzing, suite


def _acme(module: str) -> Any:
    """A module of the installed third-party package (imported by name, as the registry did)."""
    return importlib.import_module(f"acme_bms.{module}")


def _variant(plugin: VendorPlugin, session_type: type | None = None, **overrides: Any) -> VendorPlugin:
    """``plugin`` with its session class replaced and/or methods overridden."""
    namespace = dict(overrides)
    if session_type is not None:

        def open_session(self: VendorPlugin, link: Link, options: SessionOptions | None = None) -> Any:
            return session_type(link, options or SessionOptions())

        namespace["open_session"] = open_session
    return type("Broken", (type(plugin),), namespace)()  # type: ignore[no-any-return]


async def test_a_probe_that_writes_fails(acme_plugin: VendorPlugin) -> None:
    codec = _acme("codec")
    honest = type(acme_plugin).probe

    async def probe(
        self: VendorPlugin, link: Link, address: int | None = None, options: SessionOptions | None = None
    ) -> ProbeResult | None:
        request = codec.build(codec.CMD_SET_FETS, b"\x01")  # "wake it up": turns the discharge MOSFET off
        await as_byte_link(link).exchange(request, Expect(codec.AcmeAssembler))
        return await honest(self, link, address, options)

    with pytest.raises(AssertionError, match="the probe sent requests no read sends"):
        await suite.check_probe_read_only(_variant(acme_plugin, probe=probe), None)


async def test_control_that_writes_before_the_opt_in_check_fails(acme_plugin: VendorPlugin) -> None:
    session, codec = _acme("session"), _acme("codec")

    class Eager(session.AcmeSession):  # type: ignore[misc, name-defined]
        async def set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
            await self._ask(codec.CMD_SET_FETS, b"\x03")
            self.require_control()
            return await self._set_switch(address, switch, on)  # type: ignore[no-any-return]

    with pytest.raises(AssertionError, match="bytes went over the wire"):
        await suite.check_control_refused(_variant(acme_plugin, Eager), None)


async def test_a_switch_confirmed_without_the_device_fails(acme_plugin: VendorPlugin) -> None:
    session = _acme("session")

    class Lying(session.AcmeSession):  # type: ignore[misc, name-defined]
        async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
            snapshot: BmsSnapshot = await self.read(address)
            if switch is Switch.CHARGE:
                return dataclasses.replace(snapshot, charge_mosfet=on)
            return dataclasses.replace(snapshot, discharge_mosfet=on)

    with pytest.raises(AssertionError):
        await suite.check_control_verified(_variant(acme_plugin, Lying), None)


async def test_a_current_with_the_wrong_sign_fails(acme_plugin: VendorPlugin) -> None:
    session = _acme("session")

    class Inverted(session.AcmeSession):  # type: ignore[misc, name-defined]
        async def read(self, address: int | None = None) -> BmsSnapshot:
            snapshot: BmsSnapshot = await super().read(address)
            assert snapshot.current is not None
            return dataclasses.replace(snapshot, current=-snapshot.current, power=None)

    with pytest.raises(AssertionError, match="current"):
        await suite.check_random_state(_variant(acme_plugin, Inverted), None, 3, BmsSnapshot())


async def test_cells_in_millivolts_fail(acme_plugin: VendorPlugin) -> None:
    session = _acme("session")

    class Millivolts(session.AcmeSession):  # type: ignore[misc, name-defined]
        async def read(self, address: int | None = None) -> BmsSnapshot:
            snapshot: BmsSnapshot = await super().read(address)
            return dataclasses.replace(snapshot, cell_voltages=tuple(1000 * v for v in snapshot.cell_voltages))

    # The model refuses such a snapshot itself (vendor_plugins/plausibility.py); the suite reports it as a failure.
    with pytest.raises(AssertionError, match=r"cell 1 at 3[0-9.]+ V|cell voltages outside 0-5 V"):
        await suite.check_round_trip(_variant(acme_plugin, Millivolts), None, "tcp")


def test_a_codec_that_crashes_on_short_input_fails(acme_plugin: VendorPlugin) -> None:
    honest = type(acme_plugin).fuzz_targets

    def fuzz_targets(self: VendorPlugin) -> tuple[FuzzTarget, ...]:
        return (*honest(self), FuzzTarget("header", lambda data: data[3]))

    with pytest.raises(AssertionError, match=r"acme\.header\(.*IndexError"):
        fuzzing.check_fuzz(_variant(acme_plugin, fuzz_targets=fuzz_targets))
