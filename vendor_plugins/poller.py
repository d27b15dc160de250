"""Vendor-neutral polling of a bus of packs behind one session: one request at a time, absent packs backed off.

:class:`BusPoller` reads every address once per :meth:`~BusPoller.poll` cycle, strictly one after the other (the
link's lock serialises the bus anyway). An address that stops answering is not asked every cycle: after its n-th
consecutive failure it is retried only every 2^n cycles (up to ``max_backoff`` cycles), and with the short
``absent_timeout`` — so one missing pack costs the others almost nothing and they keep updating at nearly full
rate; its entry in the result is its last error until it answers again.

Only a *pack-level* failure is held against a pack: it failed while another pack answered in the same cycle. A
*link-level* failure is not — a :class:`~vendor_plugins.errors.TransportError` (connection refused or lost, port
gone), or a cycle in which nothing answered at all (the bridge or adapter is down, the bus wire is cut). Such a
cycle changes no pack's back-off, and a pack whose failures began in the cycle the outage started (the packs
after the cut in that cycle) is forgiven too, so once the link is back every pack is read in the very next
cycle. While the link is down a cycle stays short: after two failures in a row with nothing answering — one of
them a link error, or the previous cycle was an outage already — the rest of the cycle is skipped (those packs
get the link error, no attempt), and each such cycle starts one pack further, so every pack is probed in turn.
Timeouts are never shortened for a pack that answered last time (a healthy pack must not be cut off for a
neighbour's silence). In the cycle after an outage, failures before the first answer are not held against their
packs either (the link was still coming back: reconnecting, its first answer slow). And when a cycle ends in a
run of failures (the link may have died mid-cycle and come back before the next cycle), a pack of that run that
answered the time before is retried in the next cycle before it is backed off.

:func:`scan` finds which addresses answer (read-only). The CLI (``--address all``) and the Home Assistant
coordinator use these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import AddressError, BmsError, DeviceError, DeviceTimeout, ProtocolError, TransportError
from .model import BmsSnapshot
from .plugin import Session

_LOGGER = logging.getLogger(__name__)

#: How long an address that is (or is believed) absent may take to answer a whole read.
DEFAULT_ABSENT_TIMEOUT = 0.5
#: At most this many cycles between two attempts at an address that stopped answering.
DEFAULT_MAX_BACKOFF = 32
#: Failures in a row with nothing answering after which a cycle during a link outage skips the rest.
SKIP_AFTER_MISSES = 2
#: A cycle ending in this many failures in a row may be a link that failed mid-cycle (see :meth:`BusPoller.poll`).
TRAILING_RUN = 2


async def _read(session: Session, address: int, limit: float | None) -> BmsSnapshot:
    """``session.read(address)`` within ``limit`` seconds (None: the link's own per-request timeouts only)."""
    if limit is None:
        return await session.read(address)
    try:
        async with asyncio.timeout(limit):
            return await session.read(address)
    except TimeoutError:
        raise DeviceTimeout(f"pack {address}: no complete answer within {limit:g} s") from None


def is_link_error(err: BmsError) -> bool:
    """Whether ``err`` says the link itself failed (never held against one pack)."""
    return isinstance(err, TransportError)


def not_asked(address: int, cause: BmsError) -> BmsError:
    """The error of a pack skipped because the link is down (a TransportError or DeviceTimeout, like the cause)."""
    kind = TransportError if is_link_error(cause) else DeviceTimeout
    return kind(f"pack {address}: not asked, the link is down ({cause})")


@dataclass(slots=True)
class AddressState:
    """Back-off bookkeeping of one address."""

    failures: int = 0
    next_cycle: int = 0
    last: BmsSnapshot | BmsError | None = None
    #: The cycle of the first failure of the current run of pack-level failures (-1: none).
    failing_since: int = -1

    @property
    def answering(self) -> bool:
        """Whether the last attempt succeeded (or none was made yet)."""
        return self.failures == 0

    def forgive(self, cycle: int) -> None:
        """Drop the back-off: the failures were the link's; due again at ``cycle``."""
        self.failures = 0
        self.failing_since = -1
        self.next_cycle = min(self.next_cycle, cycle)


class BusPoller:
    """Polls ``addresses`` through ``session``, backing off the ones that do not answer while others do."""

    def __init__(
        self,
        session: Session,
        addresses: Iterable[int],
        *,
        timeout: float | None = None,
        absent_timeout: float = DEFAULT_ABSENT_TIMEOUT,
        max_backoff: int = DEFAULT_MAX_BACKOFF,
    ) -> None:
        """``timeout`` bounds a whole read of an answering pack (default: only the link's per-request timeout)."""
        if max_backoff < 1:
            raise ValueError("max_backoff must be at least 1 cycle")
        self.session = session
        self.addresses = list(dict.fromkeys(addresses))
        self.timeout = timeout
        self.absent_timeout = absent_timeout
        self.max_backoff = max_backoff
        self.cycle = 0
        self.states = {address: AddressState() for address in self.addresses}
        #: Reads actually attempted, per address (tests and diagnostics).
        self.attempts = dict.fromkeys(self.addresses, 0)
        #: The last cycle in which some pack answered (-1: none yet).
        self.last_answered_cycle = -1
        #: Whether the previous cycle was a link outage (nothing answered, or the link failed).
        self.link_down = False
        #: Cycles that were link outages (diagnostics).
        self.outage_cycles = 0

    def backoff(self, failures: int) -> int:
        """Cycles to wait after ``failures`` consecutive failures: 2^n, at most ``max_backoff``."""
        return min(self.max_backoff, 1 << min(failures, 30))

    def due(self, address: int) -> bool:
        """Whether ``address`` is asked in the current cycle."""
        return self.cycle >= self.states[address].next_cycle

    def _order(self) -> list[int]:
        """This cycle's reading order: address order; while the link is down, starting one further each cycle."""
        if not self.link_down or not self.addresses:
            return self.addresses
        shift = self.outage_cycles % len(self.addresses)
        return self.addresses[shift:] + self.addresses[:shift]

    async def poll(self) -> dict[int, BmsSnapshot | BmsError]:
        """One cycle: read every due address in order; the others keep their last error."""
        results: dict[int, BmsSnapshot | BmsError] = {}
        failed: dict[int, BmsError] = {}
        #: Failures before the first answer of a cycle right after an outage: the link was still coming back.
        unheld: set[int] = set()
        trailing: list[int] = []  # the failures since the last answer of this cycle
        answered = False
        misses, link_errors = 0, 0  # failures in a row with nothing answered yet, and link errors among them
        skip: BmsError | None = None
        skipped: dict[int, BmsError] = {}
        for address in self._order():
            state = self.states[address]
            if skip is not None and self.due(address):
                results[address] = skipped[address] = not_asked(address, skip)  # not held against the pack
                continue
            if not self.due(address):
                assert isinstance(state.last, BmsError)
                results[address] = state.last
                continue
            timeout = self.timeout if state.answering else self.absent_timeout
            self.attempts[address] += 1
            try:
                snapshot = await _read(self.session, address, timeout)
            except BmsError as err:
                failed[address] = err
                results[address] = err
                trailing.append(address)
                if not answered:
                    misses += 1
                    link_errors += is_link_error(err)
                    if self.link_down:
                        unheld.add(address)
                    if misses >= SKIP_AFTER_MISSES and (link_errors or self.link_down):
                        skip = err
                        _LOGGER.debug("link down (%s), nothing answers: rest of the cycle skipped", err)
                continue
            answered = True
            trailing.clear()
            state.failures = 0
            state.failing_since = -1
            state.next_cycle = self.cycle + 1
            state.last = snapshot
            results[address] = snapshot
        if answered and len(trailing) >= TRAILING_RUN:
            # The cycle ended in a run of failures: the link may have failed mid-cycle. A pack that answered last
            # time gets one retry next cycle before it is backed off.
            unheld.update(a for a in trailing if isinstance(self.states[a].last, BmsSnapshot))
        self._settle(failed, answered, skipped, unheld)
        self.cycle += 1
        return {address: results[address] for address in self.addresses}

    def _settle(
        self, failed: dict[int, BmsError], answered: bool, skipped: dict[int, BmsError], unheld: set[int]
    ) -> None:
        """Apply this cycle's failures: back-off for pack-level ones, none for the link's."""
        outage = not answered and bool(failed)
        for address, err in failed.items():
            state = self.states[address]
            state.last = err
            if outage or is_link_error(err) or address in unheld:
                state.next_cycle = self.cycle + 1  # the link's fault: asked again next cycle, no back-off
                continue
            state.failures += 1
            if state.failing_since < 0:
                state.failing_since = self.cycle
            wait = self.backoff(state.failures)
            state.next_cycle = self.cycle + wait
            _LOGGER.debug("pack %s failed (%s); next attempt in %d cycle(s)", address, err, wait)
        for address, err in skipped.items():
            self.states[address].last = err
            self.states[address].next_cycle = self.cycle + 1
        if answered:
            self.last_answered_cycle = self.cycle
            self.link_down = False
            return
        if not outage:
            return
        if not self.link_down:
            _LOGGER.debug("nothing answered in cycle %d: link outage, no pack backed off", self.cycle)
        self.link_down = True
        self.outage_cycles += 1
        # Packs that began failing in the cycle the outage started (after the cut) were victims of it too.
        for state in self.states.values():
            if state.failing_since >= 0 and state.failing_since >= self.last_answered_cycle:
                state.forgive(self.cycle + 1)

    @property
    def answering(self) -> list[int]:
        """Addresses whose last attempt succeeded."""
        return [a for a in self.addresses if isinstance(self.states[a].last, BmsSnapshot)]


async def scan(
    session: Session, addresses: Iterable[int] = range(16), *, absent_timeout: float = DEFAULT_ABSENT_TIMEOUT
) -> list[int]:
    """Addresses that answer a read (read-only), in the order given.

    A pack that answers with an error status or a malformed frame still counts as present; silence, a broken
    link, a reply from another address or an address the session cannot use do not.
    """
    found = []
    for address in addresses:
        try:
            await _read(session, address, absent_timeout)
        except AddressError as err:
            _LOGGER.debug("scan: address %s: %s", address, err)
            continue
        except (DeviceError, ProtocolError) as err:
            _LOGGER.debug("scan: address %s answered with an error: %s", address, err)
        except BmsError as err:
            _LOGGER.debug("scan: address %s: %s", address, err)
            continue
        found.append(address)
    return found
