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
from .errors import ConfigError
from .plugin import LinkKind
from .transports.base import BufferedByteLink, Link

CAPTURE_TYPE = "real capture (bmsgw capture)"


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
    _start: float = field(default_factory=time.monotonic)

    def attach(self, link: Link) -> None:
        """Start recording ``link``'s traffic (through its ``tap``, which every link honours)."""
        self.source = link.description
        link.tap = self._record

    def _record(self, direction: str, data: bytes) -> None:
        self.events.append(_Event(round(time.monotonic() - self._start, 6), direction, bytes(data)))

    def note_decoded(self, decoded: Mapping[str, Any]) -> None:
        """Attach what the library decoded from the exchanges recorded so far (a snapshot, device info…)."""
        requests = sum(1 for e in self.events if e.direction == "tx")
        self.decoded.append((requests - 1, dict(decoded)))

    def entries(self, family: str | None = None) -> list[dict[str, Any]]:
        """One vector entry per request, in order."""
        out: list[dict[str, Any]] = []
        for event in self.events:
            if event.direction == "tx":
                out.append(
                    {
                        "id": f"{self.vendor}_capture_{len(out) + 1:03d}",
                        "source": f"bmsgw capture (bms-gateway {__version__}) via {self.source}",
                        "capture_type": CAPTURE_TYPE,
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
        return out

    def write(self, path: Path, family: str | None = None) -> int:
        """Write the capture to ``path``; returns the number of entries."""
        entries = self.entries(family)
        path.write_text(json.dumps(entries, indent=1) + "\n")
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
