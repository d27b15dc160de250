"""Property tests over random device states: a state the model refuses as implausible must be refused by the codec.

Simulator states drawn from a field's whole encodable range include physically impossible ones (a 0.01 Ah pack
carrying 50 A, 150 °C+). The model refuses those (``vendor_plugins.plausibility``), so a round-trip property reads:
the decoded snapshot is the state when the state is plausible, and decoding raises ``ImplausibleValueError`` when not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from vendor_plugins.errors import ImplausibleValueError
from vendor_plugins.model import BmsSnapshot, Temperature, TemperatureKind


def plausible(*, temperatures: Iterable[float] = (), cell_voltages: Iterable[float] = (), **values: Any) -> bool:
    """True when a snapshot of these values (temperatures as plain °C) passes the model's plausibility check."""
    temps = tuple(Temperature(f"t{n}", TemperatureKind.CELL, c) for n, c in enumerate(temperatures))
    try:
        BmsSnapshot(temperatures=temps, cell_voltages=tuple(cell_voltages), **values)
    except ImplausibleValueError:
        return False
    return True


def decoded_unless_refused(decode: Callable[[], BmsSnapshot], **state: Any) -> BmsSnapshot | None:
    """``decode()`` when the state is plausible; else assert it raises ``ImplausibleValueError`` and return None."""
    if plausible(**state):
        return decode()
    with pytest.raises(ImplausibleValueError):
        decode()
    return None
