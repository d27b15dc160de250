"""Vendor-neutral polling of a bus of packs behind one session: one request at a time, absent packs backed off.

:class:`BusPoller` reads every address once per :meth:`~BusPoller.poll` cycle, strictly one after the other (the
link's lock serialises the bus anyway). An address that stops answering is not asked every cycle: after its n-th
consecutive failure it is retried only every 2^n cycles (up to ``max_backoff`` cycles), and with the short
``absent_timeout`` — so one missing pack costs the others almost nothing and they keep updating at nearly full
rate; its entry in the result is its last error until it answers again. :func:`scan` finds which addresses answer
(read-only). The CLI (``--address all``) and the Home Assistant coordinator use these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import AddressError, BmsError, DeviceError, DeviceTimeout, ProtocolError
from .model import BmsSnapshot
from .plugin import Session

_LOGGER = logging.getLogger(__name__)

#: How long an address that is (or is believed) absent may take to answer a whole read.
DEFAULT_ABSENT_TIMEOUT = 0.5
#: At most this many cycles between two attempts at an address that stopped answering.
DEFAULT_MAX_BACKOFF = 32


async def _read(session: Session, address: int, limit: float | None) -> BmsSnapshot:
    """``session.read(address)`` within ``limit`` seconds (None: the link's own per-request timeouts only)."""
    if limit is None:
        return await session.read(address)
    try:
        async with asyncio.timeout(limit):
            return await session.read(address)
    except TimeoutError:
        raise DeviceTimeout(f"pack {address}: no complete answer within {limit:g} s") from None


@dataclass(slots=True)
class AddressState:
    """Back-off bookkeeping of one address."""

    failures: int = 0
    next_cycle: int = 0
    last: BmsSnapshot | BmsError | None = None

    @property
    def answering(self) -> bool:
        """Whether the last attempt succeeded (or none was made yet)."""
        return self.failures == 0


class BusPoller:
    """Polls ``addresses`` through ``session``, backing off the ones that do not answer."""

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

    def backoff(self, failures: int) -> int:
        """Cycles to wait after ``failures`` consecutive failures: 2^n, at most ``max_backoff``."""
        return min(self.max_backoff, 1 << min(failures, 30))

    def due(self, address: int) -> bool:
        """Whether ``address`` is asked in the current cycle."""
        return self.cycle >= self.states[address].next_cycle

    async def poll(self) -> dict[int, BmsSnapshot | BmsError]:
        """One cycle: read every due address in order; the others keep their last error."""
        results: dict[int, BmsSnapshot | BmsError] = {}
        for address in self.addresses:
            state = self.states[address]
            if not self.due(address):
                assert isinstance(state.last, BmsError)
                results[address] = state.last
                continue
            timeout = self.timeout if state.answering else self.absent_timeout
            self.attempts[address] += 1
            try:
                snapshot = await _read(self.session, address, timeout)
            except BmsError as err:
                state.failures += 1
                wait = self.backoff(state.failures)
                state.next_cycle = self.cycle + wait
                state.last = err
                _LOGGER.debug("pack %s failed (%s); next attempt in %d cycle(s)", address, err, wait)
            else:
                state.failures = 0
                state.next_cycle = self.cycle + 1
                state.last = snapshot
            assert state.last is not None
            results[address] = state.last
        self.cycle += 1
        return results

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
