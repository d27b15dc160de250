"""Traffic capture and replay, in the JSON shape of ``shared/protocols/vectors/*.json``.

:class:`CaptureRecorder` taps a link and records every request and every received chunk with a timestamp.
:meth:`CaptureRecorder.entries` turns that into vector entries (one per request: ``request_hex``,
``response_hex``, the raw ``traffic`` with directions and times, and what the library decoded), so an owner can
attach the file to a bug report and we can turn it into a test. :class:`ReplayLink` answers a session's requests
from such a file, so a capture can be decoded again later (the round trip the tests check).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, one_line
from .plugin import LinkKind
from .transports.base import BufferedByteLink, Link

CAPTURE_TYPE = "real capture (bmsgw capture)"
#: The capture type of traffic recorded from a simulator (``bmsgw simulate``), never to be mistaken for a pack's.
SIMULATOR_CAPTURE_TYPE = "simulator capture (bmsgw capture of a bmsgw simulator)"

#: Most raw bytes (sent and received) a capture records; beyond it recording stops and the file says so.
MAX_CAPTURE_BYTES = 1 << 20
#: Most pieces of traffic (requests and received chunks) a capture records.
MAX_CAPTURE_PIECES = 20_000


@dataclass(slots=True)
class _Event:
    t: float
    direction: str
    data: bytes


@dataclass(slots=True)
class CaptureRecorder:
    """Records the raw traffic of one link."""

    vendor: str
    events: list[_Event] = field(default_factory=list)
    decoded: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    source: str = ""
    #: The traffic comes from a simulator (the file says so: :data:`SIMULATOR_CAPTURE_TYPE`).
    simulated: bool = False
    #: Caps on what is recorded (a flooding bridge must not fill memory or the disk).
    max_bytes: int = MAX_CAPTURE_BYTES
    max_pieces: int = MAX_CAPTURE_PIECES
    #: What arrived after a cap was reached and was not recorded.
    bytes_not_recorded: int = 0
    pieces_not_recorded: int = 0
    requests_not_recorded: int = 0
    _recorded_bytes: int = 0
    _requests: int = 0
    _start: float = field(default_factory=time.monotonic)

    def attach(self, link: Link) -> None:
        """Start recording ``link``'s traffic (through its ``tap``, which every link honours)."""
        self.source = link.description
        link.tap = self._record

    @property
    def truncated(self) -> bool:
        """Whether a cap was reached (traffic after it was counted, not recorded)."""
        return self.pieces_not_recorded > 0

    def _record(self, direction: str, data: bytes) -> None:
        if direction != "tx" and not self._requests:
            return  # bytes before the first request: nothing asked for them
        full = self.truncated or (
            self._recorded_bytes + len(data) > self.max_bytes or len(self.events) >= self.max_pieces
        )
        if full:  # from here on only counted: an entry is never cut in the middle of a later one
            self.bytes_not_recorded += len(data)
            self.pieces_not_recorded += 1
            self.requests_not_recorded += direction == "tx"
            return
        self._recorded_bytes += len(data)
        self._requests += direction == "tx"
        self.events.append(_Event(round(time.monotonic() - self._start, 6), direction, bytes(data)))

    def note_decoded(self, decoded: Mapping[str, Any]) -> None:
        """Attach what the library decoded from the exchanges recorded so far (a snapshot, device info…).

        Nothing is attached once the capture is truncated (it would belong to exchanges that were not recorded).
        """
        if not self.truncated:
            self.decoded.append((self._requests - 1, dict(decoded)))

    def truncation(self) -> dict[str, Any] | None:
        """What the file says about a cap that was reached (``None``: everything was recorded)."""
        if not self.truncated:
            return None
        return {
            "reason": f"capture capped at {self.max_bytes} bytes / {self.max_pieces} pieces of traffic",
            "bytes_not_recorded": self.bytes_not_recorded,
            "pieces_not_recorded": self.pieces_not_recorded,
            "requests_not_recorded": self.requests_not_recorded,
        }

    def entries(self, family: str | None = None) -> list[dict[str, Any]]:
        """One vector entry per request, in order."""
        out: list[dict[str, Any]] = []
        for event in self.events:
            if event.direction == "tx":
                out.append(
                    {
                        "id": f"{self.vendor}_capture_{len(out) + 1:03d}",
                        "source": f"bmsgw capture (bms-gateway {__version__}) via {self.source}",
                        "capture_type": SIMULATOR_CAPTURE_TYPE if self.simulated else CAPTURE_TYPE,
                        "vendor": self.vendor,
                        "family": family,
                        "request_hex": event.data.hex(),
                        "response_hex": "",
                        "expected": {},
                        "expected_origin": "decoded_here",
                        "checksum_recomputed": None,
                        "decoded_here": {},
                        "traffic": [],
                    }
                )
            elif not out:
                continue  # bytes before the first request: nothing asked for them
            else:
                out[-1]["response_hex"] += event.data.hex()
            if out:
                out[-1]["traffic"].append({"t": event.t, "dir": event.direction, "hex": event.data.hex()})
        for index, decoded in self.decoded:
            if 0 <= index < len(out):
                out[index]["decoded_here"].update(decoded)
        for entry in out:
            entry["response_hex"] = entry["response_hex"] or None
        if out and (truncation := self.truncation()) is not None:
            out[-1]["capture_truncated"] = truncation  # the last entry recorded: traffic after it is missing
        return out

    def write(self, path: Path, family: str | None = None) -> int:
        """Write the capture to ``path``; returns the number of entries.

        A file that cannot be written is a :class:`ConfigError` naming it (the output the user chose is unusable;
        nothing is wrong with the device).
        """
        entries = self.entries(family)
        try:
            with path.open("w", encoding="utf-8") as out:
                json.dump(entries, out, indent=1)
                out.write("\n")
        except OSError as err:
            raise ConfigError(f"cannot write the capture to {path}: {err.strerror or one_line(err)}") from err
        return len(entries)


def load_capture(path: Path) -> list[dict[str, Any]]:
    """Read a capture (or any vectors file) back."""
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise ConfigError(f"{path} is not a capture: expected a JSON list of entries")
    return data


class ReplayLink(BufferedByteLink):
    """A link whose "device" is a capture: each request is answered with the bytes recorded for it.

    Requests are matched to entries by their bytes, in recorded order; received chunks are replayed as they were
    split on the wire. A request that was never recorded gets no answer (the session times out).
    """

    kind = LinkKind.TCP

    def __init__(self, entries: Sequence[Mapping[str, Any]], *, timeout: float = 0.5) -> None:
        """Replay ``entries``."""
        super().__init__(timeout=timeout)
        self._entries = [e for e in entries if e.get("request_hex")]
        self._next = 0
        self._open = False

    @property
    def description(self) -> str:
        """Where the bytes come from."""
        return "replay://capture"

    @property
    def connected(self) -> bool:
        """Open after the first exchange."""
        return self._open

    async def _connect(self) -> None:
        self._open = True

    async def _disconnect(self) -> None:
        self._open = False

    async def _write(self, data: bytes) -> None:
        count = len(self._entries)
        for step in range(count):
            entry = self._entries[(self._next + step) % count]
            if bytes.fromhex(entry["request_hex"]) == data:
                self._next = (self._next + step + 1) % count
                chunks = [bytes.fromhex(t["hex"]) for t in entry.get("traffic", []) if t["dir"] == "rx"]
                if not chunks and entry.get("response_hex"):
                    chunks = [bytes.fromhex(entry["response_hex"])]
                for chunk in chunks:
                    self._on_data(chunk)
                return
