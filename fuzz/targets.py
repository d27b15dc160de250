"""Every codec entry point that takes bytes from the wire, as ``name -> callable(bytes)`` (for the fuzzers).

A target must return or raise a :class:`~vendor_plugins.errors.BmsError`; anything else is a bug. Assemblers are
fed the input in two pieces (cut at the first byte's value) and every frame they yield must parse strictly.
"""

from __future__ import annotations

from collections.abc import Callable

from vendor_plugins.daly import a5, d2
from vendor_plugins.daly import faults as daly_faults
from vendor_plugins.daly import table as daly_t
from vendor_plugins.framing import FrameAssembler
from vendor_plugins.jbd import codec as jbd
from vendor_plugins.pace import ascii_codec, ascii_layout, modbus_codec
from vendor_plugins.pace import table as pace_t


def _assemble(make: Callable[[], FrameAssembler], parse: Callable[[bytes], object]) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        assembler = make()
        cut = data[0] % (len(data) + 1) if data else 0
        for frame in assembler.feed(data[:cut]) + assembler.feed(data[cut:]):
            parse(frame.raw)

    return run


def _a5_multi(data: bytes) -> None:
    frames = a5.A5Assembler().feed(data)
    count = data[0] if data else 0
    a5.decode_cells(frames, count)
    a5.decode_temps(frames, count % 17)


def seeds() -> list[bytes]:
    """Valid frames and payloads of every codec (from the simulators), to mutate."""
    from vendor_plugins.daly.simulator import A5Simulator, ModbusSimulator
    from vendor_plugins.jbd.simulator import JbdSimulator
    from vendor_plugins.pace.modbus_sim import PaceRtuSimulator
    from vendor_plugins.pace.simulator import PaceAsciiSimulator

    out: list[bytes] = []
    j = JbdSimulator()
    for reg in (3, 4, 5):
        reply = j.handle(jbd.build_read(reg)) or b""
        out += [reply, reply[4:-3]]
    a = A5Simulator()
    for cmd in (*daly_t.A5_LAYOUTS, daly_t.CMD_CELLS, daly_t.CMD_TEMPS, daly_t.CMD_BALANCE, daly_t.CMD_FAILURE):
        reply = a.handle(a5.build_request(cmd, 0x80)) or b""
        out += [reply, reply[4:12]]
    for family, start, count in (("d2", 0, 62), ("p81", 0, 40)):
        m = ModbusSimulator(family=family)
        reply = m.handle(d2.build_read(m.variant.request_device, start, count)) or b""
        out += [reply, reply[3:-2]]
    p81 = ModbusSimulator(family="p81")
    rt1 = (p81.handle(d2.build_read(0x81, daly_t.P81_RT1_START, daly_t.P81_RT1_REGS)) or b"")[3:-2]
    rt2 = (p81.handle(d2.build_read(0x81, daly_t.P81_RT2_START, daly_t.P81_RT2_REGS)) or b"")[3:-2]
    out.append(d2.p81_image(rt1, rt2))
    p = PaceAsciiSimulator()
    for cid2 in (pace_t.Cid2.ANALOG, pace_t.Cid2.WARN):
        reply = p.handle(ascii_codec.build_read(ascii_codec.V25, 1, cid2)) or b""
        out += [reply, ascii_codec.parse_frame(reply).info]
    r = PaceRtuSimulator()
    reply = r.handle(modbus_codec.build_read_request(1, 0, 40)) or b""
    out += [reply, reply[3:-2]]
    out += [jbd.build_read(3), jbd.build_write(0xE1, b"\x00\x02"), a5.build_request(0x90, 0x40)]
    d2sim = ModbusSimulator(family="d2")
    out.append((d2sim.handle(d2.build_read(0xD2, 0, 80)) or b"")[3:-2])
    return [s for s in out if s]


TARGETS: dict[str, Callable[[bytes], object]] = {
    "jbd.parse_frame": jbd.parse_frame,
    "jbd.parse_request": lambda d: jbd.parse_frame(d, request=True),
    "jbd.assembler": _assemble(jbd.JbdAssembler, jbd.parse_frame),
    "jbd.decode_basic": jbd.decode_basic,
    "jbd.decode_cells": jbd.decode_cells,
    "jbd.decode_hardware": jbd.decode_hardware,
    "daly.a5.parse_frame": a5.parse_frame,
    "daly.a5.assembler": _assemble(a5.A5Assembler, a5.parse_frame),
    "daly.a5.decode_fields": lambda d: [a5.decode_fields(c, d) for c in daly_t.A5_LAYOUTS],
    "daly.a5.decode_balance": a5.decode_balance,
    "daly.a5.multi_frame": _a5_multi,
    "daly.failure_bits": daly_faults.decode,
    "daly.d2.parse_frame": d2.parse_frame,
    "daly.d2.assembler": _assemble(d2.ModbusAssembler, d2.parse_frame),
    "daly.d2.decode_status": lambda d: (d2.decode_status("d2", d), d2.to_snapshot(d2.decode_status("d2", d))),
    "daly.p81.decode_status": lambda d: d2.to_snapshot(d2.decode_status("p81", d)),
    "daly.d2.decode_version": lambda d: (d2.decode_version("d2", d), d2.decode_version("p81", d)),
    "pace.ascii.parse_frame": ascii_codec.parse_frame,
    "pace.ascii.assembler": _assemble(ascii_codec.AsciiAssembler, ascii_codec.parse_frame),
    "pace.ascii.decode_analog": lambda d: [ascii_layout.decode_analog(d, v) for v in (pace_t.VER_25, pace_t.VER_20)],
    "pace.ascii.decode_warn": lambda d: [ascii_layout.decode_warn(d, v) for v in (pace_t.VER_25, pace_t.VER_20)],
    "pace.modbus.decode_registers": lambda d: modbus_codec.to_snapshot(modbus_codec.decode_registers(d)),
    "pace.modbus.parse_read_response": lambda d: modbus_codec.parse_read_response(d, d[0] if d else 1),
}
