"""ModbusLink under faults found by the Modbus fault runs (tests/reliability): each a regression test.

* A connection that drops while a request waits fails that request at once with TransportError; before, pymodbus
  waited out the whole timeout and the link reported a DeviceTimeout (a unit's fault), so the bus poller held a
  bridge outage against a pack.
* Bytes pymodbus cannot decode (junk on a Modbus-TCP connection) fail the request with ProtocolError; before,
  pymodbus raised out of ``data_received``, asyncio logged a "Fatal error" traceback and closed the connection.
* Modbus-TCP (no checksum): after a failed exchange the connection is closed, so the tail of a late answer is never
  parsed as the next answer (found by the soak: wrong cell voltages).
* pymodbus' ERROR/WARNING records about our own requests (unanswered request, failed connect, frame dumps) become
  one DEBUG line on our logger; records of other pymodbus users are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.support.faults import FaultInjector, FaultPlan, serve_faulty_tcp
from tests.support.mbap import MbapBridge
from vendor_plugins.errors import DeviceTimeout, ProtocolError, TransportError
from vendor_plugins.framing import FrameAssembler
from vendor_plugins.pace.simulator_modbus import PaceRtuSimulator
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import ModbusLink
from vendor_plugins.transports.modbus import ModbusMode


class _Junk(Simulator):
    """A Modbus-TCP device that answers once with an undecodable frame (function 0x5A), then correctly."""

    vendor = "pace"

    def __init__(self) -> None:
        self.inner = MbapBridge([PaceRtuSimulator(PaceState(cycles=77), unit=1)])
        self.junk = True

    def request_assembler(self) -> FrameAssembler:
        return self.inner.request_assembler()

    def handle(self, request: bytes) -> bytes | None:
        if self.junk:
            self.junk = False
            return request[:2] + bytes.fromhex("0000000501") + bytes.fromhex("5a0102ff")
        return self.inner.handle(request)


async def test_connection_lost_while_waiting_is_a_transport_error_at_once() -> None:
    injector = FaultInjector(FaultPlan(disconnect=1.0), seed=2)
    server = await serve_faulty_tcp(PaceRtuSimulator(unit=1), injector)
    link = ModbusLink(ModbusMode.RTU_OVER_TCP, server.host, server.port, timeout=2.0)
    try:
        began = time.monotonic()
        with pytest.raises(TransportError, match="connection lost"):
            await link.read_registers(1, 9, 4)
        assert time.monotonic() - began < 1.0  # not the 2 s timeout
        injector.enabled = False
        assert len(await link.read_registers(1, 9, 4)) == 4  # reconnected
    finally:
        await link.close()
        await server.close()


async def test_undecodable_answer_is_a_protocol_error_and_the_connection_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = _Junk()
    async with await serve_tcp(sim) as server:
        link = ModbusLink(ModbusMode.TCP, server.host, server.port, timeout=1.0)
        try:
            with caplog.at_level(logging.WARNING), pytest.raises(ProtocolError, match="undecodable"):
                await link.read_registers(1, 9, 4)
            registers = await link.read_registers(1, 0, 8)
        finally:
            await link.close()
    assert registers[7] == 77  # cycles
    assert server.connections == 2  # Modbus-TCP: a bad answer also closes the connection (see the test below)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


async def test_pymodbus_noise_about_our_requests_is_debug(caplog: pytest.LogCaptureFixture) -> None:
    async with await serve_tcp(PaceRtuSimulator(unit=1)) as server:
        link = ModbusLink.rtu_over_tcp(server.host, server.port, timeout=0.1)
        try:
            with caplog.at_level(logging.DEBUG), pytest.raises(DeviceTimeout):
                await link.read_registers(5, 9, 4)  # nobody at unit 5
        finally:
            await link.close()
    loud = [r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno >= logging.WARNING]
    assert not loud, [r.getMessage() for r in loud]
    ours = [r.getMessage() for r in caplog.records if r.name == "vendor_plugins.transports.modbus"]
    assert any("pymodbus error: No response" in m for m in ours), ours
    # Other users of pymodbus (not inside one of our requests) keep their records.
    with caplog.at_level(logging.WARNING):
        logging.getLogger("pymodbus.logging").error("someone else's client")
    assert "someone else's client" in caplog.text


class _LateTailServer:
    """A Modbus-TCP device whose first answer stalls after 5 bytes; the rest comes late.

    The tail arrives just before the answer to the next request on the same connection (a slow gateway). Later
    connections get clean answers.
    """

    def __init__(self) -> None:
        self.bridge = MbapBridge([PaceRtuSimulator(PaceState(cycles=77), unit=1)])
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        tail = b""
        first = self.connections == 1
        try:
            while True:
                header = await reader.readexactly(6)
                request = header + await reader.readexactly(int.from_bytes(header[4:6], "big"))
                reply = self.bridge.handle(request) or b""
                if first:
                    first = False
                    writer.write(reply[:5])
                    tail = reply[5:]
                else:
                    writer.write(tail + reply)
                    tail = b""
                await writer.drain()
        except asyncio.IncompleteReadError, ConnectionError:
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_modbus_tcp_never_reads_the_tail_of_a_late_answer_as_the_next_one() -> None:
    """Found by the soak: the tail of a late answer parsed as the next answer's header gave wrong cell values.

    Modbus-TCP has no checksum, so the link closes the connection after a failed exchange.
    """
    device = _LateTailServer()
    port = await device.start()
    link = ModbusLink(ModbusMode.TCP, "127.0.0.1", port, timeout=0.2)
    try:
        with pytest.raises(DeviceTimeout):
            await link.read_registers(1, 15, 22)  # cells: the answer stalls
        registers = await link.read_registers(1, 0, 8)
        assert registers[7] == 77  # cycles, read on a fresh connection
        assert device.connections == 2
    finally:
        await link.close()
        await device.close()
