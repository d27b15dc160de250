"""The A5 read and control sequence: 0x90, 0x93, 0x94, 0x95 xn, 0x96 xm, 0x97, 0x98; 0xDA/0xD9 verified by 0x93.

One request at a time (the documents say a unit "can not read two data at a time"). Replies are matched by
command, so the surplus 0x95/0x96 frames some units send — and that may still be arriving when the next request
goes out — never answer it: the link drops what is unread before sending, and the match drops the rest. A read
waits for exactly the frames the cell/sensor count needs; if one never comes the error names it. The 8-bit sum
lets a byte-shifted window through once in 256: the assembler refuses a frame followed by bytes no frame starts
with, an answer whose frame a later chunk showed to be shifted is refused here, multi-frame answers must arrive as
frames 1..n once each, and the codec cross-checks the answers before a snapshot exists (:mod:`.codec_a5`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from ..errors import ControlNotConfirmed, DeviceTimeout, FrameError, ProtocolError
from ..framing import Expect, Frame
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..transports.base import Link
from . import codec_a5 as a5
from . import table as t
from .session_base import CONFIRM_ATTEMPTS, CONFIRM_INTERVAL, FamilyReader, shared_timeout

_LOGGER = logging.getLogger(__name__)

_MULTI_WHAT = {t.CMD_CELLS: "cell voltages", t.CMD_TEMPS: "temperatures"}


class _Assemblers:
    """The assembler factory of one request: remembers the assembler of the last exchange, to ask it afterwards."""

    def __init__(self) -> None:
        self.last: a5.A5Assembler | None = None

    def __call__(self) -> a5.A5Assembler:
        self.last = a5.A5Assembler()
        return self.last

    def check(self, command: int) -> None:
        """:class:`FrameError` when a frame of the answer turned out to be a byte-shifted window (see ``straddled``)."""
        if self.last is not None and self.last.straddled:
            raise FrameError(
                f"DALY 0x{command:02X}: a frame of the answer was followed by bytes no frame starts with"
                " (a lost or inserted byte shifted it); answer refused"
            )


def _single(command: int, assemblers: _Assemblers) -> Expect:
    def is_answer(frame: Frame) -> bool:
        return frame.command == command

    return Expect(assembler=assemblers, match=is_answer)


class A5Reader(FamilyReader):
    """The legacy protocol at one host address (found by probing 0x80 then 0x40 when not given)."""

    family = "a5"

    def __init__(self, link: Link, host_address: int | None = None) -> None:
        """Talk as ``host_address`` (0x40 RS485, 0x80 UART/BLE); ``None`` finds it on first use."""
        super().__init__(link)
        self.host_address = host_address

    @property
    def label(self) -> str:
        """``A5 at host 0x80``."""
        return "A5" if self.host_address is None else f"A5 at host 0x{self.host_address:02X}"

    # --- probing ------------------------------------------------------------------------------------
    async def _answers_at(self, host: int) -> bool:
        try:
            frames = await self.link.exchange(a5.build_request(t.CMD_PACK, host), _single(t.CMD_PACK, _Assemblers()))
            a5.decode_fields(t.CMD_PACK, frames[0].payload)
        except (DeviceTimeout, ProtocolError) as err:
            _LOGGER.debug("%s: no A5 answer at host 0x%02X: %s", self.link.description, host, err)
            return False
        return True

    async def probe(self) -> bool:
        """Read 0x90 at the host address (or at 0x80, then 0x40: they share the timeout); remember who answered."""
        hosts = (self.host_address,) if self.host_address is not None else t.HOST_PROBE_ORDER
        with shared_timeout(self.link, len(hosts)):
            for host in hosts:
                if await self._answers_at(host):
                    self.host_address = host
                    return True
        return False

    async def _host(self) -> int:
        if self.host_address is None and not await self.probe():
            raise DeviceTimeout(f"{self.link.description}: no DALY A5 answer at host address 0x80 or 0x40")
        assert self.host_address is not None
        return self.host_address

    # --- requests -----------------------------------------------------------------------------------
    async def _payload(self, command: int) -> bytes:
        request = a5.build_request(command, await self._host())
        assemblers = _Assemblers()
        frames = await self.link.exchange(request, _single(command, assemblers))
        assemblers.check(command)
        return a5.check_answer(frames[0], command)

    async def read_fields(self, command: int) -> dict[str, int]:
        """One of the single-frame answers 0x90-0x94 as raw integers."""
        return a5.decode_fields(command, await self._payload(command))

    async def read_frames(self, command: int, needed: int) -> Sequence[Frame]:
        """Frames 1..``needed`` of a multi-frame answer (0x95/0x96); surplus frames are ignored."""
        if needed == 0:
            return []
        seen: list[int] = []

        def is_answer(frame: Frame) -> bool:
            return frame.command == command

        def complete(frames: Sequence[Frame]) -> bool:
            seen[:] = a5.frame_numbers(frames)
            return not a5.missing_frames(seen, needed)

        request = a5.build_request(command, await self._host())
        assemblers = _Assemblers()
        try:
            frames = await self.link.exchange(request, Expect(assembler=assemblers, match=is_answer, until=complete))
        except DeviceTimeout as err:
            missing = ", ".join(map(str, a5.missing_frames(seen, needed)))
            received = ", ".join(map(str, sorted(set(seen)))) or "none"
            raise DeviceTimeout(
                f"DALY 0x{command:02X} ({_MULTI_WHAT[command]}): frame(s) {missing} of {needed} never arrived"
                f" (received {received}) — {err}"
            ) from err
        assemblers.check(command)
        return frames

    async def read_reading(self) -> a5.A5Reading:
        """Every answer a snapshot needs, in the documented order."""
        pack = await self.read_fields(t.CMD_PACK)
        mosfet = await self.read_fields(t.CMD_MOSFET)
        status = await self.read_fields(t.CMD_STATUS)
        cell_count, temp_count = status["cell_count"], status["temp_count"]
        if not 0 <= cell_count <= t.MAX_CELLS or not 0 <= temp_count <= t.MAX_TEMPS:
            raise FrameError(f"DALY 0x94 reports {cell_count} cells and {temp_count} sensors: impossible")
        cell_frames = await self.read_frames(t.CMD_CELLS, a5.frames_needed(cell_count, t.CELLS_PER_FRAME))
        temp_frames = await self.read_frames(t.CMD_TEMPS, a5.frames_needed(temp_count, t.TEMPS_PER_FRAME))
        return a5.A5Reading(
            pack=pack,
            mosfet=mosfet,
            status=status,
            cells_mv=a5.decode_cells(cell_frames, cell_count),
            temps_raw=a5.decode_temps(temp_frames, temp_count),
            balance=await self._payload(t.CMD_BALANCE),
            failure=await self._payload(t.CMD_FAILURE),
        )

    async def read(self) -> BmsSnapshot:
        """One complete snapshot (no partial one: any missing answer is an error)."""
        reading = await self.read_reading()
        return a5.to_snapshot(reading, self.host_address)

    async def device_info(self) -> DeviceInfo:
        """Cell count from 0x94 (the A5 documents define no version or serial command)."""
        return a5.to_device_info(await self.read_fields(t.CMD_STATUS))

    # --- control ------------------------------------------------------------------------------------
    async def set_switch(self, switch: Switch, on: bool) -> BmsSnapshot:
        """0xDA / 0xD9, then read 0x93 back until it shows the requested state."""
        command = t.CMD_CHARGE_SWITCH if switch is Switch.CHARGE else t.CMD_DISCHARGE_SWITCH
        request = a5.build_switch(switch, on, await self._host())
        try:
            frames = await self.link.exchange(request, _single(command, _Assemblers()))
            acknowledged = a5.check_answer(frames[0], command)[0]
            if acknowledged != int(on):
                _LOGGER.warning("DALY acknowledged %s %s with %d; checking the state", switch, on, acknowledged)
        except DeviceTimeout:
            _LOGGER.debug("no acknowledgement of the %s switch; the read-back decides", switch)
        field = "charge_mosfet" if switch is Switch.CHARGE else "discharge_mosfet"
        state = not on
        for attempt in range(CONFIRM_ATTEMPTS):
            if attempt:
                await asyncio.sleep(CONFIRM_INTERVAL)
            state = bool((await self.read_fields(t.CMD_MOSFET))[field])
            if state == on:
                return await self.read()
        raise ControlNotConfirmed(
            f"DALY {switch} MOSFET still {'on' if state else 'off'} after 0x{command:02X} (0x93 read back"
            f" {CONFIRM_ATTEMPTS} times)"
        )
