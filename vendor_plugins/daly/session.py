"""The DALY session: one pack in whichever of the three families it speaks, and read-only family detection.

Families: ``a5`` (legacy, :mod:`.session_a5`), ``d2`` and ``p81`` (Modbus-style, :mod:`.session_d2`).
Options: ``SessionOptions.family`` (``a5``/``d2``/``p81``; ``None`` or ``auto`` detects it) and
``SessionOptions.extra["host_address"]`` (A5 host address, 0x40 on RS485 or 0x80 on UART/BLE; found by probing
when not given). Detection is read-only and tries, in order, D2, A5 at host 0x80, A5 at host 0x40, then P81; the
first answer that validates wins and the session's :attr:`~DalySession.family` (and, for A5,
:attr:`~DalySession.host_address`) say which, so ``bmsgw read`` reports it and a user can store it.
One pack per link; control (charge/discharge MOSFETs) is opt-in and confirmed by reading the state back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..battery_settings import BmsSettings, SettingsTable
from ..errors import ConfigError, DeviceTimeout, SettingsUnsupported
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..plugin import Session, SessionOptions
from ..transports.base import ByteLink, Link, as_byte_link
from . import codec_d2 as d2
from . import table as t
from .session_a5 import A5Reader
from .session_base import FamilyReader, shared_timeout
from .session_d2 import ModbusReader
from .session_settings import D2SettingsIO, soc_unsupported, table_for

_LOGGER = logging.getLogger(__name__)

AUTO = "auto"


def host_address_option(extra: Mapping[str, str | int]) -> int | None:
    """``extra["host_address"]`` as an int (``0x80``, ``"0x80"`` and ``"128"`` are accepted)."""
    value = extra.get("host_address")
    if value is None:
        return None
    try:
        host = value if isinstance(value, int) else int(value, 0)
    except ValueError:
        raise ConfigError(f"DALY host address must be a number such as 0x40 or 0x80, not {value!r}") from None
    if not 0 <= host <= 0xFF or host == t.A5_BMS_ADDRESS:
        raise ConfigError(f"DALY host address must be 0..255 and not the BMS's own 0x01, not {value!r}")
    return host


def family_option(family: str | None) -> str:
    """The requested family, normalised; ``auto`` when none was given."""
    requested = (family or AUTO).strip().lower()
    if requested not in (*t.FAMILIES, AUTO):
        raise ConfigError(f"unknown DALY family {family!r} (known: {', '.join(t.FAMILIES)}, {AUTO})")
    return requested


def make_reader(family: str, link: ByteLink, host_address: int | None) -> FamilyReader:
    """The reader of one family."""
    if family == "a5":
        return A5Reader(link, host_address)
    return ModbusReader(link, d2.VARIANTS[family])


def detection_order(link: ByteLink, host_address: int | None) -> list[FamilyReader]:
    """Readers to probe, in order: D2, A5 at each host address (or the one given), P81."""
    hosts = (host_address,) if host_address is not None else t.HOST_PROBE_ORDER
    return [
        ModbusReader(link, d2.D2),
        *(A5Reader(link, host) for host in hosts),
        ModbusReader(link, d2.P81),
    ]


async def detect(link: ByteLink, host_address: int | None = None) -> FamilyReader:
    """Probe read-only until a family answers validly; :class:`DeviceTimeout` naming what was tried otherwise."""
    tried: list[str] = []
    order = detection_order(link, host_address)
    with shared_timeout(link, len(order)):  # a silent link fails after about its timeout, not one per family
        for reader in order:
            if await reader.probe():
                _LOGGER.debug("%s: DALY protocol detected: %s", link.description, reader.label)
                return reader
            tried.append(reader.label)
    raise DeviceTimeout(f"{link.description}: no DALY protocol answered (tried {', '.join(tried)})")


class DalySession(Session):
    """Reads and controls one DALY pack in whichever family it speaks."""

    def __init__(self, link: Link, options: SessionOptions) -> None:
        """Validate the options; a given family is used as is, ``auto`` is detected on first use.

        Every family exchanges frames: ``link`` must be a byte link (:class:`~vendor_plugins.errors.UnsupportedError`
        otherwise).
        """
        super().__init__(link, options)
        self.requested_family = family_option(options.family)
        self._host_option = host_address_option(options.extra)
        #: ``link`` as the byte link the family readers exchange frames over.
        self.byte_link = as_byte_link(link)
        self._reader: FamilyReader | None = None
        self._settings: D2SettingsIO | None = None
        self.family = None
        if self.requested_family != AUTO:
            self._reader = make_reader(self.requested_family, self.byte_link, self._host_option)
            self.family = self.requested_family

    @property
    def host_address(self) -> int | None:
        """The A5 host address in use (known once the pack answered), else ``None``."""
        reader = self._reader
        return reader.host_address if isinstance(reader, A5Reader) else None

    async def reader(self) -> FamilyReader:
        """The family reader, detecting the family first when it was not given."""
        if self._reader is None:
            self._reader = await detect(self.byte_link, self._host_option)
            self.family = self._reader.family
        return self._reader

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """One complete snapshot (DALY has one pack per link; ``address`` is not used)."""
        return await (await self.reader()).read()

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """What the pack says about itself, with the family actually spoken."""
        return await (await self.reader()).device_info()

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        return await (await self.reader()).set_switch(switch, on)

    # --- battery settings (D2 only: session_settings) ------------------------------------------------------------
    def settings_table(self, address: int | None = None) -> SettingsTable:
        """D2's table; A5 and P81 are refused with the reason, before any I/O."""
        return table_for(self.family or self.requested_family)

    async def _settings_io(self) -> D2SettingsIO:
        reader = await self.reader()
        table_for(reader.family)  # refuses A5 and P81 with the reason (a detected family, no byte written yet)
        if not isinstance(reader, ModbusReader):
            raise SettingsUnsupported(f"DALY {reader.label}: no documented settings map")
        if self._settings is None or self._settings.reader is not reader:
            self._settings = D2SettingsIO(reader)
        return self._settings

    async def _read_settings(self, address: int | None) -> BmsSettings:
        return await (await self._settings_io()).read()

    async def _write_settings(
        self, address: int | None, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]
    ) -> None:
        await (await self._settings_io()).write(current, target, names)

    def soc_unsupported_reason(self) -> str | None:
        """D2 writes the SoC to register 0xA7; A5 and P81 have no documented way."""
        return soc_unsupported(self.family or self.requested_family)

    async def _set_soc(self, address: int | None, percent: float) -> None:
        await (await self._settings_io()).set_soc(percent)
