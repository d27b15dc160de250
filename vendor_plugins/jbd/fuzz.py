"""The JBD fuzz entry points (sans-IO codec functions that take wire bytes) and the seeds they start from."""

from __future__ import annotations

from ..framing import fed_in_two
from ..plugin import FuzzTarget
from . import codec, codec_daren
from . import table as t
from .simulator import JbdSimulator, daren_state


def _parse_request(data: bytes) -> object:
    return codec.parse_frame(data, request=True)


def fuzz_targets() -> tuple[FuzzTarget, ...]:
    """Every codec entry point that takes bytes from the wire (names without the plugin prefix)."""
    return (
        FuzzTarget("parse_frame", codec.parse_frame),
        FuzzTarget("parse_request", _parse_request),
        FuzzTarget("assembler", fed_in_two(codec.JbdAssembler, codec.parse_frame)),
        FuzzTarget("decode_basic", codec.decode_basic),
        FuzzTarget("decode_cells", codec.decode_cells),
        FuzzTarget("decode_hardware", codec.decode_hardware),
        FuzzTarget("decode_daren_info", codec_daren.decode_info),
    )


def fuzz_seeds() -> tuple[bytes, ...]:
    """The simulators' answers (a JBD and a Daren pack; whole frame and payload), a read and a MOSFET write."""
    out: list[bytes] = []
    for simulator in (JbdSimulator(), JbdSimulator(daren_state())):
        for register in (t.REG_BASIC, t.REG_CELLS, t.REG_HARDWARE, t.REG_DAREN_INFO):
            reply = simulator.handle(codec.build_read(register)) or b""
            out += [reply, reply[4:-3]]
    out += [codec.build_read(t.REG_BASIC), codec.build_write(t.REG_MOS, b"\x00\x02")]
    return tuple(seed for seed in out if seed)
