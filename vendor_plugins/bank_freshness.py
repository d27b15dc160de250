"""Which members of a battery bank may be counted this time: freshness of the members' readings (sans-IO).

A bank is built from its members' latest readings, each with the time it was taken (:class:`MemberReading`; any
clock in seconds, the caller passes ``now`` on the same clock). A reading is **fresh** when the member answered
(a snapshot) and the reading is at most ``max_age`` seconds old; a member with no snapshot, no time or an older
reading is **missing**. Readings older than ``max_age`` are never mixed with fresh ones.

The policy says what a bank with missing members reports (:func:`select`):

* ``all`` — only when every member is fresh; otherwise nothing (the bank is unavailable, naming the missing);
* ``available`` — from the fresh members; the bank is then *degraded* and names the missing ones. With no fresh
  member at all it reports nothing either.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from .model import BmsSnapshot

#: A member's id: its address on one bus (``--address all``), or an ``"entry:address"`` string across buses.
type MemberId = int | str


class FreshnessPolicy(enum.StrEnum):
    """What a bank reports while some member is missing or stale."""

    ALL = "all"
    AVAILABLE = "available"


@dataclass(frozen=True, slots=True)
class MemberReading:
    """A member's latest snapshot and when it was taken (``None``: the member never answered)."""

    member: MemberId
    snapshot: BmsSnapshot | None
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome of the freshness check, in member order."""

    members: tuple[MemberId, ...]
    fresh: tuple[tuple[MemberId, BmsSnapshot], ...]
    missing: tuple[MemberId, ...]
    #: Whether the bank reports values at all under the policy.
    reports: bool

    @property
    def degraded(self) -> bool:
        """Some member is missing (the values, if any, come from part of the bank)."""
        return bool(self.missing)


def is_fresh(reading: MemberReading, now: float, max_age: float) -> bool:
    """A snapshot taken at most ``max_age`` seconds before ``now`` (a time after ``now`` counts as fresh)."""
    return reading.snapshot is not None and reading.at is not None and now - reading.at <= max_age


def select(readings: Sequence[MemberReading], policy: FreshnessPolicy, *, now: float, max_age: float) -> Selection:
    """Split ``readings`` into fresh members and missing ones and decide whether the bank reports."""
    if max_age < 0:
        raise ValueError(f"max_age must not be negative, not {max_age}")
    members = tuple(r.member for r in readings)
    if len(set(members)) != len(members):
        raise ValueError(f"a bank member is listed twice: {list(members)}")
    fresh: list[tuple[MemberId, BmsSnapshot]] = []
    missing: list[MemberId] = []
    for reading in readings:
        if reading.snapshot is not None and is_fresh(reading, now, max_age):
            fresh.append((reading.member, reading.snapshot))
        else:
            missing.append(reading.member)
    reports = bool(fresh) and (policy is FreshnessPolicy.AVAILABLE or not missing)
    return Selection(members, tuple(fresh), tuple(missing), reports)
