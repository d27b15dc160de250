"""End to end with real processes: ``bmsgw simulate --vendor hiximi`` read by ``bmsgw read`` and captured by
``bmsgw capture``, whose file replays through the codec to the snapshot it recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.vendor_plugins.cli_runner import bmsgw, running
from vendor_plugins.capture import ReplayLink, load_capture
from vendor_plugins.hiximi.plugin import PLUGIN
from vendor_plugins.hiximi.session_families import FAMILY_NAMES
from vendor_plugins.hiximi.simulator import HiximiSimulator

pytestmark = pytest.mark.timeout(30)


@contextlib.contextmanager
def simulate_hiximi(family: str, *where: str) -> Iterator[str]:
    """``bmsgw simulate --vendor hiximi --family FAMILY WHERE`` (static); yields where it listens."""
    with running("simulate", "--vendor", "hiximi", "--family", family, "--profile", "static", *where) as (line, _):
        yield line


def transport_args(where: str) -> list[str]:
    """``--tcp HOST:PORT`` or ``--serial /dev/pts/N`` for what the simulator printed."""
    if where.startswith("tcp://"):
        return ["--tcp", where.removeprefix("tcp://")]
    assert where.startswith("/dev/"), where
    return ["--serial", where]


@pytest.mark.parametrize("where", [("--tcp", "127.0.0.1:0"), ("--pty",)], ids=["tcp", "pty"])
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_read_detects_each_family(family: str, where: tuple[str, ...]) -> None:
    with simulate_hiximi(family, *where) as listening:
        result = bmsgw("read", *transport_args(listening), "--vendor", "hiximi", "--json", "--timeout", "0.3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    doc: dict[str, Any] = json.loads(result.stdout)
    assert (doc["vendor"], doc["family"]) == ("hiximi", family)
    (pack,) = doc["packs"]
    assert pack["device"]["vendor"] == "HiXiMi"
    assert pack["device"]["family"] == family
    expected = HiximiSimulator(family).inner.state  # the static simulator's state, built independently
    assert pack["snapshot"]["cell_voltages"] == list(expected.cell_voltages)
    assert pack["snapshot"]["current"] == expected.current


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_capture_file_replays_to_the_same_snapshot(family: str, tmp_path: Path) -> None:
    out_file = tmp_path / f"hiximi-{family}.json"
    with simulate_hiximi(family, "--tcp", "127.0.0.1:0") as listening:
        result = bmsgw(
            "capture", *transport_args(listening), "--vendor", "hiximi", "--out", str(out_file), "--timeout", "0.3"
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("captured ")
    assert result.stdout.count("\n") == 1
    entries = load_capture(out_file)
    (doc,) = [e["decoded_here"] for e in entries if e["decoded_here"]]
    recorded = doc["packs"][0]["snapshot"]

    async def replay() -> tuple[dict[str, Any], str | None]:
        async with ReplayLink(entries, timeout=0.1) as link:
            session = PLUGIN.open_session(link)
            return (await session.read()).to_dict(), session.family

    replayed, detected = asyncio.run(replay())
    assert detected == family
    assert replayed == recorded
    assert replayed["cell_voltages"] == list(HiximiSimulator(family).inner.state.cell_voltages)
