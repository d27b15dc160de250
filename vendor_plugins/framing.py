"""Frame assembly: turning a stream of arbitrary chunks into complete, checksum-verified frames.

A link receives bytes in whatever pieces the transport delivers (20-byte BLE notifications, single serial bytes,
TCP segments, junk before a header). A :class:`FrameAssembler` per framing family buffers them, skips junk,
rejects frames whose checksum fails, and returns only valid :class:`Frame` objects. Assemblers are sans-IO and
never raise: anything that is not a valid frame is counted and dropped.

:class:`Expect` tells a link which assembler to use and when an exchange is complete.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from .errors import ProtocolError


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete, verified frame. ``payload`` is the data part with framing and checksum stripped."""

    command: int
    payload: bytes
    raw: bytes
    address: int | None = None
    status: int = 0


class FrameAssembler(abc.ABC):
    """Collects chunks and yields complete valid frames; junk and corrupt frames are dropped and counted."""

    #: Upper bound on buffered bytes; older bytes are discarded beyond it (a stuck header cannot grow memory).
    max_buffer: int = 4096

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buf = bytearray()
        self.discarded_bytes = 0
        self.rejected_frames = 0

    # --- what a framing family provides --------------------------------------------------------
    @abc.abstractmethod
    def next_start(self, buf: bytearray, pos: int) -> int:
        """Index of the next possible frame start at or after ``pos``, or -1.

        A trailing partial header (fewer bytes than a header, all matching) counts as a possible start.
        """

    @abc.abstractmethod
    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """Total length of the frame starting at ``start``; ``None`` when more bytes are needed to know.

        Raises a :class:`ProtocolError` when the header is impossible (so this start is junk).
        """

    @abc.abstractmethod
    def parse(self, raw: bytes) -> Frame:
        """Strictly parse one complete frame; raise ``ChecksumError``/``FrameError`` when it is invalid."""

    # --- the shared mechanism ------------------------------------------------------------------
    def reset(self) -> None:
        """Forget buffered bytes (before a new request, so a late reply is never taken as this answer)."""
        self.discarded_bytes += len(self._buf)
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Bytes buffered but not yet part of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add a chunk; return every frame it completed, in order."""
        buf = self._buf
        fresh = len(buf)  # frames ending before this index were already tried by an earlier feed()
        buf += data
        if len(buf) > self.max_buffer:
            excess = len(buf) - self.max_buffer
            del buf[:excess]
            self.discarded_bytes += excess
            fresh = max(0, fresh - excess)
        frames: list[Frame] = []
        pos = 0
        while (start := self.next_start(buf, pos)) >= 0:
            try:
                size = self.frame_length(buf, start)
            except ProtocolError:
                pos = start + 1  # an impossible header: junk
                continue
            if size is not None and size <= 0:
                pos = start + 1  # a faulty length: never loop on it
                continue
            if size is None or len(buf) - start < size:
                later = self._later_complete_start(buf, start + 1, fresh)
                if later is None:
                    break  # wait for more bytes
                pos = later
                continue
            try:
                frames.append(self.parse(bytes(buf[start : start + size])))
            except ProtocolError:
                self.rejected_frames += 1
                pos = start + 1
                continue
            self.discarded_bytes += start
            del buf[: start + size]
            fresh = max(0, fresh - start - size)
            pos = 0
        else:
            start = len(buf)
        self.discarded_bytes += start
        del buf[:start]
        return frames

    def _later_complete_start(self, buf: bytearray, pos: int, fresh: int) -> int | None:
        """A later start whose frame is complete and valid (so an incomplete junk header cannot hide it).

        Candidates that were already complete before the newest chunk (ending at or before ``fresh``) were tried and
        rejected by an earlier call, so they are not parsed again: a long frame arriving in small chunks stays linear.
        """
        while (cand := self.next_start(buf, pos)) >= 0:
            try:
                size = self.frame_length(buf, cand)
            except ProtocolError:
                size = None
            if size is not None and size > 0 and cand + size > fresh and len(buf) - cand >= size:
                try:
                    self.parse(bytes(buf[cand : cand + size]))
                except ProtocolError:
                    pass
                else:
                    return cand
            pos = cand + 1
        return None


def frames_from(assembler: FrameAssembler, data: bytes) -> list[Frame]:
    """Feed ``data`` to a fresh state of ``assembler`` and return the frames (convenience for tests and tools)."""
    assembler.reset()
    return assembler.feed(data)


def fed_in_two(make: Callable[[], FrameAssembler], parse: Callable[[bytes], object]) -> Callable[[bytes], None]:
    """A fuzz entry point for an assembler: the input fed in two pieces, every frame it yields parsed strictly.

    The cut is at the first byte's value. Plugins declare these in
    :meth:`~vendor_plugins.plugin.VendorPlugin.fuzz_targets`.
    """

    def run(data: bytes) -> None:
        assembler = make()
        cut = data[0] % (len(data) + 1) if data else 0
        for frame in assembler.feed(data[:cut]) + assembler.feed(data[cut:]):
            parse(frame.raw)

    return run


@dataclass(frozen=True, slots=True)
class Expect:
    """What a link waits for after sending a request.

    ``assembler`` builds the framing family's assembler; ``match`` drops frames that do not answer this request
    (a late reply to an earlier one, another pack on the bus); the exchange is complete once ``count`` matching
    frames arrived, or — when ``until`` is given — once ``until(frames)`` is true. ``timeout`` overrides the
    link's default (seconds). ``answer_key``: for protocols whose replies do not say which of several requests they
    answer (the same record type for every pack), a key shared by those requests, so a link's late-reply protection
    treats them as one (``None``: the request bytes).
    """

    assembler: Callable[[], FrameAssembler]
    count: int = 1
    until: Callable[[Sequence[Frame]], bool] | None = None
    match: Callable[[Frame], bool] | None = None
    timeout: float | None = None
    answer_key: Hashable | None = None

    def settle_key(self, request: bytes) -> Hashable:
        """What a late answer to ``request`` cannot be told apart from: ``answer_key``, else the request itself."""
        return request if self.answer_key is None else self.answer_key

    def accepts(self, frame: Frame) -> bool:
        """Whether ``frame`` belongs to this exchange."""
        return self.match is None or self.match(frame)

    def complete(self, frames: Sequence[Frame]) -> bool:
        """Whether the frames collected so far finish the exchange."""
        if self.until is not None:
            return self.until(frames)
        return len(frames) >= self.count
