"""One pack physics for every vendor's simulator: a compressed solar day, CC/CV charging, LFP cells, balancing.

Every live simulator moves its battery with :class:`PackPhysics` and only translates the result into its own state
(registers, units, rounding), so all vendors' packs behave alike and the way a real one does:

* **The day**: a sine with a period of :attr:`PackPhysics.day_seconds` (10 minutes) asks for charge by "day"
  (up to :attr:`~PackPhysics.charge_current`) and discharge by "night" (up to
  :attr:`~PackPhysics.discharge_current`, smaller: the sun brings more than the night uses, so the pack gets full);
  charge is counted :attr:`~PackPhysics.time_scale` times faster than real time so the SoC visibly moves.
* **CC/CV charging**: each cell is an LFP cell (open-circuit voltage from its own state of charge,
  :data:`LFP_OCV`) with an internal resistance; the charger holds the highest cell at
  :attr:`~PackPhysics.cv_cell_voltage`, so the current tapers to ≈0 A as the pack becomes full. Discharge stops
  short of :attr:`~PackPhysics.cutoff_cell_voltage` the same way.
* **SoC agrees with the cells**: cell voltages are computed from the state of charge (plus the IR drop of the
  current and a millivolt of measurement noise). The BMS's own full-charge rule applies: 100 % only once the
  current has tapered below :attr:`~PackPhysics.tail_current` at the CV voltage (the BMS's calibration to full);
  until then it shows at most 99 % (a pack still charging at 20 A is not full).
* **Balancing**: a cell balances only while it is at or above :attr:`~PackPhysics.balance_start` and at least
  :attr:`~PackPhysics.balance_delta` above the pack's lowest cell. It starts only when it exceeds both by a margin
  (:attr:`~PackPhysics.balance_margin`) and, once stopped, may not start again for
  :attr:`~PackPhysics.balance_rest` seconds — so the balancer does not toggle every poll.

Cells differ by a fixed state-of-charge offset each (drawn from the seed), which is what makes the top cells run
ahead at the end of a charge, as in a real pack.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field

#: LFP open-circuit voltage per cell (state of charge 0..1 → volts), interpolated linearly.
LFP_OCV: tuple[tuple[float, float], ...] = (
    (0.00, 2.90),
    (0.05, 3.15),
    (0.10, 3.22),
    (0.20, 3.26),
    (0.30, 3.28),
    (0.50, 3.30),
    (0.70, 3.32),
    (0.85, 3.34),
    (0.90, 3.35),
    (0.95, 3.37),
    (0.98, 3.40),
    (0.995, 3.45),
    (1.00, 3.50),
)
_OCV_SOC = [soc for soc, _ in LFP_OCV]

#: Longest step integrated at once (simulated seconds): a long ``advance`` is split so the taper cannot overshoot.
MAX_STEP = 1.0


def ocv(soc: float) -> float:
    """The open-circuit voltage of an LFP cell at ``soc`` (0..1, clamped)."""
    soc = min(1.0, max(0.0, soc))
    i = bisect.bisect_right(_OCV_SOC, soc)
    if i >= len(LFP_OCV):
        return LFP_OCV[-1][1]
    (s0, v0), (s1, v1) = LFP_OCV[i - 1], LFP_OCV[i]
    return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)


@dataclass(slots=True)
class PackPhysics:
    """The battery behind a live simulator (see the module docstring)."""

    #: Number of cells in series.
    cells: int
    #: Capacity in Ah (what 100 % holds).
    capacity: float
    #: State of charge, 0..1.
    soc: float
    seed: int | None = None
    #: Most charge current the day asks for (A) and most discharge current the night asks for (A).
    charge_current: float = 20.0
    discharge_current: float = 12.0
    #: Length of the compressed day (s) and where in it this pack starts (s; packs on a bus differ).
    day_seconds: float = 600.0
    phase: float = 0.0
    #: Charge is counted this many times faster than real time.
    time_scale: float = 60.0
    #: Charger voltage per cell (CV phase) and the discharge cut-off per cell (V).
    cv_cell_voltage: float = 3.50
    cutoff_cell_voltage: float = 2.95
    #: Internal resistance of one cell of a 100 Ah pack (Ω; scaled by 100 Ah / capacity).
    resistance_100ah: float = 0.006
    #: Current below which the charge counts as finished (A; 100 % is shown only below it).
    tail_current: float = 1.0
    #: Balancer: start voltage and the least difference to the lowest cell (V).
    balance_start: float = 3.40
    balance_delta: float = 0.020
    #: Balancer hysteresis: a cell starts balancing only this far above both thresholds (V)...
    balance_margin: float = 0.005
    #: ... and not again within this many seconds after it stopped.
    balance_rest: float = 120.0
    #: Spread of the cells' state-of-charge offsets (±, fraction of capacity).
    cell_spread: float = 0.01
    #: Measurement noise of a cell voltage (±V) and of the current (± this fraction, at most ±0.05 A; none at or
    #: below the tail current, where a BMS shows the current as it is).
    noise: float = 0.001
    current_noise: float = 0.01

    #: Where the pack is now (read these after :meth:`advance`): the current (A, + = charging) and as measured.
    current: float = 0.0
    measured_current: float = 0.0
    cell_voltages: list[float] = field(default_factory=list)
    balancing: set[int] = field(default_factory=set)
    clock: float = 0.0
    #: The last charge finished (tail current at the CV voltage) and no discharge followed yet.
    full: bool = False
    _offsets: list[float] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)
    _stopped_at: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Draw the cells' offsets from the seed and compute the resting voltages."""
        self._rng = random.Random(self.seed)
        offsets = [self._rng.uniform(-self.cell_spread, self.cell_spread) for _ in range(self.cells)]
        mean = sum(offsets) / len(offsets) if offsets else 0.0
        self._offsets = [o - mean for o in offsets]
        self.soc = min(1.0, max(0.0, self.soc))
        self.cell_voltages = self._voltages(0.0)

    # --- derived values ------------------------------------------------------------------------------------------
    @property
    def resistance(self) -> float:
        """Internal resistance of one cell (Ω)."""
        return self.resistance_100ah * 100.0 / self.capacity if self.capacity > 0 else 0.0

    @property
    def shown_soc(self) -> float:
        """The state of charge a BMS shows (0..1): 1 once the charge finished, below 0.995 until then."""
        return 1.0 if self.full else min(self.soc, 0.994)

    @property
    def remaining(self) -> float:
        """Remaining charge (Ah), consistent with :attr:`soc_percent` (remaining / capacity)."""
        return self.capacity * self.shown_soc

    @property
    def soc_percent(self) -> int:
        """The SoC a BMS shows (%): 100 only once the charge finished (the current tapered below the tail)."""
        return min(100, max(0, round(100 * self.shown_soc)))

    def cell_soc(self, index: int) -> float:
        """State of charge of cell ``index`` (0-based)."""
        return min(1.0, max(0.0, self.soc + self._offsets[index]))

    def demand(self) -> float:
        """The current the day asks for now (A, + = charging)."""
        wave = math.sin(2 * math.pi * (self.clock + self.phase) / self.day_seconds)
        return wave * (self.charge_current if wave > 0 else self.discharge_current)

    # --- moving on -----------------------------------------------------------------------------------------------
    def advance(self, seconds: float, *, charge: bool = True, discharge: bool = True) -> None:
        """Move ``seconds`` of simulated time on; ``charge``/``discharge``: whether the MOSFETs let current flow."""
        while seconds > 1e-9:
            step = min(seconds, MAX_STEP)
            seconds -= step
            self._step(step, charge, discharge)
        self.cell_voltages = self._voltages(self.current, noisy=True)
        self.measured_current = self._measured(self.current)
        self._balance()

    def _measured(self, amps: float) -> float:
        if abs(amps) <= self.tail_current:
            return amps
        spread = min(0.05, self.current_noise * abs(amps))
        return amps + self._rng.uniform(-spread, spread)

    def _step(self, seconds: float, charge: bool, discharge: bool) -> None:
        self.clock += seconds
        amps = self._limited(self.demand())
        if (amps > 0 and not charge) or (amps < 0 and not discharge):
            amps = 0.0
        self.current = amps
        self.soc = min(1.0, max(0.0, self.soc + amps * seconds * self.time_scale / 3600.0 / self.capacity))
        top = max((self.cell_soc(i) for i in range(self.cells)), default=self.soc)
        if 0 <= amps <= self.tail_current and ocv(top) + amps * self.resistance >= self.cv_cell_voltage - 0.01:
            self.full = True  # the charge finished at the CV voltage: the BMS calibrates its SoC to 100 %
        elif amps < -self.tail_current:
            self.full = False

    def _limited(self, amps: float) -> float:
        """``amps`` as the CC/CV charger and the low-voltage cut-off allow it."""
        r = self.resistance
        if amps > 0:
            highest = max(ocv(self.cell_soc(i)) for i in range(self.cells))
            room = max(0.0, (self.cv_cell_voltage - highest) / r) if r > 0 else amps
            return min(amps, room)
        if amps < 0:
            lowest = min(ocv(self.cell_soc(i)) for i in range(self.cells))
            room = max(0.0, (lowest - self.cutoff_cell_voltage) / r) if r > 0 else -amps
            return -min(-amps, room)
        return 0.0

    def _voltages(self, amps: float, *, noisy: bool = False) -> list[float]:
        r = self.resistance
        out = []
        for i in range(self.cells):
            noise = self._rng.uniform(-self.noise, self.noise) if noisy else 0.0
            out.append(round(ocv(self.cell_soc(i)) + amps * r + noise, 3))
        return out

    def _balance(self) -> None:
        """Start and stop balancing cells (the rules in the module docstring)."""
        if not self.cell_voltages:
            self.balancing = set()
            return
        low = min(self.cell_voltages)
        now = set()
        for n, volts in enumerate(self.cell_voltages, 1):
            if n in self.balancing:
                keep = volts >= self.balance_start and volts - low >= self.balance_delta
                if keep:
                    now.add(n)
                else:
                    self._stopped_at[n] = self.clock
                continue
            rested = self.clock - self._stopped_at.get(n, -math.inf) >= self.balance_rest
            start = (
                volts >= self.balance_start + self.balance_margin
                and volts - low >= self.balance_delta + self.balance_margin
            )
            if start and rested:
                now.add(n)
        self.balancing = now
