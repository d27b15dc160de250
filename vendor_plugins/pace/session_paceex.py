"""The PACEEX session: PACE's own Bluetooth protocol, one BLE connection to a pack that answers for its bank.

A read of pack ``n`` asks three records with data ``[n, 0x01]``: 0x0A01 (values), 0x0A02 (cells and cell sensors) and
0x0A03 (status). Over the connection to a parallel bank's master every pack of the bank is reachable this way, so
``--address all`` / the Home Assistant pack scan find them as separate packs (addresses 1-15, the connected pack is
1). The bank-wide 0x0A00 record is read only for :meth:`PaceexSession.read_system`: packs that are not the master
answer it with zeros (aiobmsble PR #259), which is why each pack is read through its own 0x0A01.

Replies are matched by their type, but they do not repeat the pack number: a 0x0A01 reply for pack 2 that arrives
after its exchange timed out is byte for byte an answer to the 0x0A01 request for pack 3 that follows. So every
request names its record type as its ``answer_key``: for the link's late-reply protection the requests of one type are
one request, whatever the pack — after one went unanswered, the next of that type (any pack) waits out the late-reply
horizon and is sent once as a flush whose answer is thrown away (:mod:`vendor_plugins.transports.base`). A held-back
reply for another pack thus ends in the flush, never in a snapshot. A record of all zeros is "no such pack"
(:class:`~vendor_plugins.errors.AddressError`): a scan skips it instead of showing a pack of zeros. No public source
documents a PACEEX write, so switching a MOSFET is refused without a byte sent.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import BmsError, ConfigError, ControlRefused, UnsupportedError
from ..framing import Expect, Frame
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..plugin import Session, SessionOptions
from ..transports.base import Link, as_byte_link
from . import codec_paceex as codec
from . import table_paceex as t


class ControlUnsupported(ControlRefused, UnsupportedError):
    """The protocol has no documented write for this: refused (a control refusal, exit code 4), nothing sent."""


def check_pack(address: int | None) -> int:
    """The pack number to ask for (1-15; ``None``: the connected pack, 1)."""
    if address is None:
        return t.FIRST_PACK
    if not t.FIRST_PACK <= address <= t.MAX_PACKS:
        raise ConfigError(f"PACEEX packs are numbered {t.FIRST_PACK}-{t.MAX_PACKS}, not {address}")
    return address


class PaceexSession(Session):
    """Reads the packs of one PACEEX Bluetooth connection (the connected pack and, on a master, its bank)."""

    default_address = t.FIRST_PACK
    family = t.FAMILY
    writes_control = False

    def __init__(self, link: Link, options: SessionOptions) -> None:
        """Speak PACEEX over ``link`` (a byte link: BLE, or a TCP/serial bridge for tests)."""
        super().__init__(link, options)
        self.byte_link = as_byte_link(link)

    async def request(self, frame_type: t.FrameType, pack: int | None = None) -> bytes:
        """Send one request and return the data of the reply of the same type.

        A late reply of that type for another pack is flushed out by the link: the requests of one type share an
        ``answer_key``.
        """
        request = codec.build_request(frame_type, pack)

        def answers(frame: Frame) -> bool:
            return frame.command == frame_type and frame.raw != request

        expect = Expect(assembler=codec.PaceexAssembler, match=answers, answer_key=(t.FAMILY, frame_type))
        frames = await self.byte_link.exchange(request, expect)
        return frames[0].payload

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """Values, cells and status of pack ``address``, as one snapshot."""
        pack = check_pack(address)
        pack_rec = codec.decode_pack(await self.request(t.FrameType.PACK, pack), pack)
        cells = codec.decode_cells(await self.request(t.FrameType.CELLS, pack), pack)
        status = codec.decode_status(await self.request(t.FrameType.STATUS, pack), pack)
        return codec.to_snapshot(pack_rec, cells, status)

    async def read_system(self) -> Mapping[str, int]:
        """The bank record 0x0A00 as raw integers (``pack_count`` 0 and all zeros: not connected to the master)."""
        return codec.decode_system(await self.request(t.FrameType.SYSTEM))

    async def _texts(self) -> dict[str, str | None]:
        """Version texts and serial number of the connected pack (``None`` where the firmware does not answer)."""
        out: dict[str, str | None] = dict.fromkeys((*t.VERSION_TEXTS, "serial_number"))
        try:
            data = await self.request(t.FrameType.VERSION)
            texts = codec.decode_texts(data, len(t.VERSION_TEXTS), t.VERSION_LEAD)
            out.update(zip(t.VERSION_TEXTS, texts, strict=True))
            (out["serial_number"],) = codec.decode_texts(await self.request(t.FrameType.SERIAL), 1)
        except BmsError:
            pass  # the version request is not in any public trace: a pack may not know it
        return out

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """Cell count from 0x0A02; versions and serial number for the connected pack (1) only.

        The version and serial requests name no pack: they describe the pack one is connected to, never a slave.
        """
        pack = check_pack(address)
        cells = codec.decode_cells(await self.request(t.FrameType.CELLS, pack), pack)
        texts = await self._texts() if pack == t.FIRST_PACK else {}
        software = texts.get("software_version")
        return DeviceInfo(
            vendor="PACE",
            family=self.family,
            model=software.split("-")[0] if software else None,
            hardware_version=texts.get("hardware_version"),
            software_version=software,
            serial_number=texts.get("serial_number"),
            cell_count=len(cells.cells),
            address=pack,
        )

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        raise ControlUnsupported(
            f"PACEEX (PACE Bluetooth) has no documented command to switch the {switch} MOSFET; nothing was sent"
        )
