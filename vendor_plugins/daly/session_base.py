"""The contract of one DALY protocol family's read and control sequence over a link.

A :class:`FamilyReader` speaks exactly one family (``a5``, ``d2`` or ``p81``). The session (:mod:`.session`) picks
one — from the user's option or by probing — and delegates to it. Every family exchanges frames, so a reader takes
its link as a byte link once, when it is made (:class:`~vendor_plugins.errors.UnsupportedError` for a register
link). Probes are read-only and say only whether a valid answer came back; a link that cannot connect at all is not
a "no" but an error, raised as such.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from typing import Final

from ..model import BmsSnapshot, DeviceInfo, Switch
from ..transports.base import ByteLink, Link, as_byte_link

#: How many times, and how far apart, control reads the state back before calling it not confirmed.
CONFIRM_ATTEMPTS: Final = 3
CONFIRM_INTERVAL: Final = 0.25
#: Shortest per-request wait while detecting (s): a D2 status answer takes 0.14 s at 9600 baud.
MIN_DETECT_WAIT: Final = 0.5


def detect_wait(timeout: float, attempts: int) -> float:
    """Per-request wait while detecting: the link's timeout shared by the attempts, at least :data:`MIN_DETECT_WAIT`.

    A silent link (the wrong vendor, a dead pack) is thus reported after about the configured timeout, not after
    one full timeout per family or host address tried (8 s for DALY's four at the default 2 s).
    """
    return max(timeout / max(attempts, 1), min(timeout, MIN_DETECT_WAIT))


@contextlib.contextmanager
def shared_timeout(link: Link, attempts: int) -> Iterator[None]:
    """While the block runs, ``link`` waits :func:`detect_wait` per request (its own timeout again afterwards)."""
    configured = link.timeout
    link.timeout = detect_wait(configured, attempts)
    try:
        yield
    finally:
        link.timeout = configured


class FamilyReader(abc.ABC):
    """One family's requests over one link."""

    #: ``a5``, ``d2`` or ``p81``.
    family: str

    def __init__(self, link: Link) -> None:
        """Talk over ``link``, a byte link (not owned: the caller closes it)."""
        self.link: ByteLink = as_byte_link(link)

    @property
    def label(self) -> str:
        """How this reader names itself in messages (``A5 at host 0x80``, ``D2``)."""
        return self.family.upper()

    @abc.abstractmethod
    async def probe(self) -> bool:
        """Read-only: whether the device answers this family validly (no answer / a wrong one is ``False``)."""

    @abc.abstractmethod
    async def read(self) -> BmsSnapshot:
        """One complete snapshot."""

    @abc.abstractmethod
    async def device_info(self) -> DeviceInfo:
        """What the device says about itself."""

    @abc.abstractmethod
    async def set_switch(self, switch: Switch, on: bool) -> BmsSnapshot:
        """Switch a MOSFET and return the snapshot that confirms it (control was already allowed by the session)."""
