"""The JBD session: read sequence (0x03 then 0x04), device info (0x05) and verified MOSFET control (0xE1).

JBD boards have no bus address: one pack per link (BLE, UART-TTL, RS485 or a TCP bridge), so the session exchanges
frames over one byte link. Control follows the real phone-app traffic (PROTOCOLS.md §3.5): write register 0xE1,
then "exit factory mode without saving" (register 0x01 = 0000), then read 0x03 back until the FET bits show the
requested state. With ``SessionOptions.extra["factory_mode"] = 1`` the session first enters factory mode
(0x00 = 5678), as dbus-serialbattery does, for firmware that insists on it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..errors import ControlNotConfirmed, DeviceError
from ..framing import Expect, Frame
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..plugin import Session, SessionOptions
from ..transports.base import Link, as_byte_link
from . import codec, codec_daren
from . import table as t
from .session_settings import JbdSettingsMixin

#: How many times, and how far apart, control reads the state back before calling it not confirmed.
CONFIRM_ATTEMPTS = 3
CONFIRM_INTERVAL = 0.25


def _expect(register: int) -> Expect:
    def is_answer(frame: Frame) -> bool:
        return frame.command == register

    return Expect(assembler=codec.JbdAssembler, match=is_answer)


#: Read requests and what answers them, built once (reads are the hot path of every poll).
_READS = {register: (codec.build_read(register), _expect(register)) for register in (t.REG_BASIC, t.REG_CELLS)}


@dataclass(frozen=True, slots=True)
class _LastRead:
    """The previous read: each register's payload and what it decoded to, and the snapshot built from them."""

    basic: bytes
    info: codec.BasicInfo
    cells: bytes
    volts: tuple[float, ...]
    snapshot: BmsSnapshot


class JbdSession(JbdSettingsMixin, Session):
    """Reads and controls one JBD pack (settings: :class:`~.session_settings.JbdSettingsMixin`)."""

    family = "jbd"
    _last: _LastRead | None = None

    def __init__(self, link: Link, options: SessionOptions) -> None:
        """Exchange frames over ``link`` (a byte link; any other raises ``UnsupportedError``)."""
        super().__init__(link, options)
        self.byte_link = as_byte_link(link)

    async def _request(self, request: bytes, register: int) -> bytes:
        frames = await self.byte_link.exchange(request, _expect(register))
        return codec.check_response(frames[0], register)

    async def _read_register(self, register: int) -> bytes:
        request, expect = _READS[register]
        frames = await self.byte_link.exchange(request, expect)
        return codec.check_response(frames[0], register)

    async def read_basic(self) -> codec.BasicInfo:
        """Register 0x03."""
        return codec.decode_basic(await self._request(codec.build_read(t.REG_BASIC), t.REG_BASIC))

    async def read_cells(self) -> tuple[float, ...]:
        """Register 0x04."""
        return codec.decode_cells(await self._request(codec.build_read(t.REG_CELLS), t.REG_CELLS))

    async def read_hardware(self) -> str:
        """Register 0x05."""
        return codec.decode_hardware(await self._request(codec.build_read(t.REG_HARDWARE), t.REG_HARDWARE))

    async def read_daren_info(self) -> codec_daren.DarenInfo:
        """Register 0x08 of a Daren board."""
        payload = await self._request(codec.build_read(t.REG_DAREN_INFO), t.REG_DAREN_INFO)
        return codec_daren.decode_info(payload)

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """Basic info then cell voltages, combined into one snapshot.

        Both answers are assembled and checked on every read. A register whose payload is byte-identical to the
        previous read's is not decoded again (its decoded value is reused); when both are, the previous snapshot
        is returned as is, so an idle pack costs no decoding and consumers can tell "unchanged" by identity.
        """
        basic = await self._read_register(t.REG_BASIC)
        cells = await self._read_register(t.REG_CELLS)
        last = self._last
        if last is None:
            info, volts = codec.decode_basic(basic), codec.decode_cells(cells)
        else:
            same_basic, same_cells = last.basic == basic, last.cells == cells
            if same_basic and same_cells:
                return last.snapshot
            info = last.info if same_basic else codec.decode_basic(basic)
            volts = last.volts if same_cells else codec.decode_cells(cells)
        snapshot = codec.to_snapshot(info, volts)
        self.family = info.family
        self._last = _LastRead(basic, info, cells, volts, snapshot)
        return snapshot

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """Model string (0x05) plus version, production date and cell count (0x03).

        Daren boards refuse 0x05 and describe themselves in register 0x08 instead; a board refusing both fails
        with the refusal of 0x05.
        """
        daren_info = None
        try:
            hardware: str | None = await self.read_hardware()
        except DeviceError as refused:
            hardware = None
            try:
                daren_info = await self.read_daren_info()
            except DeviceError:
                raise refused from None
        basic = await self.read_basic()
        self.family = basic.family
        return codec.to_device_info(basic, hardware, daren_info)

    async def _write(self, register: int, data: bytes) -> None:
        await self._request(codec.build_write(register, data), register)

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        before = await self.read_basic()
        charge, discharge = self._target(before, switch, on)
        if self.options.extra.get("factory_mode"):
            await self._write(t.REG_FACTORY_ENTER, t.FACTORY_ENTER_KEY)
        await self._write(t.REG_MOS, codec.mos_value(charge, discharge))
        await self._write(t.REG_FACTORY_EXIT, t.FACTORY_EXIT_NO_SAVE)
        basic = before
        for attempt in range(CONFIRM_ATTEMPTS):
            if attempt:
                await asyncio.sleep(CONFIRM_INTERVAL)
            basic = await self.read_basic()
            state = basic.charge_mosfet if switch is Switch.CHARGE else basic.discharge_mosfet
            if state == on:
                return codec.to_snapshot(basic, await self.read_cells())
        raise ControlNotConfirmed(
            f"JBD {switch} MOSFET still {'on' if not on else 'off'} after the write"
            f" (FET status 0x{basic.fet:02X}, protection 0x{basic.protection:04X})"
        )

    @staticmethod
    def _target(before: codec.BasicInfo, switch: Switch, on: bool) -> tuple[bool, bool]:
        """Requested (charge, discharge) software state; the other switch keeps its software lock.

        A MOSFET that is off while no software lock is active is off by protection, not by us: releasing its
        software bit keeps the BMS in charge of it instead of locking it off for good.
        """
        locked = bool(before.protection >> t.SOFTWARE_LOCK_BIT & 1)
        charge = before.charge_mosfet or not locked
        discharge = before.discharge_mosfet or not locked
        if switch is Switch.CHARGE:
            charge = on
        else:
            discharge = on
        return charge, discharge
