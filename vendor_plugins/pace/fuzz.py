"""The PACE fuzz entry points (sans-IO ASCII and Modbus codec functions that take wire bytes) and their seeds."""

from __future__ import annotations

from ..framing import fed_in_two
from ..plugin import FuzzTarget
from . import codec_ascii, codec_modbus
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


def fuzz_targets() -> tuple[FuzzTarget, ...]:
    """Every codec entry point that takes bytes from the wire (names without the plugin prefix)."""
    return (
        FuzzTarget("ascii.parse_frame", codec_ascii.parse_frame),
        FuzzTarget("ascii.assembler", fed_in_two(codec_ascii.AsciiAssembler, codec_ascii.parse_frame)),
        FuzzTarget("ascii.decode_analog", _decode_analog),
        FuzzTarget("ascii.decode_warn", _decode_warn),
        FuzzTarget("modbus.decode_registers", _decode_registers),
        FuzzTarget("modbus.parse_read_response", _parse_read_response),
    )


def fuzz_seeds() -> tuple[bytes, ...]:
    """The ASCII simulator's 0x42/0x44 answers (frame and INFO) and the RTU simulator's answer to registers 0-39."""
    from .simulator_ascii import PaceAsciiSimulator
    from .simulator_modbus import PaceRtuSimulator

    out: list[bytes] = []
    ascii_pack = PaceAsciiSimulator()
    for cid2 in (t.Cid2.ANALOG, t.Cid2.WARN):
        reply = ascii_pack.handle(codec_ascii.build_read(codec_ascii.V25, 1, cid2)) or b""
        out += [reply, codec_ascii.parse_frame(reply).info]
    reply = PaceRtuSimulator().handle(codec_modbus.build_read_request(1, 0, 40)) or b""
    out += [reply, reply[3:-2]]
    return tuple(seed for seed in out if seed)
