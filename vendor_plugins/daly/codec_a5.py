"""DALY legacy "A5" codec (UART / RS485 / old Bluetooth dongles), sans-IO.

Wire format (PROTOCOLS.md §1.1) — every message is 13 bytes::

    request    A5 | host address (0x40 RS485, 0x80 UART/BLE) | command | 08 | 8 data bytes | checksum
    response   A5 | 01 (the BMS)                              | command | 08 | 8 data bytes | checksum

The checksum is the low byte of the sum of the 12 bytes before it. 0x95 (cell voltages) and 0x96 (temperatures)
answer with several frames, numbered from **1** on the wire; some units send all 16 (or 3) frames whatever the
cell count. Current is ``raw - 30000`` in 0.1 A with **discharge positive** on this firmware (a real log shows
0x93 state "discharge" with raw 30500), so the model current (+ = charging) is ``(30000 - raw) / 10``.
The encoders are the exact inverse of the decoders; the simulator answers with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ..errors import ChecksumError, FrameError, ImplausibleValueError
from ..fields import Field, pack, unpack
from ..framing import Frame, FrameAssembler
from ..model import BmsSnapshot, DeviceInfo, Switch, Temperature, TemperatureKind
from . import codec_faults as faults
from . import table as t

ZERO_DATA: Final = bytes(t.A5_DATA_LEN)
#: What an idle or turning-around serial line may add between frames.
_IDLE_BYTES: Final = b"\x00\xff"


def checksum(data: bytes | bytearray) -> int:
    """Low byte of the plain sum of ``data``."""
    return sum(data) & 0xFF


def _frame(address: int, command: int, data: bytes) -> bytes:
    if len(data) != t.A5_DATA_LEN:
        raise ValueError(f"DALY A5 frames carry exactly 8 data bytes, got {len(data)}")
    body = bytes((t.A5_START, address, command, t.A5_DATA_LEN)) + data
    return body + bytes((checksum(body),))


def build_request(command: int, host: int, data: bytes = ZERO_DATA) -> bytes:
    """Request ``command`` from host address ``host`` (``build_request(0x90, 0x40)`` ends in ``7D``)."""
    return _frame(host, command, data)


def build_response(command: int, payload: bytes) -> bytes:
    """Response frame of the BMS (address 0x01), used by the simulator."""
    return _frame(t.A5_BMS_ADDRESS, command, payload)


def build_switch(switch: Switch, on: bool, host: int) -> bytes:
    """0xDA (charge) / 0xD9 (discharge) with B0 = 1 (on) or 0 (off)."""
    command = t.CMD_CHARGE_SWITCH if switch is Switch.CHARGE else t.CMD_DISCHARGE_SWITCH
    return build_request(command, host, bytes((1 if on else 0,)) + bytes(t.A5_DATA_LEN - 1))


def parse_frame(raw: bytes, *, request: bool = False) -> Frame:
    """Strictly parse one 13-byte frame; :class:`FrameError`/:class:`ChecksumError` when it is not valid.

    ``Frame.command`` is the command, ``Frame.address`` the address byte, ``Frame.payload`` the 8 data bytes.
    Responses must come from the BMS (0x01); requests (``request=True``) from any other address.
    """
    if len(raw) != t.A5_FRAME_LEN:
        raise FrameError(f"DALY A5 frame must be 13 bytes, got {len(raw)}")
    if raw[0] != t.A5_START:
        raise FrameError(f"DALY A5 frame must start with A5, got {raw[0]:02X}")
    if raw[3] != t.A5_DATA_LEN:
        raise FrameError(f"DALY A5 frame must declare 8 data bytes, got {raw[3]}")
    if (raw[1] == t.A5_BMS_ADDRESS) == request:
        direction = "request" if request else "response"
        raise FrameError(f"DALY A5 {direction} cannot come from address {raw[1]:02X}")
    expected = checksum(raw[:12])
    if raw[12] != expected:
        raise ChecksumError(f"DALY A5 checksum {raw[12]:02X}, expected {expected:02X}")
    return Frame(command=raw[2], payload=bytes(raw[4:12]), raw=bytes(raw), address=raw[1])


class A5Assembler(FrameAssembler):
    """Reassembles A5 frames from chunks (responses by default; ``request=True`` for a simulator).

    The 8-bit sum passes one corrupt 13-byte window in 256, so framing is checked too: frames of one answer are sent
    back to back, so the bytes right after a frame must be the start of another, or idle-line bytes (0x00/0xFF, as
    an RS485 transceiver may leave when it turns around), or nothing yet. A window shifted by a lost or inserted byte
    ends inside the next frame (or one byte before it) and is dropped as junk. A window followed by an idle byte that
    could be its own sum, pushed out by an inserted byte, is refused too; followed by a lone A5 that could be that
    sum, it waits for the next byte (the address of a real next frame, or nothing and a timeout). When a frame ended
    a chunk, the next chunk is checked the same way: :attr:`straddled` counts frames already returned that the next
    chunk showed to be such a window (a reader refuses the answer then).
    """

    def __init__(self, *, request: bool = False) -> None:
        """Choose the direction to assemble."""
        super().__init__()
        self.request = request
        #: Frames returned whose following bytes (in a later chunk) could not start a frame.
        self.straddled = 0
        self._open_tail = False
        self._last_raw = b""

    def next_start(self, buf: bytearray, pos: int) -> int:
        """Next A5 byte."""
        return buf.find(t.A5_START, pos)

    def may_start(self, buf: bytes | bytearray, at: int) -> bool:
        """Whether the bytes from ``at`` (as many as there are, after idle-line bytes) can begin a frame."""
        while at < len(buf) and buf[at] in _IDLE_BYTES:
            at += 1
        have = len(buf) - at
        if have <= 0:
            return True
        if buf[at] != t.A5_START:
            return False
        if have >= 2 and (buf[at + 1] == t.A5_BMS_ADDRESS) == self.request:
            return False
        return have < 4 or buf[at + 3] == t.A5_DATA_LEN

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """Always 13, once the header looks right and what follows the frame (if anything) can start one."""
        have = len(buf) - start
        if have >= 2 and (buf[start + 1] == t.A5_BMS_ADDRESS) == self.request:
            raise FrameError("not a DALY A5 header (address byte)")
        if have >= 4 and buf[start + 3] != t.A5_DATA_LEN:
            raise FrameError("not a DALY A5 header (length byte)")
        if have > t.A5_FRAME_LEN:
            end = start + t.A5_FRAME_LEN
            if not self.may_start(buf, end):
                raise FrameError("DALY A5 window followed by junk: a lost or inserted byte shifted it")
            follower = buf[end]
            if (follower in _IDLE_BYTES or have == t.A5_FRAME_LEN + 1) and self._slipped(buf[start:end], follower):
                if follower in _IDLE_BYTES:
                    raise FrameError("DALY A5 window may hold an inserted byte: the idle byte after it is its sum")
                return None  # a lone A5 after it: its sum, or the next frame's start? The next byte tells.
        return t.A5_FRAME_LEN if have >= 4 else None

    def _slipped(self, window: bytes | bytearray, follower: int) -> bool:
        """Whether ``window`` and the byte after it also read as a frame with one byte inserted.

        A byte inserted into a frame pushes its sum out of the window. When that sum is 0x00 or 0xFF it looks like
        idle line, and when it is 0xA5 like the next frame's start. If dropping one of the window's bytes 1..12 and
        taking ``follower`` as the sum gives a valid frame, the two readings cannot be told apart from these bytes
        alone (a real frame followed by such a byte reads both ways about one time in 30).
        """
        joined = bytes(window) + bytes((follower,))
        for i in range(1, t.A5_FRAME_LEN):
            try:
                parse_frame(joined[:i] + joined[i + 1 :], request=self.request)
            except FrameError, ChecksumError:
                continue
            return True
        return False

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by ``data``; counts a frame of the previous chunk that ``data`` shows was shifted."""
        if self._open_tail and data:
            self._open_tail = False
            if not self.may_start(data, 0) or (data[0] in _IDLE_BYTES and self._slipped(self._last_raw, data[0])):
                self.straddled += 1
        frames = super().feed(data)
        if frames:
            self._open_tail = self.pending == 0
            self._last_raw = frames[-1].raw
        return frames

    def reset(self) -> None:
        """Forget buffered bytes and what the last frame was followed by."""
        super().reset()
        self._open_tail = False

    def parse(self, raw: bytes) -> Frame:
        """Strict parse in this assembler's direction."""
        return parse_frame(raw, request=self.request)


def check_answer(frame: Frame, command: int) -> bytes:
    """Payload of ``frame`` if it answers ``command``."""
    if frame.command != command:
        raise FrameError(f"DALY A5 answer is for command 0x{frame.command:02X}, asked 0x{command:02X}")
    return frame.payload


# --- fixed layouts ----------------------------------------------------------------------------------------
def reserved_offsets(layout: Sequence[Field]) -> tuple[int, ...]:
    """Payload offsets a layout does not cover (reserved; real units repeat stale bytes there)."""
    covered = {o for f in layout for o in range(f.offset, f.end)}
    return tuple(o for o in range(t.A5_DATA_LEN) if o not in covered)


def decode_fields(command: int, payload: bytes) -> dict[str, int]:
    """Raw integers of a single-frame answer (0x90-0x94)."""
    return unpack(t.A5_LAYOUTS[command], payload)


def reserved_bytes(layout: Sequence[Field], payload: bytes) -> bytes:
    """The reserved bytes of ``payload`` under ``layout``, in offset order."""
    return bytes(payload[o] for o in reserved_offsets(layout))


def encode_fields(layout: Sequence[Field], values: Mapping[str, int], reserved: bytes = b"") -> bytes:
    """Payload for ``values``; ``reserved`` fills the uncovered offsets (zeros when empty)."""
    out = pack(layout, values, t.A5_DATA_LEN)
    offsets = reserved_offsets(layout)
    if reserved:
        if len(reserved) != len(offsets):
            raise ValueError(f"layout has {len(offsets)} reserved bytes, got {len(reserved)}")
        for offset, value in zip(offsets, reserved, strict=True):
            out[offset] = value
    return bytes(out)


# --- multi-frame answers (0x95 cells, 0x96 temperatures) --------------------------------------------------
def frames_needed(count: int, per_frame: int) -> int:
    """Frames that carry ``count`` values at ``per_frame`` values each."""
    return -(-count // per_frame)


def frame_numbers(frames: Iterable[Frame]) -> list[int]:
    """Frame numbers (byte 0 of each payload) in arrival order."""
    return [f.payload[0] for f in frames]


def missing_frames(numbers: Iterable[int], needed: int) -> list[int]:
    """Which of the 1-based frames ``1..needed`` are not among ``numbers``."""
    have = set(numbers)
    return [n for n in range(1, needed + 1) if n not in have]


def _ordered_payloads(frames: Sequence[Frame], command: int, needed: int, what: str) -> list[bytes]:
    """Payloads of frames 1..needed in order; extra frames (numbers above ``needed``) are ignored.

    A unit sends its frames in order, once each: a repeated or out-of-order number among 1..needed means a frame
    from elsewhere (a corrupt window, another answer) got in, and the answer is refused.
    """
    by_number: dict[int, bytes] = {}
    arrival: list[int] = []
    for frame in frames:
        payload = check_answer(frame, command)
        by_number.setdefault(payload[0], payload)
        if 1 <= payload[0] <= needed:
            arrival.append(payload[0])
    missing = missing_frames(by_number, needed)
    if missing:
        raise FrameError(
            f"DALY 0x{command:02X} ({what}): frame(s) {', '.join(map(str, missing))} of {needed} missing"
            f" (received {', '.join(map(str, sorted(by_number))) or 'none'})"
        )
    if arrival != list(range(1, needed + 1)):
        raise FrameError(
            f"DALY 0x{command:02X} ({what}): frames arrived as {', '.join(map(str, arrival))},"
            f" not 1..{needed} once each"
        )
    return [by_number[n] for n in range(1, needed + 1)]


def decode_cells(frames: Sequence[Frame], cell_count: int) -> tuple[int, ...]:
    """Cell voltages in mV from the 0x95 frames; :class:`FrameError` naming any missing frame."""
    if not 0 <= cell_count <= t.MAX_CELLS:
        raise FrameError(f"DALY cell count {cell_count} is outside 0..{t.MAX_CELLS}")
    payloads = _ordered_payloads(frames, t.CMD_CELLS, frames_needed(cell_count, t.CELLS_PER_FRAME), "cell voltages")
    cells = [unpack(t.A5_CELL_FRAME, p)[f"cell_{i}"] for p in payloads for i in range(t.CELLS_PER_FRAME)]
    return tuple(cells[:cell_count])


def decode_temps(frames: Sequence[Frame], temp_count: int) -> tuple[int, ...]:
    """Raw temperatures (°C + 40) from the 0x96 frames; :class:`FrameError` naming any missing frame."""
    if not 0 <= temp_count <= t.MAX_TEMPS:
        raise FrameError(f"DALY temperature sensor count {temp_count} is outside 0..{t.MAX_TEMPS}")
    payloads = _ordered_payloads(frames, t.CMD_TEMPS, frames_needed(temp_count, t.TEMPS_PER_FRAME), "temperatures")
    temps = [unpack(t.A5_TEMP_FRAME, p)[f"temp_{i}"] for p in payloads for i in range(t.TEMPS_PER_FRAME)]
    return tuple(temps[:temp_count])


def _encode_multi(
    layout: Sequence[Field], values: Sequence[int], per_frame: int, frames: int, reserved: bytes
) -> list[bytes]:
    prefix = layout[0].name
    out = []
    for number in range(1, frames + 1):
        chunk = list(values[(number - 1) * per_frame : number * per_frame])
        chunk += [0] * (per_frame - len(chunk))
        names = [f.name for f in layout[1:]]
        raw = {prefix: number, **dict(zip(names, chunk, strict=True))}
        out.append(encode_fields(layout, raw, reserved))
    return out


def encode_cells(cells_mv: Sequence[int], frames: int | None = None, reserved: bytes = b"") -> list[bytes]:
    """0x95 payloads: ``frames`` frames (default: as many as the cells need), unused slots zero."""
    count = frames if frames is not None else frames_needed(len(cells_mv), t.CELLS_PER_FRAME)
    return _encode_multi(t.A5_CELL_FRAME, cells_mv, t.CELLS_PER_FRAME, count, reserved)


def encode_temps(temps_raw: Sequence[int], frames: int | None = None) -> list[bytes]:
    """0x96 payloads: ``frames`` frames (default: as many as the sensors need), unused slots 0x00."""
    count = frames if frames is not None else frames_needed(len(temps_raw), t.TEMPS_PER_FRAME)
    return _encode_multi(t.A5_TEMP_FRAME, temps_raw, t.TEMPS_PER_FRAME, count, b"")


# --- 0x97 balancing ---------------------------------------------------------------------------------------
def decode_balance(payload: bytes) -> frozenset[int]:
    """1-based cells whose balance bit is set (bit n = byte n // 8, bit n % 8; bits 48-63 reserved)."""
    if len(payload) < t.A5_BALANCE_BITS // 8:
        raise FrameError(f"DALY 0x97 balance payload has {len(payload)} bytes, expected {t.A5_BALANCE_BITS // 8}")
    return frozenset(n + 1 for n in range(t.A5_BALANCE_BITS) if payload[n // 8] >> (n % 8) & 1)


def encode_balance(cells: Iterable[int]) -> bytes:
    """Inverse of :func:`decode_balance`."""
    out = bytearray(t.A5_DATA_LEN)
    for cell in cells:
        if not 1 <= cell <= t.A5_BALANCE_BITS:
            raise ValueError(f"cell {cell} has no balance bit")
        out[(cell - 1) // 8] |= 1 << ((cell - 1) % 8)
    return bytes(out)


# --- conversions ----------------------------------------------------------------------------------------
def current_from_raw(raw: int) -> float:
    """Model current (A, + = charging) from the legacy discharge-positive raw value."""
    return (t.CURRENT_OFFSET - raw) / 10


def current_to_raw(amps: float) -> int:
    """Inverse of :func:`current_from_raw`."""
    raw = t.CURRENT_OFFSET - round(amps * 10)
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"current {amps} A does not fit the A5 current field")
    return raw


def temp_from_raw(raw: int) -> float:
    """°C from the +40 offset encoding."""
    return float(raw - t.TEMP_OFFSET)


def charge_state_name(code: int) -> str:
    """``idle`` / ``charging`` / ``discharging`` (or the number when undocumented)."""
    return t.CHARGE_STATES.get(code, str(code))


@dataclass(frozen=True, slots=True, kw_only=True)
class A5Reading:
    """The answers one A5 snapshot is made of, as raw integers (the protocol-level view)."""

    pack: Mapping[str, int]  # 0x90
    mosfet: Mapping[str, int]  # 0x93
    status: Mapping[str, int]  # 0x94
    cells_mv: tuple[int, ...]  # 0x95
    temps_raw: tuple[int, ...]  # 0x96
    balance: bytes = ZERO_DATA  # 0x97
    failure: bytes = ZERO_DATA  # 0x98


def check_consistency(reading: A5Reading) -> None:
    """Refuse answers that contradict each other (counts, cell voltages, pack voltage against the cells).

    Refused: a count of 0x94 that 0x95/0x96 do not match, a cell voltage no cell has, or a 0x90 pack voltage that is
    not the sum of the 0x95 cells within :data:`~.table.A5_PACK_VS_CELLS_TOLERANCE`. The A5 sum is 8 bits: a
    corrupt frame passes it one time in 256; the facts that several answers repeat catch most of those
    (:class:`ImplausibleValueError`: never shown).
    """
    status = reading.status
    if len(reading.cells_mv) != status["cell_count"]:
        raise FrameError(f"DALY 0x94 says {status['cell_count']} cells, 0x95 gave {len(reading.cells_mv)}")
    if len(reading.temps_raw) != status["temp_count"]:
        raise FrameError(f"DALY 0x94 says {status['temp_count']} sensors, 0x96 gave {len(reading.temps_raw)}")
    high = [(n, mv) for n, mv in enumerate(reading.cells_mv, 1) if mv > t.A5_MAX_CELL_MV]
    if high:
        n, mv = high[0]
        raise ImplausibleValueError(f"DALY 0x95 cell {n} at {mv} mV is impossible (corrupt frame?)")
    if reading.cells_mv:
        cells_v = sum(reading.cells_mv) / 1000
        pack_v = reading.pack["voltage"] / 10
        relative, absolute = t.A5_PACK_VS_CELLS_TOLERANCE
        if abs(pack_v - cells_v) > max(absolute, relative * cells_v):
            raise ImplausibleValueError(
                f"DALY 0x90 pack voltage {pack_v:.1f} V is not the sum of the 0x95 cells ({cells_v:.3f} V):"
                " one of the answers is corrupt"
            )


def to_snapshot(reading: A5Reading, host_address: int | None = None) -> BmsSnapshot:
    """Combine the answers into one snapshot; :class:`FrameError` when they contradict each other."""
    check_consistency(reading)
    status = reading.status
    layout = {f.name: f for f in t.A5_LAYOUTS[t.CMD_PACK] + t.A5_LAYOUTS[t.CMD_MOSFET]}
    report = faults.decode(reading.failure)
    raw: dict[str, int | str] = {
        "charge_state": charge_state_name(reading.mosfet["charge_state"]),
        "bms_life": reading.mosfet["life"],
        "charger": status["charger"],
        "load": status["load"],
        "dio": status["dio"],
        "failure_status": reading.failure.hex(),
        "balance_status": reading.balance.hex(),
        **report.raw,
    }
    if report.names:
        raw["fault_bits"] = ",".join(sorted(report.names))
    if host_address is not None:
        raw["host_address"] = f"0x{host_address:02X}"
    return BmsSnapshot(
        voltage=layout["voltage"].to_value(reading.pack["voltage"]),
        current=current_from_raw(reading.pack["current"]),
        soc=layout["soc"].to_value(reading.pack["soc"]),
        remaining_capacity=layout["remaining_capacity"].to_value(reading.mosfet["remaining_capacity"]),
        cycles=status["cycles"],
        cell_voltages=tuple(mv / 1000 for mv in reading.cells_mv),
        temperatures=tuple(
            Temperature(f"cell_{i}", TemperatureKind.CELL, temp_from_raw(r)) for i, r in enumerate(reading.temps_raw, 1)
        ),
        charge_mosfet=bool(reading.mosfet["charge_mosfet"]),
        discharge_mosfet=bool(reading.mosfet["discharge_mosfet"]),
        balancing=decode_balance(reading.balance),
        alarms=report.alarms,
        warnings=report.warnings,
        raw=raw,
    )


def to_device_info(status: Mapping[str, int] | None) -> DeviceInfo:
    """What the A5 protocol says about the pack (its documents have no version, model or serial command)."""
    return DeviceInfo(vendor="DALY", family="a5", cell_count=None if status is None else status["cell_count"])
