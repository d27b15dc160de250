"""The one pack reader: every consumer reads one pack or a bus of packs through :class:`PackReader`.

A reader binds a session to the pack addresses of one link and reads them all once per :meth:`PackReader.read_round`:

* one pack (or several that are not a bus): each is read in turn, every round;
* a bus (two or more addressed packs): through :class:`~vendor_plugins.poller.BusPoller`, so a pack that stopped
  answering is retried with back-off and a short timeout and the others keep updating;
* ``--address all`` / a scan: :meth:`PackReader.scanning` finds the packs that answer on the first round
  (:func:`~vendor_plugins.poller.scan`, read-only), then polls them as a bus.

What a pack says about itself (:class:`~vendor_plugins.model.DeviceInfo`) is read once: all at once with
:meth:`PackReader.identify` (Home Assistant, at set-up), or lazily after a pack's first answer (``bmsgw read``), so a
pack without device info never costs a timeout every round. Each round yields one :class:`PackResult` per pack:
its snapshot, or the :class:`~vendor_plugins.errors.BmsError` that kept it from answering. Nothing here raises for a
pack that does not answer; only a scan that finds no pack does.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import BmsError, DeviceTimeout, TransportError, one_line
from .model import BmsSnapshot, DeviceInfo
from .plausibility import chemistry_notes
from .plugin import Session
from .poller import BusPoller, scan

_LOGGER = logging.getLogger(__name__)

type PackAddress = int | None


@dataclass(frozen=True, slots=True)
class PackResult:
    """One pack's outcome in one round: a snapshot, or the error that kept it from answering."""

    address: PackAddress
    device: DeviceInfo | None
    snapshot: BmsSnapshot | None
    exception: BmsError | None = None

    @property
    def error(self) -> str | None:
        """The error as one line of text (``None`` when the pack answered)."""
        return None if self.exception is None else one_line(self.exception)

    def to_dict(self) -> dict[str, Any]:
        """The ``packs[]`` element of the ``bmsgw read --json`` document (INTERFACES.md §4)."""
        return {
            "address": self.address,
            "device": None if self.device is None else self.device.to_dict(),
            "snapshot": None if self.snapshot is None else self.snapshot.to_dict(),
            "error": self.error,
        }


def _as_bms_error(err: BmsError | OSError) -> BmsError:
    """An OS-level failure a link let through, as the library's transport error."""
    if isinstance(err, BmsError):
        return err
    wrapped = TransportError(one_line(err))
    wrapped.__cause__ = err
    return wrapped


class PackReader:
    """Reads the packs of one link through one session, one round at a time."""

    def __init__(self, session: Session, addresses: Sequence[PackAddress], *, lazy_device_info: bool = True) -> None:
        """Read ``addresses`` (``[None]``: the single pack at the session's default address).

        ``lazy_device_info``: read a pack's device info after its first answer (else only :meth:`identify` does).
        """
        self.session = session
        self.addresses: list[PackAddress] = list(addresses)
        self.lazy_device_info = lazy_device_info
        #: What each pack said about itself (``None``: asked, no answer; absent: not asked yet).
        self.devices: dict[PackAddress, DeviceInfo | None] = {}
        self._candidates: list[int] | None = None
        #: Packs found by a scan are polled as a bus even when only one answered.
        self._scanned = False
        self._poller: BusPoller | None = None

    @classmethod
    def scanning(cls, session: Session, candidates: Sequence[int], *, lazy_device_info: bool = True) -> PackReader:
        """A reader that first finds which of ``candidates`` answer (on its first round), then polls those."""
        reader = cls(session, [], lazy_device_info=lazy_device_info)
        reader._candidates = list(candidates)
        return reader

    @property
    def family(self) -> str | None:
        """The protocol family actually spoken (known after the first answer)."""
        return self.session.family or self.session.options.family

    @property
    def poller(self) -> BusPoller | None:
        """The bus poller (``None`` until a bus round ran, and for single packs)."""
        return self._poller

    def _bus(self) -> list[int] | None:
        """The addresses as a bus (two or more addressed packs, or what a scan found), else ``None``."""
        bus = [a for a in self.addresses if a is not None]
        return bus if len(bus) == len(self.addresses) and (len(bus) > 1 or self._scanned) else None

    async def identify(self) -> dict[PackAddress, BmsError]:
        """Ask every pack what it is (model, versions, serial); the errors of those that did not say."""
        errors: dict[PackAddress, BmsError] = {}
        for address in self.addresses:
            try:
                self.devices[address] = await self._device_info(address)
            except (BmsError, OSError) as err:
                errors[address] = _as_bms_error(err)
        return errors

    async def _device_info(self, address: PackAddress) -> DeviceInfo:
        """What the pack says; its chemistry from the user's option where the device does not say one."""
        info = await self.session.device_info(address)
        chemistry = self.session.options.chemistry
        if info.chemistry is None and chemistry is not None:
            info = dataclasses.replace(info, chemistry=chemistry)
        return info

    def _noted(self, address: PackAddress, snapshot: BmsSnapshot) -> BmsSnapshot:
        """``snapshot`` with the cells outside its chemistry's window named in ``raw`` (never refused)."""
        device = self.devices.get(address)
        chemistry = device.chemistry if device is not None else self.session.options.chemistry
        notes = chemistry_notes(snapshot.cell_voltages, chemistry)
        return dataclasses.replace(snapshot, raw={**snapshot.raw, **notes}) if notes else snapshot

    async def _device(self, address: PackAddress) -> DeviceInfo | None:
        if self.lazy_device_info and address not in self.devices:
            try:
                self.devices[address] = await self._device_info(address)
            except (BmsError, OSError) as err:
                _LOGGER.debug("device info of pack %s failed: %s", address, err, exc_info=True)
                self.devices[address] = None
        return self.devices.get(address)

    async def _scan(self, candidates: list[int]) -> None:
        found = await scan(self.session, candidates)
        if not found:
            raise DeviceTimeout(f"no pack answered on the bus (addresses {candidates[0]}-{candidates[-1]} scanned)")
        self.addresses = list(found)
        self._candidates = None
        self._scanned = True

    async def read_round(self) -> list[PackResult]:
        """One reading of every pack, in address order; raises only when a scan finds no pack at all."""
        if self._candidates is not None:
            await self._scan(self._candidates)
        outcomes: dict[PackAddress, BmsSnapshot | BmsError] = {}
        bus = self._bus()
        if bus is not None:
            if self._poller is None or self._poller.addresses != bus:
                self._poller = BusPoller(self.session, bus)
            for bus_address, outcome in (await self._poller.poll()).items():
                outcomes[bus_address] = outcome
        else:
            for address in self.addresses:
                try:
                    outcomes[address] = await self.session.read(address)
                except (BmsError, OSError) as err:
                    _LOGGER.debug("reading pack %s failed", address, exc_info=True)
                    outcomes[address] = _as_bms_error(err)
        results = []
        for address in self.addresses:
            outcome = outcomes[address]
            if isinstance(outcome, BmsSnapshot):
                self.session.confirmed.add(address)  # a pack answered here: control may write to it
                device = await self._device(address)
                results.append(PackResult(address, device, self._noted(address, outcome)))
            else:
                results.append(PackResult(address, self.devices.get(address), None, outcome))
        return results
