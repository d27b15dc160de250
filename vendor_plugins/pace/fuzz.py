"""The PACE fuzz entry points (sans-IO ASCII, Modbus and PACEEX codec functions taking wire bytes) and their seeds."""

from __future__ import annotations

from ..framing import fed_in_two
from ..plugin import FuzzTarget
from . import codec_ascii, codec_modbus, codec_paceex
from . import codec_ascii_layout as layout
from . import table as t

_VERSIONS = (t.VER_25, t.VER_20)


def _decode_analog(data: bytes) -> object:
    return [layout.decode_analog(data, version) for version in _VERSIONS]


def _decode_warn(data: bytes) -> object:
    return [layout.decode_warn(data, version) for version in _VERSIONS]


def _decode_registers(data: bytes) -> object:
    return codec_modbus.to_snapshot(codec_modbus.decode_registers(data))


def _parse_read_response(data: bytes) -> object:
    return codec_modbus.parse_read_response(data, data[0] if data else 1)


def _decode_paceex_records(data: bytes) -> object:
    """Every PACEEX record decoder on the same bytes, and the snapshot when all three accept them."""
    pack = codec_paceex.decode_pack(data)
    cells = codec_paceex.decode_cells(data)
    status = codec_paceex.decode_status(data)
    return codec_paceex.to_snapshot(pack, cells, status)


def _decode_paceex_texts(data: bytes) -> object:
    return codec_paceex.decode_texts(data, 3, 1), codec_paceex.decode_system(data)


def fuzz_targets() -> tuple[FuzzTarget, ...]:
    """Every codec entry point that takes bytes from the wire (names without the plugin prefix)."""
    return (
        FuzzTarget("ascii.parse_frame", codec_ascii.parse_frame),
        FuzzTarget("ascii.assembler", fed_in_two(codec_ascii.AsciiAssembler, codec_ascii.parse_frame)),
        FuzzTarget("ascii.decode_analog", _decode_analog),
        FuzzTarget("ascii.decode_warn", _decode_warn),
        FuzzTarget("modbus.decode_registers", _decode_registers),
        FuzzTarget("modbus.parse_read_response", _parse_read_response),
        FuzzTarget("paceex.parse_frame", codec_paceex.parse_frame),
        FuzzTarget("paceex.assembler", fed_in_two(codec_paceex.PaceexAssembler, codec_paceex.parse_frame)),
        FuzzTarget("paceex.decode_records", _decode_paceex_records),
        FuzzTarget("paceex.decode_texts", _decode_paceex_texts),
    )


def fuzz_seeds() -> tuple[bytes, ...]:
    """Simulator answers: ASCII 0x42/0x44 (frame and INFO), RTU registers 0-39, PACEEX records (frame and data)."""
    from . import table_paceex
    from .simulator_ascii import PaceAsciiSimulator
    from .simulator_modbus import PaceRtuSimulator
    from .simulator_paceex import PaceexSimulator

    out: list[bytes] = []
    ascii_pack = PaceAsciiSimulator()
    for cid2 in (t.Cid2.ANALOG, t.Cid2.WARN):
        reply = ascii_pack.handle(codec_ascii.build_read(codec_ascii.V25, 1, cid2)) or b""
        out += [reply, codec_ascii.parse_frame(reply).info]
    reply = PaceRtuSimulator().handle(codec_modbus.build_read_request(1, 0, 40)) or b""
    out += [reply, reply[3:-2]]
    paceex = PaceexSimulator()
    for frame_type in table_paceex.FrameType:
        reply = paceex.handle(codec_paceex.build_request(frame_type, 1)) or b""
        out += [reply, reply[table_paceex.HEADER_SIZE : -3]]
    return tuple(seed for seed in out if seed)
