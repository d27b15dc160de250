"""Battery-bank rules for what points at a member: bank-wide cells, temperatures and MOSFET states (sans-IO).

Used by :mod:`vendor_plugins.bank` (the rules are written down there). Each function takes the counted members'
snapshots in member order and returns keyword values of :class:`~vendor_plugins.bank.BankSnapshot`; a value no
member reports is ``None``. On a tie the first member (then the lowest cell, the first sensor) is the one named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .bank_freshness import MemberId
from .model import BmsSnapshot, Temperature

type Members = Sequence[tuple[MemberId, BmsSnapshot]]


def member_key(member: MemberId) -> tuple[int, int, str]:
    """A sort key for member ids that may mix addresses and ``"entry:address"`` strings (numbers first)."""
    return (0, member, "") if isinstance(member, int) else (1, 0, member)


@dataclass(frozen=True, slots=True)
class CellRef:
    """One cell of one member (``cell`` is 1-based)."""

    pack: MemberId
    cell: int

    def sort_key(self) -> tuple[tuple[int, int, str], int]:
        """Members in id order, then cells."""
        return member_key(self.pack), self.cell

    def __lt__(self, other: CellRef) -> bool:
        """Ordered by member, then cell."""
        return self.sort_key() < other.sort_key()

    def to_dict(self) -> dict[str, Any]:
        """``{"pack": …, "cell": n}`` (INTERFACES.md §5)."""
        return {"pack": self.pack, "cell": self.cell}


@dataclass(frozen=True, slots=True)
class SensorRef:
    """One temperature sensor of one member, by its name in the member's snapshot."""

    pack: MemberId
    name: str

    def to_dict(self) -> dict[str, Any]:
        """``{"pack": …, "name": "cell_1"}``."""
        return {"pack": self.pack, "name": self.name}


@dataclass(frozen=True, slots=True)
class MemberTemperature:
    """A member's temperature reading, with the member it comes from."""

    pack: MemberId
    temperature: Temperature

    def to_dict(self) -> dict[str, Any]:
        """The pack temperature shape (name, kind, celsius) plus ``pack``."""
        t = self.temperature
        return {"pack": self.pack, "name": t.name, "kind": str(t.kind), "celsius": t.celsius}


def cells(members: Members) -> dict[str, Any]:
    """Bank-wide lowest / highest cell (with where), the average over every cell, and the spread."""
    every = [(volts, CellRef(m, n)) for m, s in members for n, volts in enumerate(s.cell_voltages, 1)]
    if not every:
        return {}
    low = min(every, key=lambda c: c[0])
    high = max(every, key=lambda c: c[0])
    volts = [v for v, _ in every]
    average = min(max(round(sum(volts) / len(volts), 4), low[0]), high[0])
    return {
        "cell_min": low[0],
        "cell_max": high[0],
        "cell_average": average,
        "cell_delta": round(high[0] - low[0], 4),
        "cell_min_at": low[1],
        "cell_max_at": high[1],
    }


def temperatures(members: Members) -> dict[str, Any]:
    """Every member's sensors, and the lowest / highest reading with its sensor."""
    every = tuple(MemberTemperature(m, t) for m, s in members for t in s.temperatures)
    if not every:
        return {}
    low = min(every, key=lambda t: t.temperature.celsius)
    high = max(every, key=lambda t: t.temperature.celsius)
    return {
        "temperatures": every,
        "temperature_min": low.temperature.celsius,
        "temperature_max": high.temperature.celsius,
        "temperature_min_at": SensorRef(low.pack, low.temperature.name),
        "temperature_max_at": SensorRef(high.pack, high.temperature.name),
    }


def mosfet(members: Members, name: Literal["charge_mosfet", "discharge_mosfet"]) -> dict[str, Any]:
    """All on → True; some reported off → False and which; otherwise (unknown somewhere, none off) ``None``."""
    states = [(m, getattr(s, name)) for m, s in members]
    off = tuple(m for m, on in states if on is False)
    if off:
        state: bool | None = False
    elif states and all(on is True for _, on in states):
        state = True
    else:
        state = None
    return {name: state, f"{name}_off": off}
