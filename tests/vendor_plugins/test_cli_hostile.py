"""``bmsgw`` against hostile or faulty devices: a bus scan that keeps failing, device-supplied control characters."""

from __future__ import annotations

import pytest

from tests.vendor_plugins.sim_links import Silent, threaded_tcp
from vendor_plugins import cli
from vendor_plugins.reader import PackReader, PackResult


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("as_json", [False, True])
def test_watch_on_a_bus_keeps_scanning_after_a_failed_scan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """``read --address all --watch``: a scan that finds no pack is one error line, and the next round scans again."""
    rounds = 0
    original = PackReader.read_round

    async def read_round(self: PackReader) -> list[PackResult]:
        nonlocal rounds
        rounds += 1
        if rounds == 4:
            raise KeyboardInterrupt  # Ctrl-C after three rounds
        return await original(self)

    monkeypatch.setattr(PackReader, "read_round", read_round)
    silent = Silent()
    argv = ["read", "--vendor", "pace", "--address", "all", "--watch", "0.01", "--timeout", "0.02"]
    with threaded_tcp(silent) as target:
        code, out, err = run(capsys, *argv, "--tcp", target, *(["--json"] if as_json else []))
    assert rounds == 4
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert all(line.startswith("bmsgw: error: no pack answered on the bus") for line in lines)
    assert out == ""  # nothing was read: no document, no table
