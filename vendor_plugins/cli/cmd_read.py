"""``bmsgw read``: read one pack or a bus of packs once, or every ``--watch`` seconds until Ctrl-C.

Output is a table per pack, or with ``--json`` one document per round (INTERFACES.md §4); ``--bank`` adds the
packs of the bus as one battery bank (:mod:`.bank_output`, INTERFACES.md §5). The exit code is 3 only
when no pack answered; a pack that did not answer shows its error (one stderr line per failed pack when none
answered). With ``--watch`` Ctrl-C or SIGTERM end the command cleanly (exit 0), and a round that fails as a whole
(``--address all``: the scan found no pack) is one error line, then the next round tries again.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from collections.abc import Sequence

from ..bank import BankConfig
from ..errors import BmsError, ConfigError, one_line
from ..plugin import VendorPlugin
from ..reader import PackReader, PackResult
from ..transports.base import Link
from . import arguments, bank_output, common, hints, packs, progress, transport
from .format import printable, render_pack
from .vendor_options import Offer


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``read`` command line."""
    p = sub.add_parser("read", help="read one or more packs")
    arguments.add_transport(p)
    arguments.add_vendor(p, offer, vendor_required=True)
    p.add_argument("--json", action="store_true", help="one JSON document (per round with --watch)")
    p.add_argument("--watch", type=arguments.watch, metavar="SECONDS", help="repeat every SECONDS until Ctrl-C")
    bank_output.add_arguments(p)
    arguments.add_debug(p)
    p.set_defaults(handler=run)


def report_failures(results: Sequence[PackResult], explained: str | None = None) -> None:
    """One stderr line per failed pack; one line in all when every pack failed the same way (link down).

    ``explained``: the line saying that nothing (or another protocol) answered (:mod:`.hints`), used instead.
    """
    if explained is not None:
        common.error(explained)
        return
    errors = {pack.error for pack in results if pack.error is not None}
    if len(errors) == 1:
        common.error(errors.pop())
        return
    for pack in results:
        if pack.error is not None:
            common.error(f"pack {pack.address}: {pack.error}")


def _print_table(
    plugin: VendorPlugin,
    reader: PackReader,
    where: str,
    results: Sequence[PackResult],
    *,
    stamp: bool,
    bank: BankConfig | None = None,
) -> None:
    header = f"{plugin.title} ({reader.family or '-'}) via {where}"
    if stamp:
        header = f"=== {dt.datetime.now().astimezone().isoformat(timespec='seconds')}  {header}"
    blocks = [printable(header)] + [render_pack(p.address, p.device, p.snapshot, p.error) for p in results]
    if bank is not None:
        blocks.append(bank_output.render_bank(bank_output.bank_of(results, bank)))
    print("\n\n".join(blocks) + ("\n" if stamp else ""), flush=True)


def explain(
    args: argparse.Namespace, plugin: VendorPlugin, reader: PackReader, link: Link, results: Sequence[PackResult]
) -> str | None:
    """The "nothing answered, try probe" line for a round no pack answered (``None``: the errors say it)."""
    return hints.no_answer_line(args, plugin, reader.family, link, [(p.address, p.exception) for p in results])


async def _read_round(
    args: argparse.Namespace,
    plugin: VendorPlugin,
    reader: PackReader,
    link: Link,
    *,
    as_json: bool,
    stamp: bool,
    bank: BankConfig | None = None,
) -> bool:
    """Read every pack once and print the result (and the bank with ``--bank``); whether any pack answered."""
    where = link.description
    label = "reading" if reader.addresses else "scanning the bus"  # a scanning reader has no packs until it scanned
    with progress.ticker(lambda: label, enabled=not as_json):
        results = await reader.read_round()
    answered = any(p.snapshot is not None for p in results)
    if as_json:
        document = packs.read_document(plugin, reader.family, where, results)
        if bank is not None:
            document["bank"] = bank_output.bank_of(results, bank).to_dict()
        print(json.dumps(document), flush=True)
    elif answered or stamp:
        _print_table(plugin, reader, where, results, stamp=stamp, bank=bank)
    if not answered:
        report_failures(results, explain(args, plugin, reader, link, results))
    return answered


async def _watch_round(
    args: argparse.Namespace, plugin: VendorPlugin, reader: PackReader, link: Link, *, bank: BankConfig | None
) -> None:
    """One ``--watch`` round: a round that fails as a whole is reported and the watch goes on."""
    try:
        await _read_round(args, plugin, reader, link, as_json=args.json, stamp=True, bank=bank)
    except (BmsError, OSError) as err:
        if isinstance(err, ConfigError):  # the command line cannot work: retrying will not help
            raise
        common.error(one_line(err))


async def _read(args: argparse.Namespace, target: transport.Target, bank: BankConfig | None = None) -> int:
    as_json: bool = args.json
    watch: float | None = args.watch
    plugin = target.plugin
    link = target.open_link()
    try:
        session = plugin.open_session(link, target.options)
        reader = packs.reader_for(plugin, session, args.address)
        if watch is None:
            answered = await _read_round(args, plugin, reader, link, as_json=as_json, stamp=False, bank=bank)
            return common.EXIT_OK if answered else common.EXIT_DEVICE
        loop = asyncio.get_running_loop()
        with common.stop_on_signals() as stop:
            try:
                while True:
                    started = loop.time()
                    await _watch_round(args, plugin, reader, link, bank=bank)
                    await asyncio.sleep(max(0.0, watch - (loop.time() - started)))
            except asyncio.CancelledError:
                if not stop.absorbed():
                    raise
                return common.EXIT_OK
    finally:
        await common.close_quietly(link)


def run(args: argparse.Namespace) -> int:
    """Read the packs."""
    plugin = common.registry().get(args.vendor)
    bank = bank_output.config_for(args, plugin)
    target = transport.target(args, plugin)
    try:
        return common.run(_read(args, target, bank))
    except KeyboardInterrupt:
        return common.EXIT_OK if args.watch is not None else common.EXIT_INTERRUPTED
