"""The energy meters of an entry's packs: charged and discharged energy, integrated from every reading.

:class:`EnergyMeters` is the one owner of the totals: it follows the polls (a :class:`~.poll.PollListener`: every
reading's power is integrated by the library's :class:`~vendor_plugins.energy.EnergyIntegrator`; a pack that did not
answer — an implausible reading is a failed read, ``ImplausibleValueError`` — ends the current run, so a gap is never
bridged, and a power beyond the pack's plausible limit is never integrated), takes the totals Home Assistant restored
after a restart (:meth:`EnergyMeters.restore`, called by the meter sensors with their last state) and is read by those
sensors (:meth:`EnergyMeters.kwh`). Restoring adds the last known total to what was integrated since the start, so a
meter continues and never goes backwards; the restart itself is a gap and is not integrated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final, Literal

from vendor_plugins.energy import EnergyIntegrator
from vendor_plugins.plausibility import power_limit

from .poll import PackAddress, Poll

type Direction = Literal["charged", "discharged"]

#: Meters publish kWh rounded to this many decimals (1 Wh): a sensor writes state only when that changes.
ENERGY_DECIMALS: Final = 3


class EnergyMeters:
    """Charged / discharged energy of every pack of one entry (see the module docstring)."""

    def __init__(self, packs: Iterable[PackAddress], max_gap: float) -> None:
        """One integrator per pack; intervals longer than ``max_gap`` seconds are not integrated."""
        self._meters = {pack: EnergyIntegrator(max_gap) for pack in packs}

    def poll_done(self, poll: Poll) -> None:
        """Integrate each reading's power; a pack that did not answer ends its current run."""
        meters = self._meters
        timestamp = poll.time.timestamp()
        for pack, snapshot in poll.readings.items():
            meter = meters.get(pack)
            if meter is not None:
                meter.add(timestamp, snapshot.power, power_limit(snapshot))
        for pack in poll.errors:
            meter = meters.get(pack)
            if meter is not None:
                meter.gap()

    def wh(self, pack: PackAddress, direction: Direction) -> float:
        """The pack's total in Wh (unrounded)."""
        meter = self._meters[pack]
        return meter.charged_wh if direction == "charged" else meter.discharged_wh

    def kwh(self, pack: PackAddress, direction: Direction) -> float:
        """The pack's total in kWh, rounded to :data:`ENERGY_DECIMALS` (what its sensor shows; read every poll)."""
        meter = self._meters[pack]
        return round((meter.charged_wh if direction == "charged" else meter.discharged_wh) / 1000.0, ENERGY_DECIMALS)

    def restore(self, pack: PackAddress, direction: Direction, kwh: object) -> None:
        """Continue from the total ``kwh`` Home Assistant restored (ignored unless a positive finite number)."""
        if not isinstance(kwh, (int, float, Decimal, str)):
            return
        try:
            restored_wh = float(kwh) * 1000.0
        except ValueError:
            return
        if restored_wh > 0 and math.isfinite(restored_wh):
            meter = self._meters[pack]
            if direction == "charged":
                meter.charged_wh += restored_wh
            else:
                meter.discharged_wh += restored_wh

    def diagnostics(self, pack: PackAddress) -> dict[str, Any] | None:
        """The pack's integrator state, skipped intervals and refused (implausible) samples, for the diagnostics."""
        meter = self._meters.get(pack)
        if meter is None:
            return None
        return meter.state().to_dict() | {"gaps": meter.gaps, "implausible": meter.implausible}


__all__ = ["ENERGY_DECIMALS", "Direction", "EnergyMeters"]
