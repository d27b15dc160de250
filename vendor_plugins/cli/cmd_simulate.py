"""``bmsgw simulate``: serve a vendor's simulator over TCP or a pseudo-terminal until Ctrl-C or SIGTERM.

The first line on stdout says where it listens (``tcp://host:port`` or ``/dev/pts/N``); ``--packs N`` puts N packs
at consecutive addresses on one bus (bus vendors only).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import ConfigError, TransportError, UnsupportedError, one_line
from ..plugin import SimulatorOptions, VendorPlugin
from ..settings import HostPort
from . import arguments, common, sim_registry
from .vendor_options import Offer

if TYPE_CHECKING:
    from ..sim.base import Simulator

_LOGGER = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``simulate`` command line."""
    p = sub.add_parser("simulate", help="serve a simulated pack over TCP or a pseudo-terminal")
    p.add_argument("--vendor", required=True, metavar="NAME", help="vendor plugin to simulate")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT", help="listen on HOST:PORT (port 0 picks a free one)")
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal (/dev/pts/N)")
    p.add_argument("--family", metavar="F", help="protocol family to simulate")
    p.add_argument("--packs", type=arguments.positive_int, default=1, metavar="N", help="packs on the bus (default 1)")
    p.add_argument("--address", type=arguments.byte, metavar="N", help="address of the (first) simulated pack")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (repeatable live data)")
    p.add_argument("--baud", type=arguments.baud, metavar="N", help="throttle the pty to this baud rate (with --pty)")
    p.add_argument("--profile", metavar="NAME", help="simulator profile, e.g. live (default) or static")
    arguments.add_debug(p)
    p.set_defaults(handler=run)


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` to listen on; unlike a link target, port 0 (any free port) is allowed."""
    return HostPort("--tcp", listen=True)(arguments.without_tcp_scheme(text))


def build_simulators(args: argparse.Namespace, plugin: VendorPlugin) -> list[Simulator]:
    """The simulator(s) ``simulate`` serves: one pack, or ``--packs N`` consecutive addresses on one bus."""
    packs: int = args.packs
    family: str | None = args.family
    address: int | None = args.address
    seed: int | None = args.seed
    profile: str | None = args.profile
    if packs > 1 and not plugin.capabilities.multi_address:
        raise ConfigError(f"vendor {plugin.name!r} has one pack per link: --packs {packs} is not possible")
    if packs == 1:
        addresses: list[int | None] = [address]
    else:
        first = 1 if address is None else address
        if first + packs - 1 > 0xFF:
            raise ConfigError(f"--packs {packs} from address {first} goes past address 255")
        addresses = list(range(first, first + packs))
    simulators = []
    for i, addr in enumerate(addresses):
        options = SimulatorOptions(family=family, address=addr, seed=None if seed is None else seed + i)
        if profile is not None:
            options = dataclasses.replace(options, profile=profile)
        try:
            simulators.append(plugin.create_simulator(options))
        except UnsupportedError as err:  # a vendor without a simulator: nothing the user can run
            raise ConfigError(one_line(err)) from err
    return simulators


async def _serve(simulators: Sequence[Simulator], tcp: tuple[str, int] | None, baud: int | None) -> int:
    stop = asyncio.Event()
    # Handlers first: whoever reads the address line may signal us right away.
    with common.on_stop_signals(stop.set):
        close: Callable[[], Awaitable[None]]
        if tcp is not None:
            from ..sim.tcp import serve_tcp
            from ..transports.tcp import format_host_port

            try:
                tcp_server = await serve_tcp(simulators, *tcp)
            except OSError as err:
                raise TransportError(f"cannot listen on {format_host_port(*tcp)}: {err.strerror or err}") from err
            where, close = tcp_server.url, tcp_server.close
        else:
            from ..sim.pty import serve_pty

            try:
                pty_server = await serve_pty(simulators, baud=baud)
            except OSError as err:
                raise TransportError(f"cannot open a pseudo-terminal: {err.strerror or err}") from err
            where, close = pty_server.path, pty_server.close
        try:
            with sim_registry.announced(where, simulators[0].vendor):  # lets `bmsgw capture` label its traffic
                print(where, flush=True)
                _LOGGER.info("serving %d simulated pack(s) at %s", len(simulators), where)
                await stop.wait()
        finally:
            await close()
    return common.EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Serve until stopped."""
    plugin = common.registry().get(args.vendor)
    baud: int | None = args.baud
    tcp_text: str | None = args.tcp
    if baud is not None and tcp_text is not None:
        raise ConfigError("--baud applies to --pty only")
    tcp = None if tcp_text is None else listen_address(tcp_text)
    simulators = build_simulators(args, plugin)
    try:
        return common.run(_serve(simulators, tcp, baud))
    except KeyboardInterrupt:  # a Ctrl-C that arrived before the signal handlers were installed
        return common.EXIT_OK
