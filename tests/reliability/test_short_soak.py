"""The short soak of the normal test run: ``benchmarks/soak.py`` for one minute, with its must-not-happen checks.

Every rig (every vendor family on every transport it supports, Modbus, and a 15-pack PACE bus) polls through its
faulty bridge, pty or fake BLE peripheral with 20 % faulty replies. Nothing wrong may be shown, no exception may
escape, no read may hang, every recovery poll must succeed, tasks and open files must be back where they were once
the rigs are closed, and the memory glibc holds (bytes in use, not freed memory it keeps) may not grow by more than
:data:`IN_USE_GROWTH_LIMIT_KIB` after the warm-up. The long run (a simulated day) is on demand: see the README.
"""

from __future__ import annotations

import pytest

from benchmarks.soak import build_parser, problems, soak

#: Growth of glibc's bytes in use allowed between the first and the last sample. A full soak grows about 120 KiB in
#: its first 5 minutes and then stays flat; a leak of one small object per read (about 10,000 reads a minute) passes
#: this bound within the minute.
IN_USE_GROWTH_LIMIT_KIB = 1024


@pytest.mark.timeout(300)
async def test_a_short_soak_shows_nothing_wrong_and_leaks_nothing() -> None:
    args = build_parser().parse_args(["--minutes", "1", "--no-tracemalloc", "--trim", "--sample-every", "8"])
    report = await soak(args)
    assert problems(report) == [], report
    assert report["rigs"] == 25 and report["packs"] == 57  # with PACEEX: 4 more rigs of a 3-pack bank
    assert report["polls"] > 3000, report["polls"]
    assert report["ok"] > report["polls"] // 4  # faults show as failed reads, not as no reads at all
    assert report["recovery_checks"].get("ok", 0) >= report["rigs"]  # every rig was checked at least once
    in_use = [s["malloc_in_use_kib"] for s in report["samples"] if s["malloc_in_use_kib"] is not None]
    if len(in_use) >= 2:  # glibc only: mallinfo2 is not available elsewhere
        assert in_use[-1] - in_use[0] < IN_USE_GROWTH_LIMIT_KIB, in_use
