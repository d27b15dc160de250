"""Energy meters (``energy_meters.py``): the one owner of the charged / discharged totals, without Home Assistant.

Readings integrate (split where the power crosses zero), a silent pack ends the run, bad restored totals are
ignored and good ones add up; the diagnostics know only the entry's packs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from homeassistant.util import dt as dt_util

from custom_components.bms_gateway.energy_meters import EnergyMeters
from custom_components.bms_gateway.poll import Poll
from vendor_plugins.errors import DeviceTimeout
from vendor_plugins.model import BmsSnapshot


def test_energy_meters_integrate_gap_and_restore() -> None:
    """The one owner of the totals: readings integrate, a silent pack ends the run, restored totals add up."""
    meters = EnergyMeters([None], max_gap=60.0)
    start = dt_util.utcnow()

    def poll(seconds: float, power: float | None) -> Poll:
        when = start + timedelta(seconds=seconds)
        if power is None:
            return Poll(when, {}, {None: DeviceTimeout("silent")}, 1)
        return Poll(when, {None: BmsSnapshot(power=power)}, {}, 0)

    for seconds, power in ((0, 360.0), (10, 360.0), (20, None), (30, 360.0), (40, -720.0)):
        meters.poll_done(poll(seconds, power))
    # 10 s at 360 W (1 Wh); the silent poll ends the run, so 20-30 s counts nothing; then 360 W -> -720 W over 10 s
    # crosses zero after 10/3 s: 360 W / 2 for 10/3 s charged (1/6 Wh), 720 W / 2 for 20/3 s discharged (2/3 Wh).
    assert meters.wh(None, "charged") == pytest.approx(1 + 1 / 6)
    assert meters.wh(None, "discharged") == pytest.approx(2 / 3)
    for bad in (None, "unknown", "nan", "inf", -1.0, 0, [1]):
        meters.restore(None, "charged", bad)
    assert meters.wh(None, "charged") == pytest.approx(1 + 1 / 6)
    meters.restore(None, "charged", "12.5")
    meters.restore(None, "discharged", 7.25)
    assert meters.kwh(None, "charged") == round(12.5 + (1 + 1 / 6) / 1000, 3)
    assert meters.kwh(None, "discharged") == round(7.25 + (2 / 3) / 1000, 3)
    diagnostics = meters.diagnostics(None)
    assert diagnostics is not None and diagnostics["gaps"] == 0
    assert diagnostics["implausible"] == 0
    assert meters.diagnostics(1) is None


def test_an_implausible_reading_feeds_no_meter() -> None:
    """Issue 21: the hostile reading is a failed read (ImplausibleValueError), so the meters see a gap, not power."""
    from vendor_plugins.errors import ImplausibleValueError

    meters = EnergyMeters([None], max_gap=60.0)
    start = dt_util.utcnow()
    normal = BmsSnapshot(voltage=53.0, current=-10.0, full_capacity=100.0)
    with pytest.raises(ImplausibleValueError) as refused:
        BmsSnapshot(voltage=53.0, current=-10.0, power=-214_745.0, full_capacity=100.0)
    meters.poll_done(Poll(start, {None: normal}, {}, 0))
    meters.poll_done(Poll(start + timedelta(seconds=32), {}, {None: refused.value}, 1))
    meters.poll_done(Poll(start + timedelta(seconds=64), {None: normal}, {}, 0))
    assert meters.wh(None, "discharged") == 0.0 and meters.wh(None, "charged") == 0.0
