"""Reading and switching one ACME pack over a byte link (TCP bridge, serial port or Bluetooth)."""

from __future__ import annotations

from vendor_plugins.errors import ControlNotConfirmed
from vendor_plugins.framing import Expect, Frame
from vendor_plugins.model import BmsSnapshot, DeviceInfo, Switch
from vendor_plugins.plugin import Session
from vendor_plugins.transports.base import as_byte_link

from . import codec

VENDOR = "ACME"
#: Read-backs after a switch before it counts as not confirmed.
CONFIRM_ATTEMPTS = 3


def _expect(command: int) -> Expect:
    def answers(frame: Frame) -> bool:
        return frame.command == command | codec.ANSWER

    return Expect(assembler=codec.AcmeAssembler, match=answers)


class AcmeSession(Session):
    """One ACME pack (one per link: no bus address)."""

    async def _ask(self, command: int, payload: bytes = b"") -> bytes:
        frames = await as_byte_link(self.link).exchange(codec.build(command, payload), _expect(command))
        return codec.check_answer(frames[0], command)

    async def _status(self) -> codec.Status:
        return codec.decode_status(await self._ask(codec.CMD_STATUS))

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """The status answer as a snapshot."""
        return codec.to_snapshot(await self._status())

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """The model name, and the cell count from a status answer."""
        model = (await self._ask(codec.CMD_INFO)).decode("ascii", "replace")
        status = await self._status()
        return DeviceInfo(vendor=VENDOR, model=model, cell_count=len(status.cells))

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        bit = codec.FLAG_CHARGE if switch is Switch.CHARGE else codec.FLAG_DISCHARGE
        flags = (await self._status()).flags & (codec.FLAG_CHARGE | codec.FLAG_DISCHARGE)
        await self._ask(codec.CMD_SET_FETS, bytes(((flags | bit) if on else (flags & ~bit),)))
        for _ in range(CONFIRM_ATTEMPTS):
            snapshot = await self.read(address)
            if (snapshot.charge_mosfet if switch is Switch.CHARGE else snapshot.discharge_mosfet) is on:
                return snapshot
        raise ControlNotConfirmed(f"ACME {switch} MOSFET did not turn {'on' if on else 'off'}")
