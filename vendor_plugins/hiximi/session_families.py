"""The protocol families a HiXiMi board may speak, how each is probed read-only, and which session serves it.

Nothing public documents HiXiMi's protocol (PROTOCOLS.md §5); like many "smart BMS" brands the boards are likely
JBD or DALY inside. The candidates, in the order they are probed — every probe is one read the family's own app
sends, and a write is never sent:

1. ``jbd`` — JBD basic-info read, register 0x03 (``DD A5 03 00 FF FD 77``), BLE service ff00;
2. ``daly-d2`` — DALY D2 status read, 62 registers (``D2 03 00 00 00 3E D7 B9``), BLE service fff0;
3. ``daly-a5`` — DALY legacy 0x90 read at host address 0x80, then 0x40 (``A5 80 90 08 …``), BLE service fff0.

The first answer that validates binds the session to that family; from then on the JBD or DALY session does the
work (reading, device info and verified control), so HiXiMi has no codec of its own.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..daly import codec_d2 as d2
from ..daly import table as daly_table
from ..daly.codec_a5 import build_request as a5_request
from ..daly.session import DalySession
from ..daly.session_a5 import A5Reader
from ..daly.session_d2 import ModbusReader
from ..errors import ConfigError, DeviceError, DeviceTimeout, ProtocolError, UnsupportedError
from ..jbd import codec as jbd_codec
from ..jbd.plugin import PLUGIN as JBD
from ..plugin import BleProfile, Session, SessionOptions, VendorPlugin
from ..transports.base import ByteLink, Link

_LOGGER = logging.getLogger(__name__)

#: What :class:`~vendor_plugins.model.DeviceInfo` says whatever the family.
VENDOR = "HiXiMi"

#: ``SessionOptions.family`` meaning "detect it" (as does ``None``).
AUTO = "auto"

#: A read-only probe: whether the family answers on the link (``host`` = the DALY A5 host address, if given).
#: It returns the options the family's session needs (the A5 host address that answered), or ``None``.
Probe = Callable[[ByteLink, int | None], Awaitable[dict[str, str | int] | None]]

#: JBD's basic-info read (register 0x03), built by JBD's codec — named in messages; the probe itself is the JBD
#: session's own read (a test checks the two agree).
JBD_BASIC_READ = jbd_codec.build_read(0x03)


def _profile(plugin: VendorPlugin) -> BleProfile:
    """The GATT profile ``plugin`` declares (every family HiXiMi may speak has one)."""
    if plugin.ble_profile is None:
        raise UnsupportedError(f"{plugin.title} declares no BLE profile")
    return plugin.ble_profile


@dataclass(frozen=True, slots=True)
class Family:
    """One candidate protocol family."""

    name: str
    ble_profile: BleProfile
    #: What the probe sends, for messages (``host`` as for :data:`Probe`).
    describe: Callable[[int | None], str]
    probe: Probe
    #: The family's own session over a link; ``options`` are already the inner session's.
    bind: Callable[[Link, SessionOptions], Session]


# --- JBD ------------------------------------------------------------------------------------------------
def _describe_jbd(host: int | None) -> str:
    return f"JBD basic info 0x03 ({JBD_BASIC_READ.hex(' ').upper()})"


async def _probe_jbd(link: ByteLink, host: int | None) -> dict[str, str | int] | None:
    try:
        await JBD.open_session(link).read_basic()
    except (DeviceTimeout, ProtocolError, DeviceError) as err:
        _LOGGER.debug("%s: no JBD answer: %s", link.description, err)
        return None
    return {}


def _bind_jbd(link: Link, options: SessionOptions) -> Session:
    return JBD.open_session(link, options)


# --- DALY D2 --------------------------------------------------------------------------------------------
def _describe_d2(host: int | None) -> str:
    request = d2.build_read(d2.D2.request_device, daly_table.D2_STATUS_START, daly_table.D2_STATUS_REGS)
    return f"DALY D2 status ({request.hex(' ').upper()})"


async def _probe_d2(link: ByteLink, host: int | None) -> dict[str, str | int] | None:
    return {} if await ModbusReader(link, d2.D2).probe() else None


def _bind_d2(link: Link, options: SessionOptions) -> Session:
    return DalySession(link, dataclasses.replace(options, family="d2"))


# --- DALY A5 --------------------------------------------------------------------------------------------
def _a5_hosts(host: int | None) -> tuple[int, ...]:
    return (host,) if host is not None else daly_table.HOST_PROBE_ORDER


def _describe_a5(host: int | None) -> str:
    requests = ", then ".join(
        f"host 0x{h:02X} ({a5_request(daly_table.CMD_PACK, h)[:4].hex(' ').upper()} …)" for h in _a5_hosts(host)
    )
    return f"DALY A5 0x90 at {requests}"


async def _probe_a5(link: ByteLink, host: int | None) -> dict[str, str | int] | None:
    reader = A5Reader(link, host)
    if not await reader.probe() or reader.host_address is None:
        return None
    return {"host_address": reader.host_address}


def _bind_a5(link: Link, options: SessionOptions) -> Session:
    return DalySession(link, dataclasses.replace(options, family="a5"))


#: Every family, in the (safe, read-only) order detection probes them.
PROBE_ORDER: tuple[Family, ...] = (
    Family("jbd", _profile(JBD), _describe_jbd, _probe_jbd, _bind_jbd),
    Family("daly-d2", daly_table.BLE_PROFILE, _describe_d2, _probe_d2, _bind_d2),
    Family("daly-a5", daly_table.BLE_PROFILE, _describe_a5, _probe_a5, _bind_a5),
)
FAMILIES: dict[str, Family] = {f.name: f for f in PROBE_ORDER}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def family_option(family: str | None) -> Family | None:
    """The family a user gave (``None`` for none or ``auto``: detect it); :class:`ConfigError` if unknown."""
    requested = (family or AUTO).strip().lower()
    if requested == AUTO:
        return None
    if requested not in FAMILIES:
        raise ConfigError(f"unknown HiXiMi family {family!r} (known: {', '.join(FAMILY_NAMES)}, {AUTO})")
    return FAMILIES[requested]
