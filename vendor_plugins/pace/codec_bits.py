"""Status words → alarms, warnings and named ``raw`` flags, through the bit tables of :mod:`.table` (both PACE codecs).

The inverse (:func:`encode_flags`) is what the simulators use, so a state's alarms round-trip through the same table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model import Alarm
from .table import BitTable, Severity


@dataclass(slots=True)
class Flags:
    """Collected decode of several status words."""

    alarms: set[Alarm] = field(default_factory=set)
    warnings: set[Alarm] = field(default_factory=set)
    raw: dict[str, int | str] = field(default_factory=dict)

    def add(self, value: int, table: BitTable, severity: Severity) -> None:
        """Decode the set bits of ``value``: mapped ones by ``severity``, the others into ``raw`` by name."""
        for bit, meaning in table.items():
            if not value >> bit & 1:
                continue
            if meaning.alarm is None or severity is Severity.STATUS:
                self.raw[meaning.name] = 1
            elif severity is Severity.ALARM:
                self.alarms.add(meaning.alarm)
            else:
                self.warnings.add(meaning.alarm)


def encode_flags(alarms: Iterable[Alarm], table: BitTable, names: Iterable[str] = ()) -> int:
    """The word whose set bits are the ``alarms`` this table maps, plus the bits named in ``names``."""
    wanted = set(alarms)
    named = set(names)
    value = 0
    for bit, meaning in table.items():
        if (meaning.alarm is not None and meaning.alarm in wanted) or meaning.name in named:
            value |= 1 << bit
    return value


def bit_numbers(value: int, first: int = 1) -> frozenset[int]:
    """Positions of the set bits of ``value``, counted from ``first`` (balancing: 1-based cell numbers)."""
    return frozenset(first + n for n in range(value.bit_length()) if value >> n & 1)
