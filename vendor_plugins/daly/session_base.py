"""The contract of one DALY protocol family's read and control sequence over a link.

A :class:`FamilyReader` speaks exactly one family (``a5``, ``d2`` or ``p81``). The session (:mod:`.session`) picks
one — from the user's option or by probing — and delegates to it. Every family exchanges frames, so a reader takes
its link as a byte link once, when it is made (:class:`~vendor_plugins.errors.UnsupportedError` for a register
link). Probes are read-only and say only whether a valid answer came back; a link that cannot connect at all is not
a "no" but an error, raised as such.
"""

from __future__ import annotations

import abc
from typing import Final

from ..model import BmsSnapshot, DeviceInfo, Switch
from ..transports.base import ByteLink, Link, as_byte_link

#: How many times, and how far apart, control reads the state back before calling it not confirmed.
CONFIRM_ATTEMPTS: Final = 3
CONFIRM_INTERVAL: Final = 0.25


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
