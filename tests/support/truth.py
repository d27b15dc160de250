"""The ground truth of a simulated poll: what the simulator served, and which snapshots that allows.

"Every snapshot equals the simulator's state at some moment of that poll" is checked here without knowing any
vendor's fields. :class:`TruthRecorder` wraps each simulator in a :class:`RecordingSimulator` that (optionally)
moves its state on before **every** request, and records every ``(request, reply)`` pair it served, tagged with
the poll the test declared current (:meth:`TruthRecorder.begin`). A reply is generated from one state, so each
recorded pair is consistent in itself.

:func:`is_allowed` then re-runs a fresh session of the same vendor against a :class:`TruthReplayLink` that answers
each request only with a clean reply *served during that poll* (every combination, including "that reply was lost",
so a session's fallback path is reproduced too). A snapshot the real session returned over a faulty wire is correct
iff it is one of those: a corrupted field, a reply from an earlier poll (a late answer) or a mix of them cannot be
reproduced.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from vendor_plugins.errors import BmsError, DeviceTimeout
from vendor_plugins.framing import Expect, Frame, FrameAssembler
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.plugin import LinkKind, Session
from vendor_plugins.sim.base import Simulator
from vendor_plugins.transports.base import ByteLink, Link


@dataclass(frozen=True, slots=True)
class Served:
    """One reply the simulator generated (whatever then happened to it on the wire)."""

    poll: int
    request: bytes
    reply: bytes


class TruthRecorder:
    """Records what the simulators of one device or bus served, poll by poll."""

    def __init__(self, *, keep_polls: int = 64) -> None:
        """Keep the records of the last ``keep_polls`` polls (older ones are forgotten: soak runs stay flat)."""
        self.poll = 0
        self.keep_polls = keep_polls
        self.served: list[Served] = []

    def wrap(self, simulator: Simulator, *, step: float = 0.0) -> RecordingSimulator:
        """Record ``simulator``; ``step`` > 0 advances it that many seconds before every request it answers."""
        return RecordingSimulator(simulator, self, step=step)

    def begin(self, poll: int) -> None:
        """Declare that poll ``poll`` starts now."""
        self.poll = poll
        oldest = poll - self.keep_polls
        if self.served and self.served[0].poll < oldest:
            self.served = [s for s in self.served if s.poll >= oldest]

    def record(self, request: bytes, reply: bytes) -> None:
        """Note one served reply."""
        self.served.append(Served(self.poll, bytes(request), bytes(reply)))

    def answers(self, poll: int) -> dict[bytes, list[bytes]]:
        """Every reply served during ``poll``, by request."""
        out: dict[bytes, list[bytes]] = {}
        for s in self.served:
            if s.poll == poll:
                out.setdefault(s.request, []).append(s.reply)
        return out


class RecordingSimulator(Simulator):
    """A simulator whose every answer is recorded (and whose state may move before each request)."""

    def __init__(self, inner: Simulator, recorder: TruthRecorder, *, step: float = 0.0) -> None:
        """Wrap ``inner``."""
        self.inner = inner
        self.vendor = inner.vendor
        self.recorder = recorder
        self.step = step

    def request_assembler(self) -> FrameAssembler:
        """The inner simulator's."""
        return self.inner.request_assembler()

    def advance(self, seconds: float) -> None:
        """Time is moved by ``step`` per request instead (so every request sees a new state)."""
        if not self.step:
            self.inner.advance(seconds)

    def handle(self, request: bytes) -> bytes | None:
        """Move the state on, answer, record."""
        if self.step:
            self.inner.advance(self.step)
        reply = self.inner.handle(request)
        if reply:
            self.recorder.record(request, reply)
        return reply


class TruthReplayLink(ByteLink):
    """A link whose device answers each request with a chosen recorded reply (or times out)."""

    def __init__(self, answers: Mapping[bytes, Sequence[bytes]], choice: Mapping[bytes, int], kind: LinkKind) -> None:
        """Answer request ``r`` with ``answers[r][choice.get(r, 0)]``; an unknown request times out."""
        self.answers = answers
        self.choice = choice
        self.kind = kind

    @property
    def description(self) -> str:
        """``replay://``."""
        return "replay://"

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """The recorded reply's frames that ``expect`` accepts."""
        options = self.answers.get(request)
        if not options:
            raise DeviceTimeout("replay: this request was not answered during the poll")
        index = self.choice.get(request, 0)
        if index >= len(options):
            raise DeviceTimeout("replay: this reply is taken as lost on the wire")
        reply = options[index]
        frames: list[Frame] = []
        for frame in expect.assembler().feed(reply):
            if expect.accepts(frame) and not expect.complete(frames):
                frames.append(frame)
        if not expect.complete(frames):
            raise DeviceTimeout("replay: the recorded reply does not complete the exchange")
        return frames

    async def close(self) -> None:
        """Nothing to close."""


def _choices(answers: Mapping[bytes, Sequence[bytes]], limit: int) -> Iterator[dict[bytes, int]]:
    """Reply choices per request, most likely first: every reply delivered, then some of them lost on the wire.

    Index ``len(answers[r])`` means "request ``r`` timed out" (its reply was generated but lost, so a session may
    have fallen back to another request).
    """
    requests = list(answers)
    n = 0
    for lost in range(len(requests) + 1):
        for dropped in itertools.combinations(requests, lost):
            kept = [r for r in requests if r not in dropped]
            for combo in itertools.product(*(range(len(answers[r])) for r in kept)):
                if n >= limit:
                    return
                n += 1
                choice = dict(zip(kept, combo, strict=True))
                choice.update({r: len(answers[r]) for r in dropped})
                yield choice


async def is_allowed(
    snapshot: BmsSnapshot,
    make_session: Callable[[Link], Session],
    answers: Mapping[bytes, Sequence[bytes]],
    *,
    address: int | None = None,
    kind: LinkKind = LinkKind.TCP,
    limit: int = 1024,
) -> bool:
    """Whether a fresh session can build exactly ``snapshot`` from clean replies in ``answers`` (any choice)."""
    for choice in _choices(answers, limit):
        try:
            candidate = await make_session(TruthReplayLink(answers, choice, kind)).read(address)
        except BmsError:
            continue
        if candidate == snapshot:
            return True
    return False
