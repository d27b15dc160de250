"""The energy meters of a battery bank: charged and discharged energy of the bank as a whole.

Integrated (by the library's :class:`~vendor_plugins.energy.EnergyIntegrator`) from the **bank's** power at each
bank update, not summed from the members' meters: one pack charging another inside a parallel bank is no energy in
or out of the battery, and the Energy dashboard wants what crossed the bank's terminals. Whenever the bank reports
no power (unavailable under policy ``all``, or a member without a power reading) the run ends, so a gap is never
bridged; under policy ``available`` a degraded bank integrates the power of the members that answered. A power
beyond the sum of the counted members' plausible power is never integrated. Totals Home Assistant restored after a
restart are continued from, as for a pack (:mod:`.energy_meters`).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from vendor_plugins.energy import EnergyIntegrator

from .energy_meters import ENERGY_DECIMALS, Direction


class BankEnergy:
    """Charged / discharged energy of one bank (see the module docstring)."""

    def __init__(self, max_gap: float) -> None:
        """Intervals between two bank updates longer than ``max_gap`` seconds are not integrated."""
        self._meter = EnergyIntegrator(max_gap)

    def add(self, timestamp: float, power: float | None, limit: float | None) -> None:
        """One bank update: its power (W, + = charging; ``None`` ends the run) at ``timestamp`` s."""
        self._meter.add(timestamp, power, limit)

    def kwh(self, direction: Direction) -> float:
        """The bank's total in kWh, rounded to :data:`~.energy_meters.ENERGY_DECIMALS` (what its sensor shows)."""
        meter = self._meter
        return round((meter.charged_wh if direction == "charged" else meter.discharged_wh) / 1000.0, ENERGY_DECIMALS)

    def restore(self, direction: Direction, kwh: object) -> None:
        """Continue from the total ``kwh`` Home Assistant restored (ignored unless a positive finite number)."""
        if not isinstance(kwh, (int, float, Decimal, str)):
            return
        try:
            restored_wh = float(kwh) * 1000.0
        except ValueError:
            return
        if restored_wh > 0 and math.isfinite(restored_wh):
            if direction == "charged":
                self._meter.charged_wh += restored_wh
            else:
                self._meter.discharged_wh += restored_wh

    def diagnostics(self) -> dict[str, Any]:
        """The integrator state, skipped intervals and refused samples."""
        meter = self._meter
        return meter.state().to_dict() | {"gaps": meter.gaps, "implausible": meter.implausible}


__all__ = ["BankEnergy"]
