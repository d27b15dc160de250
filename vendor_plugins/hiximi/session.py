"""The HiXiMi session: find the protocol family read-only, then delegate everything to that family's session.

With ``SessionOptions.family`` set (``jbd``, ``daly-d2``, ``daly-a5`` — what a previous detection reported and Home
Assistant stored) nothing is probed. Otherwise the first use probes :data:`~.session_families.PROBE_ORDER` and binds to
the first family whose answer validates; :attr:`HiximiSession.family` then says which. Probing only reads; a
silent link costs about one link timeout (four requests at most, sharing it: JBD, D2, A5 at 0x80 and 0x40), and if
none answers, :class:`~vendor_plugins.errors.DeviceTimeout` names every request that was tried. Control goes
through the bound JBD / DALY session's own verified path (write, then read back).

Over BLE the GATT service follows the family (:mod:`.session_ble`): a service the device lacks fails the subscription,
which skips the families behind it; if the device cannot be reached with any service, that transport error is
raised as such.
"""

from __future__ import annotations

import dataclasses
import logging

from ..daly.session import DalySession, host_address_option
from ..daly.session_base import shared_timeout
from ..errors import DeviceTimeout, TransportError
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..plugin import BleProfile, Session, SessionOptions
from ..transports.base import Link, as_byte_link
from .session_ble import select_profile, switchable
from .session_families import PROBE_ORDER, VENDOR, Family, family_option

_LOGGER = logging.getLogger(__name__)


class HiximiSession(Session):
    """Reads and controls one HiXiMi pack through the JBD or DALY session of the family it speaks."""

    def __init__(self, link: Link, options: SessionOptions) -> None:
        """Validate the options; a given family is used as is, otherwise it is detected on first use.

        Every family exchanges frames: ``link`` must be a byte link (:class:`~vendor_plugins.errors.UnsupportedError`
        otherwise).
        """
        super().__init__(link, options)
        self.requested_family = family_option(options.family)
        self._host = host_address_option(options.extra)
        #: ``link`` as the byte link the probes exchange frames over.
        self.byte_link = as_byte_link(link)
        self._inner: Session | None = None
        self.family = None if self.requested_family is None else self.requested_family.name
        #: What the last detection tried, in order (for messages and diagnostics).
        self.tried: list[str] = []

    @property
    def inner(self) -> Session | None:
        """The JBD / DALY session doing the work (``None`` until the family is known and first used)."""
        return self._inner

    @property
    def host_address(self) -> int | None:
        """The DALY A5 host address in use, once known (else ``None``)."""
        inner = self._inner
        if inner is None:
            return self._host
        return inner.host_address if isinstance(inner, DalySession) else None

    def _inner_options(self, family: Family, found: dict[str, str | int]) -> SessionOptions:
        extra = {k: v for k, v in self.options.extra.items() if k != "host_address"}
        if family.name.startswith("daly") and self._host is not None:
            extra["host_address"] = self._host
        extra.update(found)
        return SessionOptions(control_enabled=self.options.control_enabled, extra=extra)

    async def bound(self) -> Session:
        """The family's session, detecting the family first when it was not given."""
        if self._inner is None:
            family = self.requested_family
            if family is None:
                family, found = await self._detect()
            else:
                await select_profile(self.link, family.ble_profile)
                found = {}
            self._inner = family.bind(self.link, self._inner_options(family, found))
            self.family = family.name
        return self._inner

    async def _detect(self) -> tuple[Family, dict[str, str | int]]:
        """Probe every family read-only, in order; the first that answers validly wins."""
        self.tried = []
        ble = switchable(self.link)
        unreachable: dict[BleProfile, TransportError] = {}
        # The requests share the link's timeout (A5 asks two host addresses when none is given).
        with shared_timeout(self.byte_link, len(PROBE_ORDER) + (1 if self._host is None else 0)):
            return await self._probe_families(ble, unreachable)

    async def _probe_families(
        self, ble: bool, unreachable: dict[BleProfile, TransportError]
    ) -> tuple[Family, dict[str, str | int]]:
        for family in PROBE_ORDER:
            label = family.describe(self._host)
            if family.ble_profile in unreachable:
                self.tried.append(f"{label} (skipped: no service {family.ble_profile.service_uuid[4:8]})")
                continue
            try:
                await select_profile(self.link, family.ble_profile)
                found = await family.probe(self.byte_link, self._host)
            except TransportError as err:
                if not ble:
                    raise  # the link itself is down: not an answer of any family
                unreachable[family.ble_profile] = err
                self.tried.append(f"{label} (service {family.ble_profile.service_uuid[4:8]} not reachable)")
                continue
            self.tried.append(label)
            if found is not None:
                _LOGGER.debug("%s: HiXiMi speaks %s", self.link.description, family.name)
                return family, found
        if unreachable and len(unreachable) == len({f.ble_profile for f in PROBE_ORDER}):
            first = next(iter(unreachable.values()))
            raise TransportError(f"{first} (tried every HiXiMi BLE service: {'; '.join(self.tried)})")
        raise DeviceTimeout(
            f"{self.link.description}: no HiXiMi protocol family answered (tried, read-only: {'; '.join(self.tried)})"
        )

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """One complete snapshot (one pack per link; ``address`` is passed on, the families ignore it)."""
        return await (await self.bound()).read(address)

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """What the pack says about itself, as HiXiMi, with the family actually spoken."""
        info = await (await self.bound()).device_info(address)
        return dataclasses.replace(info, vendor=VENDOR, family=self.family)

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        return await (await self.bound()).set_switch(address, switch, on)
