"""PACE ASCII framing, sans-IO: frame building and strict parsing, the stream assembler and the request builders.

Wire format (PROTOCOLS.md §4.1)::

    ~ VER ADR CID1 CID2 LENGTH INFO CHKSUM CR

``~`` (SOI) and CR (EOI) are sent raw; every other byte travels as two upper-case hex characters. LENGTH is four
hex characters: a 4-bit LCHKSUM over the 12-bit LENID, which counts the ASCII characters of INFO (twice its bytes);
LCHKSUM = -(sum of LENID's three nibbles) mod 16. CHKSUM = -(sum of the ASCII codes between SOI and CHKSUM)
mod 65536. In a response CID2 carries RTN (00 = normal). Requests and responses share the framing, so one
assembler serves the client (responses) and the simulator (requests).

Two variants are spoken: **v0x25** (PACE packs: VER 0x25, CID1 0x46, the COMMAND byte = pack address in INFO) and
**v0x20** as captured from an EG4 pack (VER 0x20, CID1 0x4A, no INFO in the read requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..errors import AddressError, ChecksumError, DeviceError, FrameError
from ..framing import Frame, FrameAssembler
from . import table as t

_HEADER: Final = 13  # "~" + VER ADR CID1 CID2 (8 hex chars) + LENGTH (4)
_OVERHEAD: Final = 18  # header + CHKSUM (4) + CR
_HEX: Final = frozenset(b"0123456789ABCDEFabcdef")
MAX_LENID: Final = 0xFFF


@dataclass(frozen=True, slots=True)
class Variant:
    """One dialect of the ASCII protocol."""

    family: str
    version: int
    cid1: int
    #: Whether 0x42/0x44 requests carry the COMMAND (pack address) byte in INFO.
    command_in_request: bool


V25: Final = Variant("ascii-25", t.VER_25, t.CID1_LFP, command_in_request=True)
V20: Final = Variant("ascii-20", t.VER_20, t.CID1_EG4, command_in_request=False)
VARIANTS: Final = {v.family: v for v in (V25, V20)}


@dataclass(frozen=True, slots=True)
class AsciiFrame:
    """One verified frame. ``cid2`` is the command of a request or the RTN of a response."""

    version: int
    address: int
    cid1: int
    cid2: int
    info: bytes
    raw: bytes

    @property
    def rtn(self) -> int:
        """Return code of a response (its CID2 field)."""
        return self.cid2


def lchksum(lenid: int) -> int:
    """The 4-bit length checksum of ``lenid`` (doc example: LENID 0x012 → 0xD)."""
    return -((lenid >> 8 & 0xF) + (lenid >> 4 & 0xF) + (lenid & 0xF)) & 0xF


def length_field(lenid: int) -> int:
    """LENGTH = LCHKSUM << 12 | LENID."""
    if not 0 <= lenid <= MAX_LENID:
        raise ValueError(f"PACE INFO of {lenid} characters does not fit LENID (max {MAX_LENID})")
    return lchksum(lenid) << 12 | lenid


def chksum(body: bytes) -> int:
    """CHKSUM of the ASCII characters between SOI and CHKSUM (doc example: "1203400356ABCEFE" → 0xFC72)."""
    return -sum(body) & 0xFFFF


def build_frame(version: int, address: int, cid1: int, cid2: int, info: bytes = b"") -> bytes:
    """A complete frame: ``build_frame(0x25, 1, 0x46, 0x42, bytes([1]))`` is ``~25014642E00201FD30`` + CR."""
    info_hex = info.hex().upper()
    head = f"{version:02X}{address:02X}{cid1:02X}{cid2:02X}{length_field(len(info_hex)):04X}"
    body = (head + info_hex).encode("ascii")
    return bytes((t.SOI,)) + body + f"{chksum(body):04X}".encode("ascii") + bytes((t.EOI,))


def _hex_value(raw: bytes, start: int, end: int, what: str) -> int:
    chunk = raw[start:end]
    if len(chunk) != end - start or not _HEX.issuperset(chunk):
        raise FrameError(f"PACE {what} is not hex: {chunk!r}")
    return int(chunk, 16)


def parse_frame(raw: bytes) -> AsciiFrame:
    """Strictly parse one complete frame.

    :class:`FrameError` when it is malformed, :class:`ChecksumError` on an LCHKSUM or CHKSUM mismatch.
    """
    if len(raw) < _OVERHEAD:
        raise FrameError(f"PACE frame truncated: {len(raw)} bytes, at least {_OVERHEAD} needed")
    if raw[0] != t.SOI:
        raise FrameError(f"PACE frame must start with '~', got {raw[0]:02X}")
    if raw[-1] != t.EOI:
        raise FrameError(f"PACE frame must end with CR, got {raw[-1]:02X}")
    version = _hex_value(raw, 1, 3, "VER")
    address = _hex_value(raw, 3, 5, "ADR")
    cid1 = _hex_value(raw, 5, 7, "CID1")
    cid2 = _hex_value(raw, 7, 9, "CID2")
    length = _hex_value(raw, 9, 13, "LENGTH")
    lenid = length & MAX_LENID
    if length >> 12 != lchksum(lenid):
        raise ChecksumError(
            f"PACE LCHKSUM {length >> 12:X} does not match LENID {lenid:03X} (expected {lchksum(lenid):X})"
        )
    if len(raw) != _OVERHEAD + lenid:
        raise FrameError(f"PACE frame declares {lenid} INFO characters but is {len(raw)} bytes long")
    if lenid % 2:
        raise FrameError(f"PACE LENID {lenid} is odd (INFO is hex pairs)")
    end = _HEADER + lenid
    received = _hex_value(raw, end, end + 4, "CHKSUM")
    expected = chksum(raw[1:end])
    if received != expected:
        raise ChecksumError(f"PACE CHKSUM {received:04X}, expected {expected:04X}")
    info_hex = raw[_HEADER:end]
    if not _HEX.issuperset(info_hex):
        raise FrameError("PACE INFO contains non-hex characters")
    return AsciiFrame(version, address, cid1, cid2, bytes.fromhex(info_hex.decode("ascii")), bytes(raw))


def to_frame(frame: AsciiFrame) -> Frame:
    """The link-level view: ``command`` = CID1, ``status`` = CID2/RTN, ``address`` = ADR, ``payload`` = INFO."""
    return Frame(command=frame.cid1, payload=frame.info, raw=frame.raw, address=frame.address, status=frame.cid2)


def from_frame(frame: Frame) -> AsciiFrame:
    """Back from a link frame to the full ASCII view (re-parses the verified raw bytes)."""
    return parse_frame(frame.raw)


class AsciiAssembler(FrameAssembler):
    """Cuts ``~…CR`` frames out of a byte stream (requests or responses); junk and corrupt frames are dropped."""

    max_buffer = 2 * (_OVERHEAD + MAX_LENID)

    def next_start(self, buf: bytearray, pos: int) -> int:
        """Next ``~``."""
        return buf.find(t.SOI, pos)

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """18 + LENID once the header is buffered; a non-hex header or a bad LCHKSUM marks junk."""
        if len(buf) - start < _HEADER:
            return None
        head = bytes(buf[start + 1 : start + _HEADER])
        if not _HEX.issuperset(head):
            raise FrameError(f"not a PACE header: {head!r}")
        length = int(head[8:12], 16)
        if length >> 12 != lchksum(length & MAX_LENID):
            raise ChecksumError("PACE LCHKSUM mismatch")
        return _OVERHEAD + (length & MAX_LENID)

    def parse(self, raw: bytes) -> Frame:
        """Strict parse."""
        return to_frame(parse_frame(raw))


# --- requests ------------------------------------------------------------------------------------------------
def build_request(variant: Variant, address: int, cid2: int, info: bytes = b"") -> bytes:
    """A request in ``variant`` to the pack at ``address`` (0-15)."""
    if not 0 <= address <= 0xFF:
        raise ValueError(f"PACE address {address} out of range")
    return build_frame(variant.version, address, variant.cid1, cid2, info)


def build_read(variant: Variant, address: int, cid2: int, command: int | None = None) -> bytes:
    """A 0x42/0x44 read request.

    INFO is the COMMAND byte (the pack address, or ``command``, e.g. 0xFF for every pack) where the variant sends one:
    ``build_read(V25, 1, 0x42)`` is ``~25014642E00201FD30`` + CR; v0x20 EG4 sends ``~20014A420000FDA2`` + CR.
    """
    info = bytes((address if command is None else command,)) if variant.command_in_request else b""
    return build_request(variant, address, cid2, info)


def build_mosfet(address: int, charge: bool, on: bool) -> bytes:
    """v0x25 0x9A (charge) / 0x9B (discharge) with data 00 = on, 01 = off (``~2500469BE00201FD1C`` = discharge off)."""
    cid2 = t.Cid2.CHARGE_MOSFET if charge else t.Cid2.DISCHARGE_MOSFET
    return build_request(V25, address, cid2, bytes((t.MOSFET_ON if on else t.MOSFET_OFF,)))


def build_response(variant: Variant, address: int, info: bytes, rtn: int = t.RTN_OK) -> bytes:
    """A response frame (the simulator's answer)."""
    return build_frame(variant.version, address, variant.cid1, rtn, info)


def rtn_text(rtn: int) -> str:
    """Human text of a return code."""
    return t.RTN_TEXT.get(rtn, "unknown error")


def check_response(frame: AsciiFrame, address: int, variant: Variant, what: str) -> bytes:
    """INFO of ``frame`` if it is a normal answer from ``address``.

    :class:`AddressError` for another pack's reply, :class:`FrameError` for another protocol version,
    :class:`DeviceError` for an RTN error.
    """
    if frame.address != address:
        raise AddressError(f"PACE reply to {what} came from address {frame.address}, asked {address}")
    if frame.version != variant.version:
        raise FrameError(f"PACE reply to {what} speaks VER 0x{frame.version:02X}, expected 0x{variant.version:02X}")
    if frame.rtn != t.RTN_OK:
        raise DeviceError(f"PACE pack {address} refused {what}: RTN 0x{frame.rtn:02X} ({rtn_text(frame.rtn)})")
    return frame.info
