"""Soak: every vendor family on every transport plus a full bus, faults on, for M minutes — nothing wrong, no leaks.

Run: ``.venv/bin/python benchmarks/soak.py --minutes 5 [--packs 15] [--rate 0.2] [--seed 1] [--json out.json]``
(``--late-policy off`` measures what the links' late-reply protection prevents). Not part of the test run.

A simulated day: ``--simulated-hours 24 --minutes 120 --no-tracemalloc --trim`` — every rig stops after 17,280
polls (a day of 5-second polls, time-accelerated: the next poll starts ``--interval`` after the last one ended),
``--minutes`` is then only a cap. ``--no-tracemalloc`` measures the process as it runs in production (tracemalloc's
own tables grow and slow every allocation); ``--trim`` asks glibc to return freed memory at every sample, so the
samples show memory really held next to the RSS glibc keeps.

Every rig (:class:`tests.support.rigs.Rig`) polls continuously through its own faulty TCP bridge, pty
or fake BLE peripheral, with its simulators' state moving on every request; each snapshot is checked against the
replies served during that read (``wrong`` must stay 0). Every ``--calm-every`` seconds the faults stop for one
poll: that poll must succeed on every rig (recovery). Memory is measured with tracemalloc (Python heap) and the
process RSS after a warm-up and at the end; tasks and open file descriptors are counted before the rigs start and
after they are closed (leaks show as a difference). Exit status 1 when anything must-not-happen happened.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import dataclasses
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, get_args

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.faults import REPLY_FAULTS, FaultPlan
from tests.support.rigs import TARGETS, Rig, Tally, frame_bus
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.transports.base import BufferedByteLink, LateReplyPolicy


def rss_kib() -> int:
    """Resident set size of this process (KiB), from /proc."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def quantile(histogram: list[int], q: float) -> float | None:
    """The ``q`` quantile (seconds, to the millisecond) of a histogram of whole milliseconds."""
    total = sum(histogram)
    if not total:
        return None
    seen = 0
    for ms, count in enumerate(histogram):
        seen += count
        if seen >= q * total:
            return ms / 1000
    return (len(histogram) - 1) / 1000


def rss_after_malloc_trim() -> int | None:
    """RSS (KiB) after asking glibc to return freed heap memory to the system; ``None`` where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError, AttributeError:
        return None
    return rss_kib()


def peak_rss_kib() -> int:
    """Highest resident set size this process reached (KiB), from /proc."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """Memory at one moment of the soak (KiB; ``None``: not measured in this run)."""

    seconds: int
    #: Mean simulated hours of 5-second polls reached by the rigs so far.
    simulated_hours: float
    rigs_running: int
    heap_kib: int | None
    rss_kib: int
    rss_after_trim_kib: int | None
    tracemalloc_kib: int | None
    #: glibc malloc: bytes in use (not freed) and bytes free but kept (see :func:`malloc_in_use_kib`).
    malloc_in_use_kib: int | None
    malloc_free_kept_kib: int | None


def by_quarter(samples: list[Sample]) -> list[dict[str, Any]]:
    """Memory growth in each quarter of the samples (does the growth flatten out as the run goes on?)."""
    if len(samples) < 4:
        return []
    out = []
    for q in range(4):
        first, last = samples[q * len(samples) // 4], samples[((q + 1) * len(samples) - 1) // 4]
        row: dict[str, Any] = {
            "seconds": [first.seconds, last.seconds],
            "simulated_hours": [first.simulated_hours, last.simulated_hours],
            "rss_growth_kib": last.rss_kib - first.rss_kib,
        }
        if first.rss_after_trim_kib is not None and last.rss_after_trim_kib is not None:
            row["rss_after_trim_growth_kib"] = last.rss_after_trim_kib - first.rss_after_trim_kib
        if first.malloc_in_use_kib is not None and last.malloc_in_use_kib is not None:
            row["malloc_in_use_growth_kib"] = last.malloc_in_use_kib - first.malloc_in_use_kib
        if first.heap_kib is not None and last.heap_kib is not None:
            row["heap_growth_kib"] = last.heap_kib - first.heap_kib
        out.append(row)
    return out


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_in_use_kib() -> tuple[int, int] | None:
    """glibc's own count of (bytes handed out by malloc and not freed, bytes free but kept), in KiB, all arenas.

    The first number grows only when something allocates without freeing (a leak, Python or native); RSS that
    grows while it stays flat is fragmentation. ``None`` where there is no glibc ``mallinfo2``.
    """
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except OSError, AttributeError:
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) // 1024, info.fordblks // 1024


def open_fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


#: Poll cycles in a simulated hour of 5-second polls.
POLLS_PER_HOUR = 3600 // 5


async def drive(
    rig: Rig,
    stop: float,
    calm_every: float,
    interval: float,
    recovery: collections.Counter[str],
    durations: list[int],
    cycles: list[int],
    budget: int | None,
) -> None:
    """Poll until ``stop`` (or ``budget`` poll cycles); every ``calm_every`` s end the faults for one checked poll.

    ``cycles[0]`` counts this rig's poll cycles (a cycle reads every pack of the rig once, as the gateway does
    every 5 s); recovery polls count too.
    """
    next_calm = time.monotonic() + calm_every
    label = f"{rig.target.name}/{rig.transport}"
    while time.monotonic() < stop and (budget is None or cycles[0] < budget):
        cycles[0] += 1
        began = time.monotonic()
        await rig.poll()
        durations[min(len(durations) - 1, int((time.monotonic() - began) * 1000))] += 1
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))
        rig.trim()
        if time.monotonic() >= next_calm:
            await rig.calm()
            results = await rig.poll()
            cycles[0] += 1
            ok = all(isinstance(r, BmsSnapshot) for r in results)
            recovery["ok" if ok else "failed"] += 1
            if not ok:
                recovery[f"failed:{label}"] += 1
            rig.injector.enabled = True
            next_calm = time.monotonic() + calm_every


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak and return the report."""
    plan = FaultPlan.uniform(
        args.rate,
        kinds=(*REPLY_FAULTS, "split"),
        delay_seconds=args.timeout * 1.5,
        refuse_seconds=args.timeout * 2,
        clean_after=args.clean_after,
    )
    bus = frame_bus(args.packs)
    rigs: list[Rig] = []
    gc.collect()
    tasks_before = len(asyncio.all_tasks())
    fds_before = open_fds()
    for n, target in enumerate([*TARGETS.values(), bus]):
        transports = ("tcp",) if target is bus else target.transports
        for m, transport in enumerate(transports):
            rigs.append(
                Rig(target, transport, plan, seed=args.seed * 1000 + 10 * n + m, timeout=args.timeout, max_log=64)
            )
    for rig in rigs:
        await rig.start()
        if isinstance(rig.link, BufferedByteLink):
            rig.link.late_reply_policy = args.late_policy
    # poll durations as histograms of whole milliseconds (allocated before tracing: the instrument does not grow)
    durations: dict[Rig, list[int]] = {r: [0] * 60_000 for r in rigs}
    cycles: dict[Rig, list[int]] = {r: [0] for r in rigs}
    budget = None if args.simulated_hours is None else round(args.simulated_hours * POLLS_PER_HOUR)
    traced = not args.no_tracemalloc
    if traced:
        tracemalloc.start()
    started = time.monotonic()
    stop = started + 60 * args.minutes
    recovery: collections.Counter[str] = collections.Counter()
    runners = [
        asyncio.create_task(drive(r, stop, args.calm_every, args.interval, recovery, durations[r], cycles[r], budget))
        for r in rigs
    ]
    await asyncio.sleep(min(30.0, 60 * args.minutes / 5))
    gc.collect()
    heap_warm = tracemalloc.get_traced_memory()[0] if traced else 0
    snap_warm = tracemalloc.take_snapshot() if traced else None
    rss_warm = rss_kib()
    rss_warm_trimmed = rss_after_malloc_trim() if args.trim else None
    overhead_warm = tracemalloc.get_tracemalloc_memory() if traced else 0
    tasks_running = len(asyncio.all_tasks())
    samples: list[Sample] = []
    while not all(r.done() for r in runners):
        await asyncio.wait(runners, timeout=args.sample_every)
        gc.collect()
        samples.append(
            Sample(
                seconds=round(time.monotonic() - started),
                simulated_hours=round(sum(c[0] for c in cycles.values()) / len(rigs) / POLLS_PER_HOUR, 2),
                rigs_running=sum(not r.done() for r in runners),
                heap_kib=tracemalloc.get_traced_memory()[0] // 1024 if traced else None,
                rss_kib=rss_kib(),
                rss_after_trim_kib=rss_after_malloc_trim() if args.trim else None,
                tracemalloc_kib=tracemalloc.get_tracemalloc_memory() // 1024 if traced else None,
                malloc_in_use_kib=(malloc_in_use_kib() or (None, None))[0],
                malloc_free_kept_kib=(malloc_in_use_kib() or (None, None))[1],
            )
        )
        if args.progress or (args.progress is None and sys.stderr.isatty()):
            last = samples[-1]
            slowest = min(c[0] for c in cycles.values()) / POLLS_PER_HOUR
            print(
                f"{last.seconds:6d} s  simulated h mean {last.simulated_hours:6.2f} slowest {slowest:6.2f}"
                f"  rigs running {last.rigs_running:2d}  RSS {last.rss_kib} KiB"
                f"  malloc in use {last.malloc_in_use_kib} KiB",
                file=sys.stderr,
                flush=True,
            )
    for runner in runners:
        runner.result()  # an exception in a runner is a failure of the soak itself
    gc.collect()
    heap_end, heap_peak = tracemalloc.get_traced_memory() if traced else (0, 0)
    growth = (
        [str(stat) for stat in tracemalloc.take_snapshot().compare_to(snap_warm, "lineno")[:8] if stat.size_diff > 0]
        if snap_warm is not None
        else []
    )
    rss_end = rss_kib()
    rss_trimmed = rss_after_malloc_trim()
    overhead_end = tracemalloc.get_tracemalloc_memory() if traced else 0
    tasks_end_running = len(asyncio.all_tasks())
    every = [sum(counts) for counts in zip(*durations.values(), strict=True)]
    byte_links = [r.link for r in rigs if isinstance(r.link, BufferedByteLink)]
    flushes = sum(link.late_reply_flushes for link in byte_links)
    waited = sum(link.late_reply_waited for link in byte_links)
    for rig in rigs:
        await rig.close()
    await asyncio.sleep(0.2)
    gc.collect()
    total = Tally()
    per_rig: dict[str, dict[str, Any]] = {}
    injected: collections.Counter[str] = collections.Counter()
    for rig in rigs:
        total.add(rig.tally)
        injected.update(rig.injector.counts)
        t = rig.tally
        per_rig[f"{rig.target.name}/{rig.transport}"] = {
            "polls": t.polls,
            "ok": t.ok,
            "wrong": t.wrong,
            "stale": t.stale,
            "failures": dict(t.failures),
            "poll_seconds_median": quantile(durations[rig], 0.5),
        }
    return {
        "minutes": args.minutes,
        "rigs": len(rigs),
        "packs": sum(len(r.target.addresses) for r in rigs),
        "fault_plan": plan.as_dict(),
        "polls": total.polls,
        "ok": total.ok,
        "wrong": total.wrong,
        "stale_after_double_late_fault": total.stale,
        "late_policy": args.late_policy,
        "late_reply_flushes": flushes,
        "late_reply_horizon_waited_s": round(waited, 1),
        "poll_seconds_median": quantile(every, 0.5),
        "poll_seconds_p95": quantile(every, 0.95),
        "escaped": total.escaped,
        "hangs": total.hangs,
        "failures_by_kind": dict(total.failures),
        "faults_injected": dict(injected),
        "recovery_checks": dict(recovery),
        "tracemalloc": traced,
        "heap_kib_after_warmup": heap_warm // 1024 if traced else None,
        "heap_kib_end": heap_end // 1024 if traced else None,
        "heap_growth_kib": (heap_end - heap_warm) // 1024 if traced else None,
        "heap_peak_kib": heap_peak // 1024 if traced else None,
        "rss_kib_after_warmup": rss_warm,
        "rss_kib_end": rss_end,
        "rss_growth_kib": rss_end - rss_warm,
        # tracemalloc's own bookkeeping (its trace tables) is in the RSS but not in the traced heap
        "tracemalloc_overhead_kib_after_warmup": overhead_warm // 1024 if traced else None,
        "tracemalloc_overhead_kib_end": overhead_end // 1024 if traced else None,
        "rss_growth_kib_without_tracemalloc": rss_end - rss_warm - (overhead_end - overhead_warm) // 1024,
        # glibc keeps freed memory (fragmented heap) in the RSS; after malloc_trim only what is really held remains
        "rss_kib_after_warmup_after_malloc_trim": rss_warm_trimmed,
        "rss_kib_end_after_malloc_trim": rss_trimmed,
        "rss_growth_kib_after_malloc_trim": None
        if rss_trimmed is None
        else rss_trimmed - (rss_warm_trimmed or rss_warm),
        "rss_peak_kib": peak_rss_kib(),
        "memory_by_quarter": by_quarter(samples),
        "simulated_hours_per_rig_min": round(min(c[0] for c in cycles.values()) / POLLS_PER_HOUR, 2),
        "simulated_hours_per_rig": {
            f"{r.target.name}/{r.transport}": round(cycles[r][0] / POLLS_PER_HOUR, 2) for r in rigs
        },
        "wall_seconds": round(time.monotonic() - started),
        "samples": [dataclasses.asdict(s) for s in samples],
        "top_heap_growth": growth,
        "tasks_before": tasks_before,
        "tasks_while_running": tasks_running,
        "tasks_at_end_running": tasks_end_running,
        "tasks_after_close": len(asyncio.all_tasks()),
        "fds_before": fds_before,
        "fds_after_close": open_fds(),
        "per_rig": per_rig,
        "wrong_details": total.wrong_details[:5],
        "escaped_details": total.escaped_details[:5],
        "stale_details": total.stale_details,
    }


def build_parser() -> argparse.ArgumentParser:
    """The soak's command line (also used by the short soak in the test run)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--packs", type=int, default=15, help="packs on the bus rig")
    parser.add_argument("--rate", type=float, default=0.2, help="probability that a reply is faulty")
    parser.add_argument("--timeout", type=float, default=0.2, help="link timeout (s)")
    parser.add_argument("--calm-every", type=float, default=20.0, help="seconds between recovery checks")
    parser.add_argument("--interval", type=float, default=0.1, help="minimum seconds between two polls of a rig")
    parser.add_argument("--clean-after", type=int, default=0, help="clean replies after a faulty one (0: independent)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--late-policy",
        choices=get_args(LateReplyPolicy),
        default="flush",
        help="the links' late-reply policy (off: measure what flush prevents)",
    )
    parser.add_argument(
        "--simulated-hours", type=float, help="stop each rig after this many hours of 5-s polls (--minutes: a cap)"
    )
    parser.add_argument("--no-tracemalloc", action="store_true", help="measure RSS only (as in production)")
    parser.add_argument("--trim", action="store_true", help="malloc_trim at every sample (memory really held)")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds between memory samples")
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one line per memory sample on stderr (default: when stderr is a terminal)",
    )
    return parser


def problems(report: dict[str, Any]) -> list[str]:
    """What makes a soak fail: anything wrong shown, an escaped exception, a hang, a failed recovery, a leak."""
    found = [f"{key}: {report[key]}" for key in ("wrong", "escaped", "hangs") if report[key]]
    if report["recovery_checks"].get("failed", 0):
        found.append(f"recovery checks failed: {report['recovery_checks']}")
    for what in ("tasks", "fds"):
        before, after = report[f"{what}_before"], report[f"{what}_after_close"]
        if after > before:
            found.append(f"{what} leaked: {before} before, {after} after close")
    return found


def main() -> int:
    """Parse arguments, soak, print the report."""
    args = build_parser().parse_args()
    report = asyncio.run(soak(args))
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if problems(report) else 0


if __name__ == "__main__":
    sys.exit(main())
