"""Transport flags → :class:`~vendor_plugins.connect.LinkSettings`, and what is checked before anything is opened.

``--tcp``/``--serial``/``--ble`` are raw byte links, ``--modbus-tcp`` is Modbus-TCP; ``--tcp``/``--serial`` carry
Modbus RTU when the session reads registers (:func:`~vendor_plugins.connect.settings_for`) or a vendor flag asks
for Modbus (:func:`.vendor_options.register_request`). :func:`target` checks a command line for one vendor in a
fixed order — transport text, link kind, pack address, family — and links are opened only through
:func:`vendor_plugins.connect.open_link`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import NoReturn

from .. import connect
from ..connect import MODBUS_TCP_PORT, LinkSettings
from ..errors import ConfigError, one_line
from ..plugin import LinkKind, SessionOptions, VendorPlugin
from ..settings import BleAddress, BusAddress, HostPort, SerialDevice, allowed_addresses
from ..transports.base import Link
from . import arguments, common, vendor_options
from .vendor_options import RegisterRequest


def transport_flag(args: argparse.Namespace) -> str:
    """The command-line option that chose the transport (for messages)."""
    for flag in ("--modbus-tcp", "--tcp", "--serial", "--ble"):
        if getattr(args, flag.removeprefix("--").replace("-", "_")) is not None:
            return flag
    raise ConfigError("no transport given (one of --tcp, --serial, --ble, --modbus-tcp)")  # argparse prevents this


def link_settings(args: argparse.Namespace, register: RegisterRequest | None) -> LinkSettings:
    """Validate the transport options into settings; nothing is opened here.

    ``register``: a vendor flag asked for Modbus, so ``--tcp``/``--serial`` carry Modbus RTU (INTERFACES.md §4).
    """
    flag = transport_flag(args)
    baud: int | None = args.baud
    timeout: float | None = args.timeout
    if baud is not None and flag != "--serial":
        raise ConfigError("--baud applies to --serial only")
    if flag == "--modbus-tcp":
        host, port = HostPort("--modbus-tcp", default_port=MODBUS_TCP_PORT)(args.modbus_tcp)
        return LinkSettings.modbus_tcp(host, port, timeout=timeout)
    if flag == "--ble":
        address = BleAddress("--ble")(args.ble)
        if register is not None:
            raise ConfigError(f"{register} needs --serial, --tcp or --modbus-tcp, not --ble")
        return LinkSettings.ble(address, timeout=timeout)
    if flag == "--tcp":
        host, port = HostPort("--tcp")(arguments.without_tcp_scheme(args.tcp))
        settings = LinkSettings.tcp(host, port, timeout=timeout)
    else:
        settings = LinkSettings.serial(SerialDevice("--serial")(args.serial), baud, timeout=timeout)
    return settings.as_modbus() if register is not None else settings


def check_address(plugin: VendorPlugin, settings: LinkSettings, options: SessionOptions, address: object) -> None:
    """Refuse (usage error) an ``--address N`` the vendor cannot use on this link (``all`` is always fine)."""
    if not isinstance(address, int):
        return
    allowed = allowed_addresses(plugin, settings.kind, options)
    BusAddress("--address", allowed=allowed, vendor=plugin.name)(address)


def open_link(settings: LinkSettings, plugin: VendorPlugin, options: SessionOptions | None, flag: str) -> Link:
    """The link to ``settings`` (not yet connected), from :func:`vendor_plugins.connect.open_link`.

    A transport whose library is missing is a usage error naming ``flag``, not an internal error.
    """
    try:
        return connect.open_link(settings, plugin, options)
    except ImportError as err:
        what = f"{flag} with Modbus" if settings.kind is LinkKind.MODBUS else flag
        raise ConfigError(f"{what} is not supported yet ({one_line(err)})") from err


@dataclass(frozen=True, slots=True)
class Target:
    """A checked command line for one vendor: where the link goes and the session's options."""

    plugin: VendorPlugin
    settings: LinkSettings
    options: SessionOptions
    #: The transport option given (``--tcp`` …), for messages.
    flag: str

    def open_link(self) -> Link:
        """Create (not connect) the link; links connect on their first request."""
        return open_link(self.settings, self.plugin, self.options, self.flag)


def target(
    args: argparse.Namespace, plugin: VendorPlugin, *, control: bool = False, byte_link_for: str | None = None
) -> Target:
    """Check the transport and vendor options for ``plugin``; nothing is opened.

    In order: transport text, link kind, pack address, ``--family``. ``byte_link_for`` (a command that records raw
    bytes) refuses every Modbus link, naming how it was asked for.
    """
    request = vendor_options.register_request(args, common.registry())
    flag = transport_flag(args)
    base = link_settings(args, request)
    if byte_link_for is not None and base.kind is LinkKind.MODBUS:
        _refuse_modbus(byte_link_for, str(request) if request is not None else flag)
    options = vendor_options.session_options(args, plugin, control=control)
    connect.check_link_kind(plugin, base.kind, via=flag)
    settings = connect.settings_for(base, plugin, options)
    if settings.kind is not base.kind:  # the vendor reads registers with these options: Modbus RTU
        if byte_link_for is not None:
            _refuse_modbus(byte_link_for, f"--family {args.family}" if args.family else f"vendor {plugin.name!r}")
        connect.check_link_kind(plugin, settings.kind, via=flag)
    check_address(plugin, settings, options, args.address)
    vendor_options.check_family(plugin, args.family)
    return Target(plugin, settings, options, flag)


def _refuse_modbus(command: str, via: str) -> NoReturn:
    raise ConfigError(
        f"{command} records the raw bytes of --tcp, --serial and --ble links; Modbus links ({via}) are not supported"
    )
