"""``bmsgw vendors``: the registered vendor plugins, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..plugin import VendorPlugin
from . import arguments, common
from .format import table
from .vendor_options import Offer


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``vendors`` command line."""
    p = sub.add_parser("vendors", help="list the registered vendor plugins")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    arguments.add_debug(p)
    p.set_defaults(handler=run)


def vendor_summary(plugin: VendorPlugin) -> dict[str, Any]:
    """What ``bmsgw vendors --json`` says about one plugin."""
    return {
        "name": plugin.name,
        "title": plugin.title,
        "link_kinds": sorted(str(k) for k in plugin.link_kinds),
        "families": list(plugin.families),
        "switches": sorted(str(s) for s in plugin.capabilities.switches),
        "multi_address": plugin.capabilities.multi_address,
        "ble_matchers": len(plugin.ble_matchers),
    }


def run(args: argparse.Namespace) -> int:
    """List the plugins."""
    summaries = [vendor_summary(p) for p in common.registry()]
    if args.json:
        print(json.dumps(summaries))
        return common.EXIT_OK
    rows = [
        [
            s["name"],
            s["title"],
            ", ".join(s["link_kinds"]) or "-",
            ", ".join(s["families"]) or "-",
            ", ".join(s["switches"]) or "-",
            "yes" if s["multi_address"] else "no",
            str(s["ble_matchers"]),
        ]
        for s in summaries
    ]
    print(table(rows, ["NAME", "TITLE", "LINKS", "FAMILIES", "SWITCHES", "BUS", "BLE MATCHERS"]))
    return common.EXIT_OK
