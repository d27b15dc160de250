"""``bmsgw settings`` against the JBD simulator: get (table, --json), set, backup, restore, and the refusals.

In-process runs (``cli.main``) against a simulator served over TCP from a thread; one end-to-end run as a real
process against ``bmsgw simulate --pty``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vendor_plugins.cli_runner import bmsgw, running
from tests.vendor_plugins.sim_links import threaded_tcp
from vendor_plugins import cli
from vendor_plugins.jbd.simulator import JbdSimulator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def served() -> Iterator[tuple[str, JbdSimulator]]:
    sim = JbdSimulator()
    with threaded_tcp(sim) as where:
        yield where, sim


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def changing(sim: JbdSimulator) -> list[bytes]:
    """Frames that could change the device: settings writes and exit-and-save (not factory enter/exit-no-save)."""
    return [
        r for r in sim.requests if r[1] == 0x5A and r[2] not in (0x00,) and r != bytes.fromhex("dd5a01020000fffd77")
    ]


def test_get_table_and_json(served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str]) -> None:
    where, sim = served
    code, out, err = run(capsys, "settings", "get", "--tcp", where, "--vendor", "jbd")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert ["cell_overvoltage_protect", "3.65", "V"] in rows
    assert ["cell_count", "4", "read-only"] in rows and ["balancer_enabled", "on"] in rows
    code, out, err = run(capsys, "settings", "get", "--tcp", where, "--vendor", "jbd", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == sorted(data)
    assert data["cell_overvoltage_protect"] == 3.65 and data["balancer_enabled"] is True and data["cell_count"] == 4
    assert changing(sim) == []


def test_set_needs_allow_control_before_anything_opens(
    served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str]
) -> None:
    where, sim = served
    code, _, err = run(capsys, "settings", "set", "charge_overcurrent_protect=80", "--tcp", where, "--vendor", "jbd")
    assert code == 4 and "--allow-control" in err
    assert list(sim.requests) == []


def test_set_without_terminal_or_yes_refuses(
    served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str]
) -> None:
    where, sim = served
    argv = ["settings", "set", "charge_overcurrent_protect=80", "--tcp", where, "--vendor", "jbd", "--allow-control"]
    code, out, err = run(capsys, *argv)
    assert code == 4
    assert "charge_overcurrent_protect: 230 -> 80 A" in out
    assert "stdin is not a terminal" in err and "--yes" in err
    assert changing(sim) == []


def test_set_with_yes_writes_and_confirms(served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str]) -> None:
    where, sim = served
    argv = ["settings", "set", "charge_overcurrent_protect=80", "balancer_enabled=off"]
    code, out, err = run(capsys, *argv, "--tcp", where, "--vendor", "jbd", "--allow-control", "--yes")
    assert code == 0, err
    assert "confirmed by read-back" in out
    assert sim.settings.values()["charge_overcurrent_protect"] == 80.0
    assert sim.settings.values()["balancer_enabled"] is False


def test_set_asks_on_a_terminal(
    served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    where, sim = served
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    argv = ["settings", "set", "cell_overvoltage_delay=4", "--tcp", where, "--vendor", "jbd", "--allow-control"]
    code, _, err = run(capsys, *argv)
    assert code == 4 and "declined" in err
    assert sim.settings.values()["cell_overvoltage_delay"] == 2.0
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    assert sim.settings.values()["cell_overvoltage_delay"] == 4.0


@pytest.mark.parametrize(
    ("assignment", "code", "message"),
    [
        ("cell_overvoltage_protect=9", 4, "outside the device's range"),
        ("cell_overvoltage_release=3.7", 4, "release must be below its protection"),
        ("no_such_setting=1", 4, "is not a setting of jbd"),
        ("cell_count=8", 4, "read-only"),
        ("charge_overcurrent_protect=lots", 2, "is not a number"),
        ("charge_overcurrent_protect", 2, "expected NAME=VALUE"),
    ],
)
def test_set_refusals(
    served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str], assignment: str, code: int, message: str
) -> None:
    where, sim = served
    got, _, err = run(
        capsys, "settings", "set", assignment, "--tcp", where, "--vendor", "jbd", "--allow-control", "--yes"
    )
    assert got == code and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert changing(sim) == []


def test_backup_and_restore(
    served: tuple[str, JbdSimulator], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    where, sim = served
    file = tmp_path / "pack.json"
    code, _, err = run(capsys, "settings", "backup", "--out", str(file), "--tcp", where, "--vendor", "jbd")
    assert code == 0, err
    document = json.loads(file.read_text())
    assert document["vendor"] == "jbd" and document["cell_count"] == 4
    assert document["settings"]["cell_overvoltage_protect"] == 3.65
    argv = ["--tcp", where, "--vendor", "jbd", "--allow-control", "--yes"]
    assert run(capsys, "settings", "set", "charge_overcurrent_protect=50", "cell_overvoltage_delay=9", *argv)[0] == 0
    code, out, err = run(capsys, "settings", "restore", str(file), *argv)
    assert code == 0, err
    assert "charge_overcurrent_protect: 50 -> 230 A" in out and "cell_overvoltage_delay: 9 -> 2 s" in out
    assert sim.settings.values()["charge_overcurrent_protect"] == 230.0
    code, out, _ = run(capsys, "settings", "restore", str(file), *argv)
    assert code == 0 and "nothing to restore" in out


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("vendor", "other", "vendor"), ("family", "x", "family"), ("cell_count", 16, "cell count")],
)
def test_restore_refuses_a_backup_of_another_pack(
    served: tuple[str, JbdSimulator],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    field: str,
    value: object,
    message: str,
) -> None:
    where, sim = served
    file = tmp_path / "pack.json"
    assert run(capsys, "settings", "backup", "--out", str(file), "--tcp", where, "--vendor", "jbd")[0] == 0
    document = json.loads(file.read_text())
    document[field] = value
    document["settings"]["charge_overcurrent_protect"] = 10.0
    file.write_text(json.dumps(document))
    code, _, err = run(
        capsys, "settings", "restore", str(file), "--tcp", where, "--vendor", "jbd", "--allow-control", "--yes"
    )
    assert code == 4 and message in err, err
    assert changing(sim) == []


def test_restore_of_a_broken_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "x.json"
    file.write_text("{}")
    code, _, err = run(
        capsys, "settings", "restore", str(file), "--tcp", "127.0.0.1:9", "--vendor", "jbd", "--allow-control"
    )
    assert code == 2 and "not a settings backup" in err


def test_end_to_end_over_a_pty() -> None:
    """A real ``bmsgw simulate --pty`` process and real ``bmsgw settings`` processes: set, then get it back."""
    with running("simulate", "--vendor", "jbd", "--pty", "--profile", "static") as (path, _):
        result = bmsgw("settings", "set", "cell_overvoltage_protect=3.6", "--serial", path, "--vendor", "jbd",
                       "--allow-control", "--yes", timeout=20)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "cell_overvoltage_protect: 3.65 -> 3.6 V" in result.stdout
        result = bmsgw("settings", "get", "--serial", path, "--vendor", "jbd", "--json", timeout=20)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["cell_overvoltage_protect"] == 3.6
