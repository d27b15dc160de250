"""``bmsgw probe``: which vendor answers on a link (read-only), and what the winner reads.

Every plugin that can run over the transport is probed (or only ``--vendor``'s) through
:func:`vendor_plugins.detect.detect`: one shared link for serial and TCP, one link per plugin over BLE (each with its
GATT profile). The first answer wins and its snapshot is read at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..connect import LinkSettings, check_link_kind
from ..detect import PROBE_TIMEOUT, PROBE_TIMEOUT_BLE, ProbeLog
from ..errors import ConfigError
from ..plugin import LinkKind, ProbeResult, SessionOptions, VendorPlugin
from ..registry import Registry
from . import arguments, common, progress, transport, vendor_options
from .arguments import AddressSpec
from .format import printable, render_pack, table
from .packs import BUS_ADDRESSES
from .vendor_options import Offer

if TYPE_CHECKING:
    from ..detect import Addresses, Detection, LinkFactory
    from ..transports.base import Link


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``probe`` command line."""
    p = sub.add_parser(
        "probe",
        help="find which vendor answers on a link (read-only)",
        description="Run every plugin's read-only probe (or --vendor's) and read the winner (the first answer)."
        " On a bus the next addresses are asked too, until 3 in a row are silent (--address all asks 1-15),"
        " and every pack that answers is listed.",
    )
    arguments.add_transport(
        p,
        timeout_help=f"per-request timeout in seconds while probing"
        f" (default {PROBE_TIMEOUT:g}; over --ble {PROBE_TIMEOUT_BLE:g})",
    )
    arguments.add_vendor(p, offer, vendor_required=False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    arguments.add_debug(p)
    p.set_defaults(handler=run)


def probe_dict(result: ProbeResult) -> dict[str, Any]:
    """JSON form of one probe answer."""
    return {
        "vendor": result.plugin,
        "family": result.family,
        "address": result.address,
        "device": None if result.device is None else result.device.to_dict(),
    }


def _runs_over(plugin: VendorPlugin, kind: LinkKind) -> bool:
    try:
        check_link_kind(plugin, kind)
    except ConfigError:
        return False
    return True


def _any_vendor(
    args: argparse.Namespace, registry: Registry
) -> tuple[LinkSettings, list[VendorPlugin], dict[str, SessionOptions] | None]:
    """Without ``--vendor``: every plugin that runs over the transport; only link-choosing vendor flags allowed."""
    request = vendor_options.register_request(args, registry)
    settings = transport.link_settings(args, request)
    plugins = [p for p in registry if _runs_over(p, settings.kind)]
    if not plugins:
        raise ConfigError(f"no vendor plugin supports {transport.transport_flag(args)}")
    needing = vendor_options.needing_vendor(args, request)
    if needing:
        verb = "needs" if len(needing) == 1 else "need"
        raise ConfigError(f"{' and '.join(needing)} {verb} --vendor (families and vendor options differ per vendor)")
    options = {p.name: o for p in plugins if (o := vendor_options.session_options(args, p)) != SessionOptions()}
    return settings, plugins, options or None


def _probe_address(plugins: Sequence[VendorPlugin], address: AddressSpec) -> Addresses:
    if address == "all":
        return BUS_ADDRESSES if any(p.capabilities.multi_address for p in plugins) else None
    return address


async def _probe(
    args: argparse.Namespace,
    settings: LinkSettings,
    plugins: Sequence[VendorPlugin],
    options: Mapping[str, SessionOptions] | None,
) -> Detection:
    """Probe ``plugins`` (one shared link; BLE: one link per plugin, each with its GATT profile) and read the winner."""
    from ..detect import detect

    flag = transport.transport_flag(args)

    def factory(plugin: VendorPlugin) -> Link:
        return transport.open_link(settings, plugin, None if options is None else options.get(plugin.name), flag)

    # --timeout applies to probing too; without it, the probe's own short timeouts (the winner reads at 2 s).
    log = ProbeLog()
    shared = None if settings.kind is LinkKind.BLE else factory(plugins[0])
    where: Link | LinkFactory = factory if shared is None else shared
    try:
        addresses = _probe_address(plugins, args.address)
        with progress.ticker(lambda: f"probing {_last_asked(log)}", enabled=not args.json):
            found = await detect(where, plugins, addresses, options=options, request_timeout=settings.timeout, log=log)
            if shared is not None and args.address is None and found.plugin.capabilities.multi_address:
                found = await _rest_of_bus(shared, found, settings.timeout, log)
        return found
    finally:
        if shared is not None:
            await common.close_quietly(shared)


def _last_asked(log: ProbeLog) -> str:
    """``<plugin> (3 requests)`` for the progress line."""
    return f"{log.sent[-1][0]} ({len(log.sent)} requests)" if log.sent else "…"


#: Silent addresses in a row after the last pack found that end the bus sweep (``--address all`` asks them all).
SILENT_ADDRESSES_END_SWEEP = 3


async def _rest_of_bus(link: Link, found: Detection, limit: float | None, log: ProbeLog) -> Detection:
    """The winner is a bus vendor: the next bus addresses are probed with its plugin; each pack that answers is listed.

    Packs usually sit at consecutive DIP addresses, so the sweep ends after :data:`SILENT_ADDRESSES_END_SWEEP`
    silent addresses in a row (an absent pack costs a probe timeout). A pack answering joins the results right
    after the winner (the other plugins' answers follow).
    """
    from ..detect import probe_all

    winner = found.winner
    options = {found.plugin.name: found.options}
    packs: list[ProbeResult] = []
    silent = 0
    for address in BUS_ADDRESSES:
        if address == winner.address:
            continue
        if silent >= SILENT_ADDRESSES_END_SWEEP:
            break
        more = await probe_all(link, [found.plugin], [address], options=options, request_timeout=limit, log=log)
        answered = [r for r in more if r.plugin == winner.plugin and r.address == address]
        packs += answered
        silent = 0 if answered else silent + 1
    return dataclasses.replace(found, results=(winner, *packs, *found.results[1:]))


def _print_probe(found: Detection) -> None:
    rows = []
    for r in found.results:
        d = r.device
        rows.append(
            [
                r.plugin,
                r.family or "-",
                "-" if r.address is None else str(r.address),
                (d.model if d else None) or "-",
                (d.serial_number if d else None) or "-",
                (d.software_version if d else None) or "-",
            ]
        )
    print(table(rows, ["VENDOR", "FAMILY", "ADDRESS", "MODEL", "SERIAL", "SOFTWARE"]))
    winner = found.winner
    print(f"\nwinner: {printable(f'{found.plugin.title} ({winner.family or "-"})')}")
    print(render_pack(winner.address, winner.device, found.snapshot, found.error))


def run(args: argparse.Namespace) -> int:
    """Probe and report."""
    registry = common.registry()
    options: dict[str, SessionOptions] | None
    if args.vendor is None:
        settings, plugins, options = _any_vendor(args, registry)
    else:
        target = transport.target(args, registry.get(args.vendor))
        settings, plugins = target.settings, [target.plugin]
        options = None if target.options == SessionOptions() else {target.plugin.name: target.options}
    found = common.run(_probe(args, settings, plugins, options))
    if args.json:
        docs = [probe_dict(r) | {"winner": False, "snapshot": None, "error": None} for r in found.results]
        docs[0] |= {
            "winner": True,
            "snapshot": None if found.snapshot is None else found.snapshot.to_dict(),
            "error": found.error,
        }
        print(json.dumps(docs))
    else:
        _print_probe(found)
    return common.EXIT_OK
