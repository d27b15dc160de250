"""The PACE ASCII session: 0x42 + 0x44 per pack address, device info (0xC1/0xC2) and verified MOSFET control.

One link (serial port or TCP bridge) carries a bus of packs at addresses 0-15; the link's lock keeps requests
strictly one at a time, and replies are matched by address so a late answer of another pack is never taken for
this one. Control (v0x25 only) sends 0x9A/0x9B and reads InstructionState back (0x44) until it shows the requested
state; a refusal (RTN 0x09) becomes :class:`~vendor_plugins.errors.ControlRefused` with the reason.
"""

from __future__ import annotations

import asyncio

from ..battery_settings import BmsSettings, SettingsTable
from ..errors import BmsError, ConfigError, ControlNotConfirmed, ControlRefused, DeviceError
from ..framing import Expect, Frame
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..plugin import Session, SessionOptions
from ..transports.base import Link, as_byte_link
from . import codec_ascii as codec
from . import codec_ascii_layout as layout
from . import table as t
from .session_settings import NO_SOC, AsciiSettingsIO, ascii_table

CONFIRM_ATTEMPTS = 3
CONFIRM_INTERVAL = 0.25


def check_address(address: int | None, default: int) -> int:
    """The pack address to talk to (0-15)."""
    if address is None:
        return default
    if not 0 <= address <= t.MAX_ADDRESS:
        raise ConfigError(f"PACE pack address must be 0-{t.MAX_ADDRESS}, got {address}")
    return address


class PaceAsciiSession(Session):
    """Reads (and on v0x25 controls) the packs of one ASCII bus."""

    default_address = 1

    def __init__(self, link: Link, options: SessionOptions, variant: codec.Variant = codec.V25) -> None:
        """Speak ``variant`` over ``link`` (a byte link; any other raises ``UnsupportedError``)."""
        super().__init__(link, options)
        self.byte_link = as_byte_link(link)
        self.variant = variant
        self.family = variant.family
        self._settings = AsciiSettingsIO(self)

    def _expect(self, address: int, request: bytes) -> Expect:
        def from_this_pack(frame: Frame) -> bool:
            # An echoing RS485 adapter hands our own request back first: it is not the pack's answer.
            return frame.address == address and frame.raw != request

        return Expect(assembler=codec.AsciiAssembler, match=from_this_pack)

    async def request(self, address: int, request: bytes, what: str) -> bytes:
        """Send ``request`` to the pack at ``address`` and return the INFO of its normal answer."""
        frames = await self.byte_link.exchange(request, self._expect(address, request))
        return codec.check_response(codec.from_frame(frames[0]), address, self.variant, what)

    async def read_analog(self, address: int) -> layout.AnalogInfo:
        """0x42."""
        info = await self.request(address, codec.build_read(self.variant, address, t.Cid2.ANALOG), "0x42")
        return layout.decode_analog(info, self.variant.version)

    async def read_warn(self, address: int) -> layout.WarnInfo:
        """0x44."""
        info = await self.request(address, codec.build_read(self.variant, address, t.Cid2.WARN), "0x44")
        return layout.decode_warn(info, self.variant.version)

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """Analog (0x42) then warn/status (0x44) information of one pack, as one snapshot."""
        address = check_address(address, self.default_address)
        analog = await self.read_analog(address)
        warn = await self.read_warn(address)
        return layout.to_snapshot(analog.blocks[0], warn, version=self.variant.version, infoflag=analog.infoflag)

    async def _text(self, address: int, cid2: int) -> str | None:
        request = codec.build_request(self.variant, address, cid2)
        try:
            info = await self.request(address, request, f"0x{cid2:02X}")
        except DeviceError:  # RTN 0x04: firmware without this command
            return None
        return info.decode("ascii", errors="replace").replace("\x00", " ").strip() or None

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """Cell count from 0x42; on v0x25 also 0xC1 (version string) and 0xC2 (serial number)."""
        address = check_address(address, self.default_address)
        analog = await self.read_analog(address)
        version = serial = None
        if self.variant.version == t.VER_25:
            version = await self._text(address, t.Cid2.SOFTWARE_VERSION)
            serial = await self._text(address, t.Cid2.PRODUCT_INFO)
        return DeviceInfo(
            vendor="PACE",
            family=self.family,
            model=version,
            hardware_version=version,
            serial_number=serial,
            cell_count=len(analog.blocks[0].cells),
            address=address,
        )

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        address = check_address(address, self.default_address)
        if self.variant.version != t.VER_25:
            raise ControlRefused(f"MOSFET control is documented for PACE v0x25 only, not {self.family}")
        request = codec.build_mosfet(address, switch is Switch.CHARGE, on)
        what = f"switching the {switch} MOSFET {'on' if on else 'off'}"
        frames = await self.byte_link.exchange(request, self._expect(address, request))
        reply = codec.from_frame(frames[0])
        if reply.rtn != t.RTN_OK:
            reason = codec.rtn_text(reply.rtn)
            if reply.rtn == t.RTN_OPERATION_ERROR:
                reason += " - the BMS keeps at least one MOSFET on and may refuse depending on the current direction"
            raise ControlRefused(f"PACE pack {address} refused {what}: RTN 0x{reply.rtn:02X} ({reason})")
        codec.check_response(reply, address, self.variant, what)
        return await self._confirm(address, switch, on, what)

    async def _confirm(self, address: int, switch: Switch, on: bool, what: str) -> BmsSnapshot:
        state = None
        for attempt in range(CONFIRM_ATTEMPTS):
            if attempt:
                await asyncio.sleep(CONFIRM_INTERVAL)
            try:
                snapshot = await self.read(address)
            except BmsError:
                if attempt == CONFIRM_ATTEMPTS - 1:
                    raise
                continue
            state = snapshot.charge_mosfet if switch is Switch.CHARGE else snapshot.discharge_mosfet
            if state == on:
                return snapshot
        raise ControlNotConfirmed(
            f"PACE pack {address}: {what} was accepted but InstructionState still shows it {'on' if state else 'off'}"
        )

    # --- battery settings: the v0x25 PbmsTools parameter frames (session_settings) -----------------------------
    def settings_table(self, address: int | None = None) -> SettingsTable:
        """The v0x25 parameter groups; v0x20 is refused before any I/O."""
        return ascii_table(self.family)

    async def _read_settings(self, address: int | None) -> BmsSettings:
        address = check_address(address, self.default_address)
        analog = await self.read_analog(address)
        return await self._settings.read(address, len(analog.blocks[0].cells))

    async def _write_settings(
        self, address: int | None, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]
    ) -> None:
        await self._settings.write(check_address(address, self.default_address), current, target, names)

    def soc_unsupported_reason(self) -> str | None:
        """No SoC command is documented."""
        return NO_SOC.format(family=self.family)
