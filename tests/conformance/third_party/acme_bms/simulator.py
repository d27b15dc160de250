"""A simulated ACME pack: every answer generated from its state; "live" runs a slow charge/discharge cycle."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from vendor_plugins.framing import FrameAssembler
from vendor_plugins.sim.base import Simulator

from . import codec

MODEL = "ACME-4S-SIM"
#: Cell voltage at 0 % and at 100 % state of charge (V).
EMPTY, FULL = 3.0, 3.45
#: Cell voltage above which the pack flags a cell overvoltage (V).
OVERVOLTAGE = 3.65
CAPACITY_AH = 50.0


@dataclass(slots=True)
class AcmeState:
    """What an ACME pack reports, at the protocol's resolution."""

    cell_voltages: list[float] = field(default_factory=lambda: [3.301, 3.305, 3.298, 3.302])
    current: float = -2.5
    soc: int = 60
    cycles: int = 17
    charge_mosfet: bool = True
    discharge_mosfet: bool = True
    temperatures: list[float] = field(default_factory=lambda: [21.5, 22.0])

    def status(self) -> codec.Status:
        """The status answer of this state."""
        flags = (codec.FLAG_CHARGE if self.charge_mosfet else 0) | (
            codec.FLAG_DISCHARGE if self.discharge_mosfet else 0
        )
        if max(self.cell_voltages) > OVERVOLTAGE:
            flags |= codec.FLAG_CELL_OVERVOLTAGE
        return codec.Status(
            voltage=round(sum(self.cell_voltages), 2),
            current=self.current,
            soc=self.soc,
            cycles=self.cycles,
            flags=flags,
            cells=tuple(self.cell_voltages),
            temperatures=tuple(self.temperatures),
        )


class AcmeSimulator(Simulator):
    """A virtual ACME pack."""

    vendor = "acme"

    def __init__(self, state: AcmeState | None = None, *, live: bool = False, seed: int | None = None) -> None:
        """Simulate ``state`` (a seeded random one when not given)."""
        self._random = random.Random(seed)
        self.state = state or self._seeded(seed)
        self.live = live
        self._soc = float(self.state.soc)
        self._clock = 0.0
        self.requests: list[bytes] = []

    def _seeded(self, seed: int | None) -> AcmeState:
        if seed is None:
            return AcmeState()
        rng = self._random
        return AcmeState(
            cell_voltages=[round(rng.uniform(3.25, 3.35), 3) for _ in range(4)],
            current=round(rng.uniform(-20, 20), 2),
            soc=rng.randint(5, 95),
            cycles=rng.randint(0, 2000),
            temperatures=[round(rng.uniform(5, 35), 1) for _ in range(2)],
        )

    def request_assembler(self) -> FrameAssembler:
        """ACME frames (requests and answers share the framing)."""
        return codec.AcmeAssembler()

    def handle(self, request: bytes) -> bytes | None:
        """Answer one request frame; silence for anything it does not understand."""
        self.requests.append(bytes(request))
        frame = codec.parse_frame(request)
        if frame.command == codec.CMD_STATUS and not frame.payload:
            return codec.build(codec.CMD_STATUS | codec.ANSWER, codec.encode_status(self.state.status()))
        if frame.command == codec.CMD_INFO and not frame.payload:
            return codec.build(codec.CMD_INFO | codec.ANSWER, MODEL.encode("ascii"))
        if frame.command == codec.CMD_SET_FETS and len(frame.payload) == 1:
            flags = frame.payload[0]
            self.state.charge_mosfet = bool(flags & codec.FLAG_CHARGE)
            self.state.discharge_mosfet = bool(flags & codec.FLAG_DISCHARGE)
            return codec.build(codec.CMD_SET_FETS | codec.ANSWER, frame.payload)
        return None

    def advance(self, seconds: float) -> None:
        """Live: the current follows a slow sine (an hour per cycle), SoC and cells follow the charge."""
        if not self.live or seconds <= 0:
            return
        self._clock += seconds
        state = self.state
        state.current = round(20 * math.sin(2 * math.pi * self._clock / 3600) + self._random.uniform(-0.5, 0.5), 2)
        self._soc = min(100.0, max(0.0, self._soc + 100 * state.current * seconds / 3600 / CAPACITY_AH))
        state.soc = round(self._soc)
        level = EMPTY + (FULL - EMPTY) * self._soc / 100
        state.cell_voltages = [round(level + self._random.uniform(-0.004, 0.004), 3) for _ in state.cell_voltages]
