"""Energy meters from power samples: charged and discharged energy of a pack, integrated over time.

:class:`EnergyIntegrator` turns a series of ``(timestamp, power)`` samples (power in W, **+ = charging** as in the
model) into two ever-increasing totals, charged Wh and discharged Wh — the counters Home Assistant's Energy
dashboard wants for a battery. It is pure (no clock, no I/O): the caller passes the timestamps.

* **Trapezoidal rule** between consecutive samples: power is assumed to change linearly between two readings.
  An interval where power changes sign is split at the interpolated zero crossing, so the part above zero counts
  as charged energy and the part below as discharged energy (never netted against each other).
* **Gaps are not bridged**: when two samples are more than ``max_gap`` seconds apart (a pack that did not answer,
  Home Assistant stopped, the clock jumped) — or the time went backwards — the interval is skipped and integration
  restarts at the new sample. :meth:`EnergyIntegrator.gap` ends the current run explicitly (the pack went
  unavailable); an unknown power (``None``) does the same.
* **Implausible power is never counted**: a sample whose |power| exceeds the ``limit`` the caller passes (the
  pack's plausible power, :func:`vendor_plugins.plausibility.power_limit`) ends the run like a gap and is counted in
  ``implausible``; so one corrupt reading adds nothing, neither into nor out of it (a total never goes back down).
* **Restorable**: :meth:`EnergyIntegrator.state` returns an :class:`EnergyState` (JSON-ready through
  :meth:`EnergyState.to_dict`) from which :meth:`EnergyIntegrator.restore` (or the constructor) continues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Seconds per hour (W·s -> Wh).
_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class EnergyState:
    """Everything an integrator needs to continue: the totals and the last sample of the current run."""

    charged_wh: float = 0.0
    discharged_wh: float = 0.0
    #: Time of the last sample (seconds, the caller's clock, e.g. a Unix timestamp); ``None`` outside a run.
    last_time: float | None = None
    #: Power of the last sample (W, + = charging); ``None`` outside a run.
    last_power: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready form."""
        return {
            "charged_wh": self.charged_wh,
            "discharged_wh": self.discharged_wh,
            "last_time": self.last_time,
            "last_power": self.last_power,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyState:
        """Inverse of :meth:`to_dict`; raises :class:`ValueError` on negative or non-finite totals."""
        charged = float(data.get("charged_wh") or 0.0)
        discharged = float(data.get("discharged_wh") or 0.0)
        if not (math.isfinite(charged) and math.isfinite(discharged)) or charged < 0 or discharged < 0:
            raise ValueError(f"invalid energy totals {charged!r} / {discharged!r}")
        last_time = data.get("last_time")
        last_power = data.get("last_power")
        if last_time is None or last_power is None:
            return cls(charged, discharged)
        return cls(charged, discharged, float(last_time), float(last_power))


def trapezoid(t0: float, p0: float, t1: float, p1: float) -> tuple[float, float]:
    """Charged and discharged energy (Wh, both >= 0) of power going linearly from ``p0`` to ``p1`` over [t0, t1]."""
    dt = t1 - t0
    if dt <= 0:
        return 0.0, 0.0
    if p0 >= 0 and p1 >= 0:
        return (p0 + p1) / 2 * dt / _SECONDS_PER_HOUR, 0.0
    if p0 <= 0 and p1 <= 0:
        return 0.0, -(p0 + p1) / 2 * dt / _SECONDS_PER_HOUR
    # Sign change: split at the zero crossing of the linear interpolation.
    crossing = min(dt, dt * abs(p0) / (abs(p0) + abs(p1)))
    first = abs(p0) / 2 * crossing / _SECONDS_PER_HOUR
    second = abs(p1) / 2 * max(0.0, dt - crossing) / _SECONDS_PER_HOUR
    return (first, second) if p0 > 0 else (second, first)


class EnergyIntegrator:
    """Charged / discharged energy of one pack from its power readings (see the module docstring)."""

    def __init__(self, max_gap: float, state: EnergyState | None = None) -> None:
        """Integrate intervals up to ``max_gap`` seconds long; continue from ``state`` when given."""
        if max_gap <= 0:
            raise ValueError("max_gap must be positive")
        self.max_gap = max_gap
        self.charged_wh = 0.0
        self.discharged_wh = 0.0
        self._last_time: float | None = None
        self._last_power: float | None = None
        #: Intervals skipped because they were too long or went backwards (diagnostics).
        self.gaps = 0
        #: Samples refused because their power exceeded the plausible limit (diagnostics).
        self.implausible = 0
        if state is not None:
            self.restore(state)

    # --- feeding ---------------------------------------------------------------------------------
    def add(self, timestamp: float, power: float | None, limit: float | None = None) -> None:
        """One sample: ``power`` W (+ = charging) at ``timestamp`` s; ``None`` power ends the current run.

        With ``limit`` (W), a sample whose |power| exceeds it ends the run too and is not integrated.
        """
        if power is None or not math.isfinite(power):
            self.gap()
            return
        if limit is not None and abs(power) > limit:
            self.implausible += 1
            self.gap()
            return
        last_time, last_power = self._last_time, self._last_power
        self._last_time, self._last_power = timestamp, power
        if last_time is None or last_power is None:
            return
        dt = timestamp - last_time
        if dt == 0:  # the same instant again: keep the newer power, nothing to integrate
            return
        if dt < 0 or dt > self.max_gap:  # clock went backwards, or a gap: start a new run here
            self.gaps += 1
            return
        charged, discharged = trapezoid(last_time, last_power, timestamp, power)
        self.charged_wh += charged
        self.discharged_wh += discharged

    def gap(self) -> None:
        """End the current run: the next sample starts a new one (nothing is integrated across)."""
        self._last_time = self._last_power = None

    # --- reading and restoring ---------------------------------------------------------------------
    @property
    def charged_kwh(self) -> float:
        """Energy put into the pack, kWh."""
        return self.charged_wh / 1000.0

    @property
    def discharged_kwh(self) -> float:
        """Energy taken out of the pack, kWh."""
        return self.discharged_wh / 1000.0

    def state(self) -> EnergyState:
        """A snapshot to persist."""
        return EnergyState(self.charged_wh, self.discharged_wh, self._last_time, self._last_power)

    def restore(self, state: EnergyState) -> None:
        """Continue from ``state`` (totals and, when present, its last sample; a long gap is still not bridged)."""
        self.charged_wh = state.charged_wh
        self.discharged_wh = state.discharged_wh
        self._last_time = state.last_time
        self._last_power = state.last_power


__all__ = ["EnergyIntegrator", "EnergyState", "trapezoid"]
