"""Simulated PACE packs on Modbus: a pymodbus server (Modbus-TCP, or RTU over TCP) and a sans-IO RTU simulator.

Both fill registers 0-36 and 150-179 from the same :class:`~.simulator_state.PaceState` through the V1.3 register
table (:func:`~.codec_modbus.encode_registers`), regenerated on every read so a "live" pack changes between polls.
Reserved registers (8, 13-14, 37-149, 180+) are not in the datastore, so reading them gives exception 2, as on a
real unit. ``reject_pack_block`` reproduces the Revov R100 capture that refused the 0-7 block with exception 2.

* :func:`serve_modbus_tcp` runs pymodbus' ``ModbusTcpServer`` on loopback with one ``SimDevice`` per unit.
* :class:`PaceRtuSimulator` is the same pack as a sans-IO :class:`~vendor_plugins.sim.base.Simulator`
  (``handle(request) -> response``), so the shared TCP and pty servers (with baud pacing) serve it as a
  Modbus RTU bus; absent units stay silent like on a real RS485 line.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ..closing import AsyncClosing
from ..crc import crc16_modbus
from ..errors import ChecksumError, FrameError
from ..framing import Frame, FrameAssembler
from ..sim.base import RequestLog, Simulator
from . import codec_modbus as codec
from . import codec_settings, table_settings_modbus
from . import table as t
from .simulator_settings import PaceSettingsSim
from .simulator_state import PaceState

_READ_RANGES = ((0, 8), (9, 4), (15, 22))
_INFO_FIRST, _INFO_COUNT = t.MODBUS_INFO_BLOCK


def register_map(state: PaceState) -> dict[int, int]:
    """Every readable register of ``state``: 0-7, 9-12, 15-36 and 150-179."""
    regs = codec.registers_of(codec.encode_registers(state.modbus_registers()))
    out = {first + n: regs[first + n] for first, count in _READ_RANGES for n in range(count)}
    texts = {"software_version": state.software_version, "model_serial": state.model_serial}
    texts["pack_serial"] = state.serial_number
    for name, first, count in t.MODBUS_INFO_TEXTS:
        for n, value in enumerate(codec.encode_text(texts[name], count)):
            out[first + n] = value
    return out


def rejects(first: int, count: int, reject_pack_block: bool) -> bool:
    """Whether a unit answers this read with exception 2 (illegal data address)."""
    wanted = range(first, first + count)
    readable = [first_reg + n for first_reg, c in (*_READ_RANGES, (_INFO_FIRST, _INFO_COUNT)) for n in range(c)]
    if any(reg not in readable for reg in wanted):
        return True
    return reject_pack_block and first == 0 and count > 1


# --- sans-IO RTU simulator -----------------------------------------------------------------------------------------
class RtuRequestAssembler(FrameAssembler):
    """Cuts Modbus RTU requests (FC 0x03 read, FC 0x10 write) out of a byte stream; CRC-checked."""

    def next_start(self, buf: bytearray, pos: int) -> int:
        """Any byte may start a frame (RTU has no start marker)."""
        return pos if pos < len(buf) else -1

    def frame_length(self, buf: bytearray, start: int) -> int | None:
        """8 for FC 0x03; 9 + byte count for FC 0x10."""
        if len(buf) - start < 2:
            return None
        function = buf[start + 1]
        if function == t.MODBUS_READ:
            return 8
        if function == t.MODBUS_WRITE:
            return None if len(buf) - start < 7 else 9 + buf[start + 6]
        raise FrameError(f"not a Modbus request function: 0x{function:02X}")

    def parse(self, raw: bytes) -> Frame:
        """Check the CRC; ``address`` = unit, ``command`` = function code."""
        if int.from_bytes(raw[-2:], "little") != crc16_modbus(raw[:-2]):
            raise ChecksumError("Modbus request CRC mismatch")
        return Frame(command=raw[1], payload=bytes(raw[2:-2]), raw=bytes(raw), address=raw[0])


class PaceRtuSimulator(Simulator):
    """One PACE pack answering Modbus RTU at ``unit``: registers 0-36 and 150-179 read-only, settings 60-114 R/W."""

    vendor = "pace"

    def __init__(self, state: PaceState | None = None, *, unit: int = 1, reject_pack_block: bool = False) -> None:
        """Simulate ``state`` at Modbus unit ``unit``."""
        self.state = state if state is not None else PaceState()
        self.unit = unit
        self.reject_pack_block = reject_pack_block
        self.present = True
        self.requests: list[bytes] = RequestLog()
        #: Registers 60-114, their limits and their effect on the pack (simulator_settings).
        self.settings = PaceSettingsSim()

    def request_assembler(self) -> FrameAssembler:
        """RTU requests."""
        return RtuRequestAssembler()

    def handle(self, request: bytes) -> bytes | None:
        """Answer a request to this unit; silent for others."""
        if not self.present or len(request) < 8 or request[0] != self.unit:
            return None
        self.requests.append(bytes(request))
        function = request[1]
        first, count = int.from_bytes(request[2:4], "big"), int.from_bytes(request[4:6], "big")
        if function == t.MODBUS_WRITE:
            raws = [int.from_bytes(request[7 + 2 * n : 9 + 2 * n], "big") for n in range(count)]
            code = self.settings.write_registers(first, raws, self.state)
            if code is not None:
                return codec.build_exception(self.unit, function, code)
            return codec_settings.build_write_response(self.unit, first, count)
        if function != t.MODBUS_READ:
            return codec.build_exception(self.unit, function, 1)
        if self.settings.acting:
            self.settings.apply(self.state)
        settings_first, settings_count = table_settings_modbus.FIRST, table_settings_modbus.COUNT
        if settings_first <= first and first + count <= settings_first + settings_count:
            return codec.build_read_response(self.unit, self.settings.registers()[first - settings_first :][:count])
        if not 1 <= count <= 0x7D or rejects(first, count, self.reject_pack_block):
            return codec.build_exception(self.unit, function, 2)
        regs = register_map(self.state)
        return codec.build_read_response(self.unit, [regs[first + n] for n in range(count)])


# --- pymodbus server ---------------------------------------------------------------------------------------------
async def _refresh(
    state: PaceState,
    reject_pack_block: bool,
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    """pymodbus action: regenerate the registers from the state before every access (read-only datastore)."""
    if set_values is not None:
        return ExcCodes.ILLEGAL_FUNCTION
    if reject_pack_block and address == 0 and count > 1:
        return ExcCodes.ILLEGAL_ADDRESS
    for reg, value in register_map(state).items():
        at = reg - start_address
        if 0 <= at < len(registers):
            registers[at] = value
    return None


def sim_device(unit: int, state: PaceState, *, reject_pack_block: bool = False) -> SimDevice:
    """A pymodbus ``SimDevice`` for one pack: only the documented registers exist."""
    # Zeros here: the action fills every register from the state on each access (pymodbus 3.13 packs initial
    # values as signed and 3.16 as unsigned, so initial values above 0x7FFF would not be portable).
    blocks = [
        SimData(first, count=count, values=0, datatype=DataType.REGISTERS)
        for first, count in (*_READ_RANGES, (_INFO_FIRST, _INFO_COUNT))
    ]
    action = functools.partial(_refresh, state, reject_pack_block)
    return SimDevice(id=unit, simdata=blocks, action=action)


class ModbusSimServer(AsyncClosing):
    """A running pymodbus server of simulated packs; ``host``/``port`` are where it listens."""

    def __init__(self, server: ModbusTcpServer, states: Mapping[int, PaceState]) -> None:
        """Wrap a started server (use :func:`serve_modbus_tcp`)."""
        self.server = server
        self.states = dict(states)
        self.host = ""
        self.port = 0

    async def close(self) -> None:
        """Stop listening (idempotent)."""
        await self.server.shutdown()  # type: ignore[no-untyped-call]


async def serve_modbus_tcp(
    states: Mapping[int, PaceState],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    rtu: bool = False,
    reject_pack_block: bool = False,
) -> ModbusSimServer:
    """Serve ``{unit: state}`` with pymodbus: Modbus-TCP, or (``rtu``) RTU frames as a TCP bridge would carry."""
    devices = [sim_device(unit, state, reject_pack_block=reject_pack_block) for unit, state in states.items()]
    server = ModbusTcpServer(
        devices, framer=FramerType.RTU if rtu else FramerType.SOCKET, address=(host, port), ignore_missing_devices=True
    )
    await server.serve_forever(background=True)
    wrapper = ModbusSimServer(server, states)
    listener = server.transport
    sockets = getattr(listener, "sockets", None) or []
    if sockets:
        wrapper.host, wrapper.port = sockets[0].getsockname()[:2]
    await asyncio.sleep(0)
    return wrapper
