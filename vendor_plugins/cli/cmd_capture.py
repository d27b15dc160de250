"""``bmsgw capture``: read like ``read`` while recording the raw traffic to a file (vectors JSON shape).

The recorder (:class:`~vendor_plugins.capture.CaptureRecorder`) listens on the link's ``tap`` from before the first
byte, so the probe of a detecting plugin is recorded too; each round's ``read --json`` document is attached to the
exchanges it came from. Byte links only (``--tcp``, ``--serial``, ``--ble``). What is recorded is capped (bytes
and pieces of traffic, :data:`~vendor_plugins.capture.MAX_CAPTURE_BYTES`); a capped capture says so in the file and
in the summary. The file is written however the command ends (Ctrl-C, SIGTERM, an error); one summary line goes to
stdout. A file that cannot be written (``--out /dev/full``) is one error line naming it, exit 2: the output the
user chose is unusable, nothing is wrong with the device.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from ..errors import BmsError, ConfigError, one_line
from . import arguments, common, hints, packs, sim_registry, transport
from .format import printable
from .vendor_options import Offer


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``capture`` command line."""
    p = sub.add_parser(
        "capture",
        help="read and record every request/response to a file (vectors JSON shape)",
        description="Read like 'read' while recording the raw traffic (timestamps, direction, hex) and what was"
        " decoded; attach the file to a bug report. Byte links only (--tcp, --serial, --ble). Traffic from a"
        " simulator is labelled as such in the file.",
    )
    arguments.add_transport(p)
    arguments.add_vendor(p, offer, vendor_required=True)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the capture (JSON)")
    p.add_argument("--watch", type=arguments.watch, metavar="SECONDS", help="read every SECONDS (until Ctrl-C)")
    p.add_argument(
        "--count",
        type=arguments.positive_int,
        metavar="N",
        help="number of reads (default 1; with --watch: until Ctrl-C)",
    )
    p.add_argument(
        "--simulator",
        action="store_true",
        help="label the file as simulator traffic (automatic for a running 'bmsgw simulate' of this machine)",
    )
    arguments.add_debug(p)
    p.set_defaults(handler=run)


def capture_summary(
    entries: int,
    rounds: int,
    answered: int,
    family: str | None,
    where: str,
    out: Path,
    *,
    not_recorded: int = 0,
    simulated: bool = False,
) -> str:
    """The one line ``capture`` prints (``not_recorded``: bytes past the cap; ``simulated``: from a simulator)."""
    capped = f" (capped: {not_recorded} byte(s) not recorded)" if not_recorded else ""
    source = f"{where}, a simulator" if simulated else where
    return (
        f"captured {entries} request(s) in {rounds} read(s), {answered} answered, from {source}"
        f" (family {family or 'unknown'}) to {out}{capped}"
    )


async def _capture(args: argparse.Namespace, target: transport.Target, out: Path) -> int:
    from ..capture import CaptureRecorder

    plugin = target.plugin
    link = target.open_link()
    recorder = CaptureRecorder(vendor=plugin.name, simulated=args.simulator or sim_registry.serves(link.description))
    recorder.attach(link)  # before the first byte: the probe of a detecting plugin is recorded too
    session = plugin.open_session(link, target.options)
    reader = packs.reader_for(plugin, session, args.address)
    watch: float | None = args.watch
    count: int | None = args.count if args.count is not None else (None if watch is not None else 1)
    rounds = answered = 0
    failure: tuple[str, int] | None = None  # the last error: its line and exit code
    loop = asyncio.get_running_loop()
    started = loop.time()
    with common.stop_on_signals() as stop:  # also during the clean-up: a second Ctrl-C must not stop the file write
        try:
            while count is None or rounds < count:
                if rounds:
                    await asyncio.sleep(max(0.0, (watch or 0.0) - (loop.time() - started)))
                started = loop.time()
                rounds += 1
                try:
                    results = await reader.read_round()
                except (BmsError, OSError) as err:
                    failure = (one_line(err), common.exit_code_for(err))
                    continue
                recorder.note_decoded(packs.read_document(plugin, reader.family, link.description, results))
                if any(p.snapshot is not None for p in results):
                    answered += 1
                else:
                    explained = hints.no_answer_line(
                        args, plugin, reader.family, link, [(p.address, p.exception) for p in results]
                    )
                    text = explained or "; ".join(sorted({p.error or "no answer" for p in results}))
                    failure = (text, common.EXIT_DEVICE)
        except asyncio.CancelledError:
            if not stop.absorbed():
                raise
        finally:
            await common.close_quietly(link)
            entries = recorder.write(out, family=reader.family)
    summary = capture_summary(
        entries,
        rounds,
        answered,
        reader.family,
        link.description,
        out,
        not_recorded=recorder.bytes_not_recorded,
        simulated=recorder.simulated,
    )
    print(printable(summary), flush=True)
    if answered:
        return common.EXIT_OK
    if failure is None:  # stopped before the first read finished
        return common.EXIT_OK if stop.requested else common.EXIT_DEVICE
    common.error(failure[0])
    return failure[1]


def run(args: argparse.Namespace) -> int:
    """Read and record."""
    plugin = common.registry().get(args.vendor)
    target = transport.target(args, plugin, byte_link_for="capture")
    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise ConfigError(f"--out {args.out}: not a file in an existing directory")
    try:
        return common.run(_capture(args, target, out))
    except KeyboardInterrupt:
        return common.EXIT_OK if args.watch is not None else common.EXIT_INTERRUPTED
