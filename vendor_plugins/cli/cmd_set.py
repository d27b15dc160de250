"""``bmsgw set``: switch a charge or discharge MOSFET, confirmed by reading the state back.

Refused (exit 4) without ``--allow-control`` before anything is resolved or opened: switching a MOSFET can cut the
power of a whole system. A switch the vendor cannot set is refused too; a read-back that disagrees is exit 4.
"""

from __future__ import annotations

import argparse

from ..errors import ConfigError, ControlRefused
from ..model import Switch
from . import arguments, common, packs, transport
from .format import on_off
from .vendor_options import Offer


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``set`` command line."""
    p = sub.add_parser("set", help="switch a charge/discharge MOSFET (needs --allow-control)")
    arguments.add_transport(p)
    arguments.add_vendor(p, offer, vendor_required=True)
    p.add_argument("--switch", required=True, choices=[s.value for s in Switch], help="which MOSFET")
    state = p.add_mutually_exclusive_group(required=True)
    state.add_argument("--on", dest="state", action="store_const", const=True, help="switch it on")
    state.add_argument("--off", dest="state", action="store_const", const=False, help="switch it off")
    p.add_argument(
        "--allow-control", action="store_true", help="required: confirm that switching a MOSFET may cut power"
    )
    arguments.add_debug(p)
    p.set_defaults(handler=run)


async def _set(args: argparse.Namespace, target: transport.Target, switch: Switch, on: bool) -> int:
    link = target.open_link()
    try:
        session = target.plugin.open_session(link, target.options)
        address = packs.pack_address(session, args.address)
        snapshot = await session.set_switch(address, switch, on)
    finally:
        await common.close_quietly(link)
    state = snapshot.charge_mosfet if switch is Switch.CHARGE else snapshot.discharge_mosfet
    pack = "" if address is None else f" (pack {address})"
    print(
        f"{switch} MOSFET {'on' if state else 'off'}{pack}, confirmed by read-back"
        f" (charge {on_off(snapshot.charge_mosfet)}, discharge {on_off(snapshot.discharge_mosfet)})"
    )
    return common.EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Switch, after every check."""
    switch = Switch(args.switch)
    on: bool = args.state
    if not args.allow_control:
        # Refuse before resolving or opening anything: switching a MOSFET can cut the power of a whole system.
        raise ControlRefused(
            f"refusing to switch the {switch} MOSFET {'on' if on else 'off'} without --allow-control"
            " (switching a MOSFET can cut power)"
        )
    plugin = common.registry().get(args.vendor)
    if switch not in plugin.capabilities.switches:
        raise ControlRefused(f"vendor {plugin.name!r} cannot switch the {switch} MOSFET")
    if args.address == "all" and plugin.capabilities.multi_address:
        raise ConfigError("set needs one pack address, not 'all'")
    target = transport.target(args, plugin, control=True)
    return common.run(_set(args, target, switch, on))
