"""In-process tests of ``bmsgw probe`` (every plugin, the winner's snapshot) and ``bmsgw capture``."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from tests.vendor_plugins.readonly import assert_read_only
from tests.vendor_plugins.sim_links import Silent, threaded_tcp
from vendor_plugins import cli
from vendor_plugins.capture import CAPTURE_TYPE, ReplayLink, load_capture
from vendor_plugins.hiximi.plugin import PLUGIN as HIXIMI
from vendor_plugins.hiximi.simulator import HiximiSimulator
from vendor_plugins.model import BmsSnapshot


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bmsgw: error: ")
    return lines[0]


@pytest.fixture
def dead_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


# --- probe ----------------------------------------------------------------------------------------------
def test_probe_lists_every_answer_and_the_winner_s_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    with threaded_tcp(HiximiSimulator("daly-d2")) as target:
        code, out, err = run(capsys, "probe", "--tcp", target, "--json", "--timeout", "0.2")
    assert (code, err) == (0, "")
    docs = json.loads(out)
    assert [(d["vendor"], d["family"], d["winner"]) for d in docs] == [
        ("daly", "d2", True),
        ("hiximi", "daly-d2", False),
    ]
    assert docs[0]["snapshot"]["cell_voltages"] == [3.301, 3.305, 3.298, 3.302]
    assert docs[0]["error"] is None
    assert docs[1]["snapshot"] is None
    assert docs[1]["device"]["vendor"] == "HiXiMi"


def test_probe_table_names_the_winner(capsys: pytest.CaptureFixture[str]) -> None:
    with threaded_tcp(HiximiSimulator("jbd")) as target:
        code, out, _ = run(capsys, "probe", "--tcp", target, "--vendor", "hiximi", "--timeout", "0.2")
    assert code == 0
    assert "hiximi  jbd" in out
    assert "winner: HiXiMi (jbd)" in out
    assert "Cells" in out


def test_probe_family_needs_a_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "probe", "--tcp", "127.0.0.1:1", "--family", "a5")
    assert (code, out) == (2, "")
    assert "--vendor" in one_error_line(err)


def test_probe_with_a_family_reaches_the_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    sim = HiximiSimulator("daly-a5")
    with threaded_tcp(sim) as target:
        code, out, _ = run(
            capsys, "probe", "--tcp", target, "--vendor", "hiximi", "--family", "daly-a5", "--json", "--timeout", "0.2"
        )
    assert code == 0
    assert json.loads(out)[0]["family"] == "daly-a5"
    assert sim.requests  # only A5 reads reached the unit: nothing was probed before
    assert {r[2] for r in sim.requests} <= set(range(0x90, 0x99))


def test_probe_of_a_silent_device_exits_3_naming_what_was_tried(capsys: pytest.CaptureFixture[str]) -> None:
    silent = Silent()
    with threaded_tcp(silent) as target:
        code, out, err = run(capsys, "probe", "--tcp", target, "--address", "1", "--timeout", "0.1")
    assert (code, out) == (3, "")
    line = one_error_line(err)
    assert "no BMS answered" in line
    assert "tried, read-only: daly, jbd, pace, hiximi" in line
    assert_read_only(silent.seen)


def test_read_hiximi_reports_family_and_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    with threaded_tcp(HiximiSimulator("daly-a5")) as target:
        code, out, err = run(capsys, "read", "--tcp", target, "--vendor", "hiximi", "--json", "--timeout", "0.2")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["vendor"], doc["family"]) == ("hiximi", "daly-a5")
    assert doc["packs"][0]["device"]["vendor"] == "HiXiMi"


# --- capture --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "transport",
    [["--modbus-tcp", "127.0.0.1:1"], ["--tcp", "127.0.0.1:1", "--protocol", "modbus"]],
    ids=["modbus-tcp", "rtu-over-tcp"],
)
def test_capture_of_a_modbus_link_is_not_supported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, transport: list[str]
) -> None:
    out_file = tmp_path / "c.json"
    code, out, err = run(capsys, "capture", *transport, "--vendor", "pace", "--out", str(out_file))
    assert (code, out) == (2, "")
    assert "not supported" in one_error_line(err)
    assert not out_file.exists()


def test_capture_records_every_exchange_and_replays(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "hiximi.json"
    sim = HiximiSimulator("daly-d2")
    with threaded_tcp(sim) as target:
        code, out, err = run(
            capsys, "capture", "--tcp", target, "--vendor", "hiximi", "--out", str(out_file), "--count", "2",
            "--timeout", "0.2",
        )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    # JBD probe, then D2: device info (+ the settings block, which carries the chemistry) and two status reads
    assert out.startswith("captured 6 request(s) in 2 read(s), 2 answered, from tcp://")
    assert f"(family daly-d2) to {out_file}" in out
    entries = load_capture(out_file)
    assert [e["request_hex"][:4] for e in entries] == ["dda5", "d203", "d203", "d203", "d203", "d203"]
    assert entries[0]["response_hex"] is None  # the JBD probe: a DALY unit stays silent, and the file says so
    assert all(e["capture_type"] == CAPTURE_TYPE and e["family"] == "daly-d2" for e in entries)
    assert [t["dir"] for t in entries[1]["traffic"]] == ["tx", "rx"]
    docs = [e["decoded_here"] for e in entries if e["decoded_here"]]
    assert len(docs) == 2
    assert docs[0]["family"] == "daly-d2"
    assert docs[0]["packs"][0]["device"]["vendor"] == "HiXiMi"


def test_capture_file_replays_to_the_snapshot_it_recorded(tmp_path: Path) -> None:
    out_file = tmp_path / "c.json"
    with threaded_tcp(HiximiSimulator("daly-a5")) as target:
        code = cli.main(["capture", "--tcp", target, "--vendor", "hiximi", "--out", str(out_file), "--timeout", "0.2"])
    assert code == 0
    entries = load_capture(out_file)
    recorded = next(e["decoded_here"] for e in entries if e["decoded_here"])["packs"][0]["snapshot"]

    async def replay() -> tuple[BmsSnapshot, str | None]:
        async with ReplayLink(entries, timeout=0.1) as link:
            session = HIXIMI.open_session(link)
            return await session.read(), session.family

    replayed, family = asyncio.run(replay())
    assert family == "daly-a5"
    assert replayed.to_dict() == recorded


def test_capture_of_a_dead_link_still_writes_the_file_and_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dead_port: str
) -> None:
    out_file = tmp_path / "c.json"
    code, out, err = run(capsys, "capture", "--tcp", dead_port, "--vendor", "jbd", "--out", str(out_file))
    assert code == 3
    assert out.startswith("captured 0 request(s) in 1 read(s), 0 answered")
    one_error_line(err)
    assert load_capture(out_file) == []


def test_capture_with_watch_and_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "c.json"
    with threaded_tcp(HiximiSimulator("jbd")) as target:
        code, out, _ = run(
            capsys, "capture", "--tcp", target, "--vendor", "jbd", "--out", str(out_file), "--watch", "0.05",
            "--count", "3",
        )  # fmt: skip
    assert code == 0
    assert "in 3 read(s), 3 answered" in out
    assert len([e for e in load_capture(out_file) if e["decoded_here"]]) == 3


def test_capture_needs_a_writable_place(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(
        capsys, "capture", "--tcp", "127.0.0.1:1", "--vendor", "jbd", "--out", str(tmp_path / "missing" / "c.json")
    )
    assert code == 2
    one_error_line(err)
