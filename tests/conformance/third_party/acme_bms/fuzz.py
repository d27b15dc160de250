"""The ACME codec entry points that take wire bytes, and the seeds a fuzzer starts from."""

from __future__ import annotations

from vendor_plugins.framing import fed_in_two
from vendor_plugins.plugin import FuzzTarget

from . import codec
from .simulator import AcmeSimulator


def _status_frame(data: bytes) -> object:
    return codec.to_snapshot(codec.decode_status(codec.check_answer(codec.parse_frame(data), codec.CMD_STATUS)))


def fuzz_targets() -> tuple[FuzzTarget, ...]:
    """Frame parsing, the assembler, the status decoder, and all three from a whole frame."""
    return (
        FuzzTarget("parse_frame", codec.parse_frame),
        FuzzTarget("assembler", fed_in_two(codec.AcmeAssembler, codec.parse_frame)),
        FuzzTarget("decode_status", codec.decode_status),
        FuzzTarget("status_frame", _status_frame),
    )


def fuzz_seeds() -> tuple[bytes, ...]:
    """The simulator's status and info answers (whole frame and payload) and the three requests."""
    simulator = AcmeSimulator(seed=1)
    out: list[bytes] = []
    for command in (codec.CMD_STATUS, codec.CMD_INFO):
        answer = simulator.handle(codec.build(command)) or b""
        out += [answer, codec.parse_frame(answer).payload, codec.build(command)]
    out.append(codec.build(codec.CMD_SET_FETS, b"\x03"))
    return tuple(out)
