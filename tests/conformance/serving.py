"""Serve a plugin's simulator(s) over one route and open the plugin's link to it the product's way (``open_link``).

A *route* is how the wire between the library and the simulated device is built:

* byte routes — ``tcp`` (a raw TCP bridge: :func:`~vendor_plugins.sim.tcp.serve_tcp`), ``pty`` (a serial port: a
  pseudo-terminal, :func:`~vendor_plugins.sim.pty.serve_pty`), ``ble`` (the fake BLE client of
  :mod:`vendor_plugins.sim.ble` behind a real :class:`~vendor_plugins.transports.ble.BleLink`);
* register routes, for options with which the plugin reads registers (``plugin.needs_register_link``): Modbus RTU
  through a TCP bridge (``modbus-rtu-tcp``) and on a serial port (``modbus-rtu``) — given to ``open_link`` as plain
  TCP / serial settings, which it turns into Modbus RTU itself — and Modbus-TCP (``modbus-tcp``: the RTU simulators
  behind an MBAP bridge).

Which routes a plugin gets comes only from what it declares (:func:`routes_for`). Every link is tapped: the test sees
each byte sent and received (:class:`Traffic`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from vendor_plugins.connect import BleAccess, LinkSettings, open_link
from vendor_plugins.plugin import LinkKind, SessionOptions, VendorPlugin
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports.base import Link

from .rig import MbapBridge

BYTE_ROUTES = ("tcp", "pty", "ble")
REGISTER_ROUTES = ("modbus-rtu-tcp", "modbus-rtu", "modbus-tcp")
#: The address the fake BLE peripheral has.
BLE_ADDRESS = "C0:FF:EE:00:00:01"


def routes_for(plugin: VendorPlugin, options: SessionOptions) -> tuple[str, ...]:
    """Every route a session of ``plugin`` with ``options`` runs over, from the plugin's declarations alone."""
    kinds = plugin.link_kinds
    if plugin.needs_register_link(options):
        return REGISTER_ROUTES if LinkKind.MODBUS in kinds else ()
    offered = {
        "tcp": LinkKind.TCP in kinds,
        "pty": LinkKind.SERIAL in kinds,
        "ble": LinkKind.BLE in kinds and plugin.ble_profile is not None,
    }
    return tuple(route for route in BYTE_ROUTES if offered[route])


@dataclass(slots=True)
class Traffic:
    """What went over a tapped link: ``(direction, bytes)`` in order, direction ``"tx"`` or ``"rx"``."""

    log: list[tuple[str, bytes]] = field(default_factory=list)

    def __call__(self, direction: str, data: bytes) -> None:
        """The link's tap."""
        self.log.append((direction, bytes(data)))

    @property
    def sent(self) -> list[bytes]:
        """Every piece of bytes the link sent, in order."""
        return [data for direction, data in self.log if direction == "tx"]

    @property
    def received(self) -> list[bytes]:
        """Every piece of bytes the link received, in order."""
        return [data for direction, data in self.log if direction == "rx"]

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.log.clear()


@dataclass(slots=True)
class Served:
    """An open (tapped) link to served simulators."""

    link: Link
    traffic: Traffic
    simulators: tuple[Simulator, ...]


def _ble_access(plugin: VendorPlugin, simulators: Sequence[Simulator]) -> BleAccess:
    """The host-provided BLE access whose client is the fake peripheral in front of ``simulators``.

    The peripheral offers the GATT profile the simulated device has: the plugin's, unless the simulator says its own
    (``ble_profile``: a plugin whose service depends on the protocol family the device speaks).
    """
    profile = getattr(simulators[0], "ble_profile", None) or plugin.ble_profile
    assert profile is not None
    return BleAccess(device=BLE_ADDRESS, client_factory=lambda: FakeBleClient(list(simulators), profile))


@contextlib.asynccontextmanager
async def served(
    plugin: VendorPlugin,
    options: SessionOptions,
    simulators: Simulator | Sequence[Simulator],
    route: str,
    *,
    request_timeout: float = 1.0,
) -> AsyncIterator[Served]:
    """Serve ``simulators`` (one device, or a bus) over ``route``; yield the tapped link ``open_link`` gives for it."""
    sims = (simulators,) if isinstance(simulators, Simulator) else tuple(simulators)
    async with contextlib.AsyncExitStack() as stack:
        ble: BleAccess | None = None
        if route in ("tcp", "modbus-rtu-tcp"):
            server = await stack.enter_async_context(await serve_tcp(sims))
            settings = LinkSettings.tcp(server.host, server.port, timeout=request_timeout)
        elif route in ("pty", "modbus-rtu"):
            pty = await stack.enter_async_context(await serve_pty(sims))
            settings = LinkSettings.serial(pty.path, timeout=request_timeout)
        elif route == "modbus-tcp":
            server = await stack.enter_async_context(await serve_tcp(MbapBridge(sims)))
            settings = LinkSettings.modbus_tcp(server.host, server.port, timeout=request_timeout)
        elif route == "ble":
            settings = LinkSettings.ble(BLE_ADDRESS, timeout=request_timeout)
            ble = _ble_access(plugin, sims)
        else:
            raise ValueError(f"unknown route {route!r}")
        link = open_link(settings, plugin, options, ble=ble)
        traffic = Traffic()
        link.tap = traffic
        stack.push_async_callback(link.close)
        expected = LinkKind.MODBUS if route in REGISTER_ROUTES else settings.kind
        assert link.kind is expected, f"open_link gave a {link.kind} link for route {route}"
        yield Served(link, traffic, sims)
