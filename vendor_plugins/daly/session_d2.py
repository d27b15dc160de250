"""The Modbus-style read and control sequences of D2 and P81.

D2 reads its status block with one request: 80 registers (cells … faults, balance masks, MOSFET and board
temperature), falling back to the 62 registers every unit answers (the Daly app's own request) when a unit
refuses or ignores the longer read: for good after a refusal (an exception reply), but only for
:data:`EXTENDED_RETRY_READS` reads after silence — one lost reply on a noisy line must not drop the per-cell
balancing and the MOSFET temperature until a restart. P81 reads RT1 (64 registers from 0) and RT2 (62 from 0x41).
Control (D2 only): write 1/0 to register 0xA5 (charge) / 0xA6 (discharge) — the device echoes the request —
then read the status back until it shows the requested state. P81 has no documented switch registers, so control
is refused there before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import ControlNotConfirmed, ControlRefused, DeviceError, DeviceTimeout, FrameError, ProtocolError
from ..framing import Expect, Frame
from ..model import BmsSnapshot, Chemistry, DeviceInfo, Switch
from ..transports.base import Link
from . import codec_d2 as d2
from . import table as t
from . import table_settings as ts
from .session_base import CONFIRM_ATTEMPTS, CONFIRM_INTERVAL, FamilyReader

_LOGGER = logging.getLogger(__name__)

#: After the 80-register read went unanswered, read 62 registers this many times, then try 80 again.
EXTENDED_RETRY_READS = 60


class ModbusReader(FamilyReader):
    """D2 or P81 over one link."""

    def __init__(self, link: Link, variant: d2.Variant) -> None:
        """Speak ``variant`` (:data:`~.codec_d2.D2` or :data:`~.codec_d2.P81`)."""
        super().__init__(link)
        self.variant = variant
        self.family = variant.family
        #: D2 status registers to read: 80 until a unit shows it only answers 62.
        self.status_registers = t.D2_STATUS_REGS_EXTENDED
        #: Reads left before the 80-register read is tried again (``None``: not after silence, or refused for good).
        self._extended_retry_in: int | None = None
        self._cell_count: int | None = None

    # --- requests -----------------------------------------------------------------------------------
    def _expect(self, function: int, check: int | None = None) -> Expect:
        device = self.variant.response_device

        def is_answer(frame: Frame) -> bool:
            if frame.address != device:
                return False
            if frame.command == function | t.EXCEPTION_FLAG:
                return True
            return frame.command == function and (check is None or len(frame.payload) == check)

        return Expect(assembler=lambda: d2.ModbusAssembler((device,)), match=is_answer)

    async def read_registers(self, start: int, count: int, what: str) -> bytes:
        """``count`` registers from ``start`` (:class:`DeviceError` when the unit answers with an exception)."""
        request = d2.build_read(self.variant.request_device, start, count)
        frames = await self.link.exchange(request, self._expect(t.FC_READ, 2 * count))
        return d2.check_read(frames[0], count, what)

    async def write_register(self, register: int, value: int, what: str) -> None:
        """Function 06, checked against the device's echo."""
        request = d2.build_write(self.variant.request_device, register, value)
        frames = await self.link.exchange(request, self._expect(t.FC_WRITE))
        d2.check_echo(frames[0], request, what)

    # --- status -------------------------------------------------------------------------------------
    async def _d2_image(self) -> bytes:
        if self._extended_retry_in is not None:
            self._extended_retry_in -= 1
            if self._extended_retry_in <= 0:
                self._extended_retry_in = None
                self.status_registers = t.D2_STATUS_REGS_EXTENDED
        if self.status_registers == t.D2_STATUS_REGS_EXTENDED:
            try:
                return await self.read_registers(t.D2_STATUS_START, self.status_registers, "the 80-register status")
            except DeviceError as err:
                _LOGGER.info("%s: 80-register status refused (%s); reading 62 from now on", self.link.description, err)
                self.status_registers = t.D2_STATUS_REGS
            except DeviceTimeout as err:
                _LOGGER.info(
                    "%s: 80-register status unanswered (%s); reading 62 for the next %d reads",
                    self.link.description,
                    err,
                    EXTENDED_RETRY_READS,
                )
                self.status_registers = t.D2_STATUS_REGS
                self._extended_retry_in = EXTENDED_RETRY_READS
        return await self.read_registers(t.D2_STATUS_START, self.status_registers, "the status")

    async def read_status(self) -> d2.StatusBlock:
        """The decoded status block."""
        if self.variant is d2.P81:
            rt1 = await self.read_registers(t.P81_RT1_START, t.P81_RT1_REGS, "real-time block 1")
            rt2 = await self.read_registers(t.P81_RT2_START, t.P81_RT2_REGS, "real-time block 2")
            block = d2.decode_status("p81", d2.p81_image(rt1, rt2))
        else:
            block = d2.decode_status("d2", await self._d2_image())
        self._cell_count = len(block.cells_mv)
        return block

    async def probe(self) -> bool:
        """Read-only: the status read every unit of the family answers (D2: 62 registers; P81: RT1)."""
        if self.variant is d2.P81:
            start, count = t.P81_RT1_START, t.P81_RT1_REGS
        else:
            start, count = t.D2_STATUS_START, t.D2_STATUS_REGS
        try:
            payload = await self.read_registers(start, count, "the probe")
            if self.variant is d2.P81:  # the counts must be possible; RT2 is not read by the probe
                d2.decode_status("p81", d2.p81_image(payload, bytes(2 * t.P81_RT2_REGS)))
            else:
                d2.decode_status("d2", payload)
        except (DeviceTimeout, ProtocolError, DeviceError) as err:
            _LOGGER.debug("%s: no %s answer: %s", self.link.description, self.label, err)
            return False
        return True

    async def read(self) -> BmsSnapshot:
        """One complete snapshot."""
        return d2.to_snapshot(await self.read_status())

    async def device_info(self) -> DeviceInfo:
        """Version strings (when the unit answers the version read) and the cell count."""
        if self._cell_count is None:
            await self.read_status()
        if self.variant is d2.P81:
            start, count = t.P81_VERSION_START, t.P81_VERSION_REGS
        else:
            start, count = t.D2_VERSION_START, t.D2_VERSION_REGS
        try:
            version = d2.decode_version(self.family, await self.read_registers(start, count, "the version read"))
        except (DeviceTimeout, ProtocolError, DeviceError) as err:
            _LOGGER.debug("%s: no version block: %s", self.link.description, err)
            version = {}
        return d2.to_device_info(self.family, version, self._cell_count, await self._chemistry())

    async def _chemistry(self) -> Chemistry | None:
        """D2: the battery type register, from the settings block read the vendor's app sends (read-only).

        A unit that does not answer it leaves the chemistry unknown.
        """
        if self.variant is not d2.D2:
            return None  # the P81 map documents no battery type
        try:
            block = await self.read_registers(ts.SETTINGS_START, ts.SETTINGS_REGS, "the settings block")
            return d2.decode_chemistry(block, ts.SETTINGS_START)
        except (DeviceTimeout, ProtocolError, DeviceError) as err:
            _LOGGER.debug("%s: no battery type: %s", self.link.description, err)
            return None

    # --- control ------------------------------------------------------------------------------------
    async def set_switch(self, switch: Switch, on: bool) -> BmsSnapshot:
        """Write the switch register, then read the status back until it agrees."""
        if self.variant is not d2.D2:
            raise ControlRefused(f"DALY {self.label} has no documented MOSFET switch registers; nothing was sent")
        register = t.D2_REG_CHARGE_SWITCH if switch is Switch.CHARGE else t.D2_REG_DISCHARGE_SWITCH
        what = f"the {switch} MOSFET switch (register 0x{register:02X})"
        try:
            await self.write_register(register, 1 if on else 0, what)
        except DeviceError as err:
            raise ControlRefused(str(err)) from err
        except FrameError as err:
            raise ControlNotConfirmed(str(err)) from err
        state = not on
        for attempt in range(CONFIRM_ATTEMPTS):
            if attempt:
                await asyncio.sleep(CONFIRM_INTERVAL)
            block = await self.read_status()
            state = bool(block.values["charge_mosfet" if switch is Switch.CHARGE else "discharge_mosfet"])
            if state == on:
                return d2.to_snapshot(block)
        raise ControlNotConfirmed(
            f"DALY {switch} MOSFET still {'on' if state else 'off'} after writing register 0x{register:02X}"
            f" (status read back {CONFIRM_ATTEMPTS} times)"
        )
