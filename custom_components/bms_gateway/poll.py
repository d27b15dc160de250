"""What the coordinator tells the pieces that follow the polls: one :class:`Poll` result at a time.

The coordinator reads the packs; what depends on the sequence of readings keeps its own state and is told about each
result through :class:`PollListener`: the energy meters (:mod:`.energy`), the repair issues (:mod:`.repair_watch`)
and the background bus check (:mod:`.bus_growth`). None of them imports the coordinator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vendor_plugins.errors import BmsError
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.reader import PackAddress

type BmsData = dict[PackAddress, BmsSnapshot]


@dataclass(slots=True)
class Poll:
    """The outcome of one poll (every pack asked), or a pack's reading taken after a control write.

    Read-only for listeners (not frozen only because a frozen dataclass costs three times as much to make, on
    every poll).
    """

    #: When the readings were taken.
    time: datetime
    #: The packs that answered, with their readings.
    readings: Mapping[PackAddress, BmsSnapshot]
    #: The packs that did not answer, with the reason (empty for a reading after a control write).
    errors: Mapping[PackAddress, BmsError]
    #: Polls in a row in which no pack answered, this one included (0: some pack answered).
    failed_in_a_row: int
    #: Every pack was asked (a poll); ``False``: one pack's reading after a control write, the others not asked.
    every_pack: bool = True


class PollListener(Protocol):
    """Something that follows the polls of one coordinator."""

    def poll_done(self, poll: Poll) -> None:
        """Take one poll result (called in the event loop, right after the readings, before the entities)."""


__all__ = ["BmsData", "PackAddress", "Poll", "PollListener"]
