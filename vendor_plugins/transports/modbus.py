"""Modbus link over ``pymodbus``: Modbus-TCP, RTU over a serial port, and RTU through a raw TCP bridge.

Unlike the byte links this link moves registers, not frames: ``read_registers(unit, address, count)`` (FC 0x03)
and ``write_registers(unit, address, values)`` (FC 0x10), one request at a time (a lock serialises a bus shared
by several units). ``exchange`` is not offered. The pymodbus client is created and connected on the first request
and again after :meth:`close`; it never retries on its own (an absent unit on a bus must cost one timeout, not
four) and never gives up the connection because units stay silent. pymodbus errors become the library's own,
each with a one-line message: no connection → :class:`TransportError`, no answer → :class:`DeviceTimeout`, an
exception answer → :class:`DeviceError`, an answer from another unit → :class:`AddressError`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence

from pymodbus import FramerType, ModbusException
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from ..errors import AddressError, DeviceError, DeviceTimeout, ProtocolError, TransportError, UnsupportedError
from ..framing import Expect, Frame
from ..plugin import LinkKind
from .base import DEFAULT_TIMEOUT, Link
from .tcp import format_host_port

_LOGGER = logging.getLogger(__name__)

EXCEPTION_TEXT = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target did not respond",
}
#: Consecutive unanswered requests after which pymodbus would drop the connection: never, on a bus.
_NEVER_DISCONNECT = 1 << 30


class ModbusMode(enum.StrEnum):
    """How Modbus reaches the device."""

    TCP = "tcp"  # Modbus-TCP (MBAP header)
    RTU_OVER_TCP = "rtu-over-tcp"  # RTU frames through a raw RS485-to-TCP bridge
    RTU = "rtu"  # RTU on a serial port


PacketTrace = Callable[[bool, bytes], None]
_Client = AsyncModbusTcpClient | AsyncModbusSerialClient


class ModbusLink(Link):
    """Register access through pymodbus. Use :meth:`tcp`, :meth:`rtu_over_tcp` or :meth:`rtu_serial`."""

    kind = LinkKind.MODBUS

    def __init__(
        self,
        mode: ModbusMode,
        target: str,
        port: int | None = None,
        *,
        baudrate: int = 9600,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 5.0,
        trace: PacketTrace | None = None,
    ) -> None:
        """Describe the connection (host and port, or a serial device); nothing is opened yet.

        ``trace(sending, packet)`` sees every frame sent and received (tests use it to check bytes on the wire).
        """
        if mode is not ModbusMode.RTU and port is None:
            raise ValueError(f"Modbus {mode} needs a port")
        self.mode = mode
        self.target = target
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.trace = trace
        self.requests = 0
        self._client: _Client | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def tcp(cls, host: str, port: int = 502, *, timeout: float = DEFAULT_TIMEOUT) -> ModbusLink:
        """Modbus-TCP."""
        return cls(ModbusMode.TCP, host, port, timeout=timeout)

    @classmethod
    def rtu_over_tcp(cls, host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT) -> ModbusLink:
        """Modbus RTU through a transparent RS485-to-TCP bridge."""
        return cls(ModbusMode.RTU_OVER_TCP, host, port, timeout=timeout)

    @classmethod
    def rtu_serial(cls, device: str, baudrate: int = 9600, *, timeout: float = DEFAULT_TIMEOUT) -> ModbusLink:
        """Modbus RTU on a serial port (RS485 adapter)."""
        return cls(ModbusMode.RTU, device, baudrate=baudrate, timeout=timeout)

    @property
    def description(self) -> str:
        """``modbus-tcp://host:port``, ``modbus-rtu+tcp://host:port`` or ``modbus-rtu://<device>@<baud>``."""
        if self.mode is ModbusMode.RTU:
            return f"modbus-rtu://{self.target}@{self.baudrate}"
        scheme = "modbus-tcp" if self.mode is ModbusMode.TCP else "modbus-rtu+tcp"
        assert self.port is not None
        return f"{scheme}://{format_host_port(self.target, self.port)}"

    @property
    def connected(self) -> bool:
        """Whether the pymodbus client is connected."""
        return self._client is not None and self._client.connected

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if self.trace is not None:
            self.trace(sending, bytes(data))
        return data

    def _new_client(self) -> _Client:
        if self.mode is ModbusMode.RTU:
            return AsyncModbusSerialClient(
                self.target,
                framer=FramerType.RTU,
                baudrate=self.baudrate,
                timeout=self.timeout,
                retries=0,
                reconnect_delay=0.0,
                trace_packet=self._trace_packet,
            )
        assert self.port is not None
        return AsyncModbusTcpClient(
            self.target,
            port=self.port,
            framer=FramerType.SOCKET if self.mode is ModbusMode.TCP else FramerType.RTU,
            timeout=self.timeout,
            retries=0,
            reconnect_delay=0.0,
            trace_packet=self._trace_packet,
        )

    async def _ensure_connected(self) -> _Client:
        if self._client is not None and self._client.connected:
            return self._client
        if self._client is not None:
            self._client.close()
        client = self._new_client()
        client.set_max_no_responses(_NEVER_DISCONNECT)
        try:
            async with asyncio.timeout(self.connect_timeout):
                ok = await client.connect()
        except TimeoutError:
            ok = False
        except (OSError, ModbusException) as err:
            client.close()
            raise TransportError(f"{self.description}: cannot connect: {_one_line(err)}") from None
        if not ok:
            client.close()
            raise TransportError(f"{self.description}: cannot connect (no answer or refused)")
        self._client = client
        return client

    async def _execute(
        self, what: str, unit: int, reply_timeout: float | None, call: Callable[[_Client], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        async with self._lock:
            client = await self._ensure_connected()
            wait = self.timeout if reply_timeout is None else reply_timeout
            client.comm_params.timeout_connect = wait  # pymodbus waits this long for an answer
            self.requests += 1
            try:
                async with asyncio.timeout(wait + 1.0):  # a safety net above pymodbus' own wait
                    response = await call(client)
            except TimeoutError:
                raise DeviceTimeout(
                    f"{self.description}: no answer from unit {unit} to {what} within {wait:g} s"
                ) from None
            except ConnectionException as err:
                await self._drop()
                raise TransportError(f"{self.description}: {_one_line(err)}") from None
            except ModbusIOException as err:
                text = _one_line(err)
                if "device id" in text:
                    raise AddressError(f"{self.description}: {what}: answer from another unit ({text})") from None
                if "No response" in text or "no response" in text:
                    raise DeviceTimeout(
                        f"{self.description}: no answer from unit {unit} to {what} within {wait:g} s"
                    ) from None
                raise TransportError(f"{self.description}: {what}: {text}") from None
            except ModbusException as err:
                raise ProtocolError(f"{self.description}: {what}: {_one_line(err)}") from None
            except OSError as err:
                await self._drop()
                raise TransportError(f"{self.description}: {_one_line(err)}") from None
            finally:
                client.comm_params.timeout_connect = self.timeout
        if isinstance(response, ExceptionResponse) or response.isError():
            code = getattr(response, "exception_code", 0)
            raise DeviceError(
                f"{self.description}: unit {unit} answered {what} with exception {code}"
                f" ({EXCEPTION_TEXT.get(code, 'unknown')})"
            )
        return response

    async def read_registers(
        self, unit: int, address: int, count: int, *, reply_timeout: float | None = None
    ) -> list[int]:
        """Read ``count`` holding registers from ``address`` of ``unit`` (FC 0x03)."""
        what = f"read {count} register(s) at {address}"
        response = await self._execute(
            what, unit, reply_timeout, lambda c: c.read_holding_registers(address, count=count, device_id=unit)
        )
        registers = list(response.registers)
        if len(registers) != count:
            raise ProtocolError(f"{self.description}: {what}: got {len(registers)} register(s)")
        return registers

    async def write_registers(
        self, unit: int, address: int, values: Sequence[int], *, reply_timeout: float | None = None
    ) -> None:
        """Write ``values`` to consecutive holding registers from ``address`` of ``unit`` (FC 0x10)."""
        what = f"write {len(values)} register(s) at {address}"
        await self._execute(
            what, unit, reply_timeout, lambda c: c.write_registers(address, list(values), device_id=unit)
        )

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """Not offered: a Modbus link moves registers (use :meth:`read_registers`)."""
        raise UnsupportedError(f"{self.description} is a Modbus link: it reads registers, it does not send raw frames")

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception as err:  # closing must not raise
                _LOGGER.debug("%s: error while closing: %s", self.description, err)

    async def close(self) -> None:
        """Close the connection (idempotent); the next request reconnects."""
        async with self._lock:
            await self._drop()


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
