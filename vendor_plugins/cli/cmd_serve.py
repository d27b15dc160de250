"""``bmsgw serve --config FILE``: run the MQTT gateway (:mod:`vendor_plugins.gateway`) until SIGTERM / Ctrl-C.

The config file is checked completely before anything is connected: every problem is one line naming file, line
and key, exit 2. ``--check`` stops there (``--json``: the checked config as JSON, without secrets). The daemon logs
at INFO to stderr (journald under systemd); SIGTERM or SIGINT shut it down cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from . import arguments, common
from .vendor_options import Offer

if TYPE_CHECKING:
    from ..gateway.service import Gateway

_LOGGER = logging.getLogger("vendor_plugins.gateway")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``serve`` command line."""
    p = sub.add_parser("serve", help="run the MQTT gateway (Home Assistant discovery) from a config file")
    p.add_argument("--config", required=True, type=Path, metavar="FILE", help="the gateway's YAML config file")
    p.add_argument("--check", action="store_true", help="check the config file and exit")
    p.add_argument("--json", action="store_true", help="with --check: print the checked config (no secrets) as JSON")
    arguments.add_debug(p)
    p.set_defaults(handler=run)


async def _serve(gateway: Gateway) -> int:
    stop = asyncio.Event()
    with common.on_stop_signals(stop.set):
        await gateway.run(stop)
    return common.EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Check the config, then serve until stopped."""
    try:
        from ..gateway.config import load_config
        from ..gateway.service import Gateway
    except ImportError as err:  # the optional dependencies
        need = "bmsgw serve needs the 'gateway' extra: pip install 'bms-gateway[gateway]'"
        raise ConfigError(f"{need} ({err})") from None
    config = load_config(args.config, common.registry())
    if args.check:
        if args.json:
            print(json.dumps(config.to_dict()), flush=True)
        else:
            print(f"{args.config}: OK ({len(config.connections)} connection(s))", flush=True)
        return common.EXIT_OK
    handler: logging.Handler | None = None
    if not getattr(args, "debug", False):  # INFO lines of the gateway itself (the CLI shows warnings only)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{common.PROG}: %(levelname)s %(message)s"))
        handler.setLevel(logging.INFO)
        _LOGGER.addHandler(handler)
        _LOGGER.setLevel(logging.INFO)
        _LOGGER.propagate = False
    try:
        return common.run(_serve(Gateway(config)))
    except KeyboardInterrupt:
        return common.EXIT_OK
    finally:
        if handler is not None:
            _LOGGER.removeHandler(handler)
            _LOGGER.propagate = True
