"""Modbus link over ``pymodbus``: Modbus-TCP, RTU over a serial port, and RTU through a raw TCP bridge.

Unlike the byte links this link moves registers, not frames: ``read_registers(unit, address, count)`` (FC 0x03) and
``write_registers(unit, address, values)`` (FC 0x10), one request at a time (a lock serialises a bus shared by several
units); it is a :class:`~.base.RegisterLink`, not a byte link. Raw frames go to the ``tap``. The pymodbus client is
created and connected on the first request and again after :meth:`close`; it never retries on its own (an absent unit on
a bus must cost one timeout, not four) and never gives up the connection because units stay silent. pymodbus errors
become the library's own, each with a one-line message: no connection → :class:`TransportError`, no answer →
:class:`DeviceTimeout`, an exception answer → :class:`DeviceError`, an answer from another unit → :class:`AddressError`.
A connection that drops while a request waits for its answer fails that request at once with :class:`TransportError`
(not with a :class:`DeviceTimeout` a full timeout later: the link failed, not the unit); bytes pymodbus cannot decode
fail it with :class:`ProtocolError` and are dropped (pymodbus alone would kill the connection with a logged traceback).
On Modbus-TCP, whose frames carry no checksum, a failed exchange (no answer, a bad one) also closes the connection: the
rest of a late answer can then never be read as the next request's answer.

pymodbus logs every unanswered request and every bad frame at ERROR or WARNING level, with a dump of the last
frames. Such records, when they come from a request of this link, are re-logged on this module's logger at DEBUG
level (one line each) instead: the library's own errors already say what went wrong. Other users of pymodbus in
the same process (Home Assistant's own Modbus integration) keep their logs untouched.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence

from pymodbus import FramerType, ModbusException
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from ..errors import AddressError, DeviceError, DeviceTimeout, ProtocolError, TransportError
from ..kinds import LinkKind
from .base import DEFAULT_TIMEOUT, RegisterLink
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


#: The link whose request runs in this context: pymodbus log records seen here are about that request.
_CURRENT_LINK: contextvars.ContextVar[str | None] = contextvars.ContextVar("bms_modbus_link", default=None)


class _OwnRequestsFilter(logging.Filter):
    """Moves pymodbus' records about our own requests to our logger at DEBUG (one line, no frame dump)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep records of other pymodbus users; re-log ours at DEBUG."""
        where = _CURRENT_LINK.get()
        if where is None:
            return True
        if _LOGGER.isEnabledFor(logging.DEBUG):
            message = record.getMessage().split("\n", 1)[0]
            _LOGGER.debug("%s: pymodbus %s: %s", where, record.levelname.lower(), message)
        return False


def _install_log_filter() -> None:
    logger = logging.getLogger("pymodbus.logging")
    if not any(isinstance(f, _OwnRequestsFilter) for f in logger.filters):
        logger.addFilter(_OwnRequestsFilter())


_install_log_filter()


class ModbusMode(enum.StrEnum):
    """How Modbus reaches the device."""

    TCP = "tcp"  # Modbus-TCP (MBAP header)
    RTU_OVER_TCP = "rtu-over-tcp"  # RTU frames through a raw RS485-to-TCP bridge
    RTU = "rtu"  # RTU on a serial port


PacketTrace = Callable[[bool, bytes], None]
_Client = AsyncModbusTcpClient | AsyncModbusSerialClient


class ModbusLink(RegisterLink):
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
        #: Resolved with an exception when the request in flight must fail at once (connection lost, junk received).
        self._interrupt: asyncio.Future[ModbusException] | None = None

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
        if sending:
            self.bytes_sent += len(data)
        else:
            self.bytes_received += len(data)
        if self.tap is not None:
            self.tap("tx" if sending else "rx", bytes(data))
        return data

    def _fail_request(self, err: ModbusException) -> None:
        interrupt = self._interrupt
        if interrupt is not None and not interrupt.done():
            interrupt.set_result(err)

    def _trace_connect(self, connected: bool) -> None:
        if not connected:
            self._fail_request(ConnectionException("connection lost while waiting for the answer"))

    def _guard_receiver(self, client: _Client) -> None:
        """Bytes pymodbus cannot decode fail the request (ProtocolError) instead of killing the connection.

        pymodbus raises out of ``data_received`` on an undecodable frame; asyncio then logs a "Fatal error" with a
        traceback and closes the connection.
        """
        protocol = client.ctx
        receive = protocol.data_received

        def data_received(data: bytes) -> None:
            try:
                receive(data)
            except ModbusException as err:
                protocol.recv_buffer = b""
                _LOGGER.debug("%s: undecodable bytes dropped: %s", self.description, _one_line(err))
                self._fail_request(ModbusException(f"undecodable answer ({_one_line(err)})"))

        protocol.data_received = data_received  # type: ignore[method-assign]

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
                trace_connect=self._trace_connect,
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
            trace_connect=self._trace_connect,
        )

    async def _ensure_connected(self) -> _Client:
        if self._client is not None and self._client.connected:
            return self._client
        if self._client is not None:
            self._client.close()
        client = self._new_client()
        client.set_max_no_responses(_NEVER_DISCONNECT)
        self._guard_receiver(client)
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
            token = _CURRENT_LINK.set(self.description)
            try:
                response = await self._execute_locked(what, unit, reply_timeout, call)
            finally:
                _CURRENT_LINK.reset(token)
        if isinstance(response, ExceptionResponse) or response.isError():
            code = getattr(response, "exception_code", 0)
            raise DeviceError(
                f"{self.description}: unit {unit} answered {what} with exception {code}"
                f" ({EXCEPTION_TEXT.get(code, 'unknown')})"
            )
        return response

    async def _execute_locked(
        self, what: str, unit: int, reply_timeout: float | None, call: Callable[[_Client], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        """One request; on Modbus-TCP a failed exchange also closes the connection (see :meth:`_checked`)."""
        try:
            return await self._checked(what, unit, reply_timeout, call)
        except DeviceTimeout, ProtocolError:
            if self.mode is ModbusMode.TCP:
                # Modbus-TCP frames carry no checksum: the rest of a late answer arriving after the next request
                # went out would be parsed as that answer's header and data. A fresh connection cannot receive it.
                await self._drop()
            raise

    async def _checked(
        self, what: str, unit: int, reply_timeout: float | None, call: Callable[[_Client], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        client = await self._ensure_connected()
        wait = self.timeout if reply_timeout is None else reply_timeout
        client.comm_params.timeout_connect = wait  # pymodbus waits this long for an answer
        self.requests += 1
        no_answer = f"{self.description}: no answer from unit {unit} to {what} within {wait:g} s"
        try:
            async with asyncio.timeout(wait + 1.0):  # a safety net above pymodbus' own wait
                response = await self._call(client, call)
            if self.mode is ModbusMode.TCP and response.transaction_id != client.ctx.request_transaction_id:
                raise AddressError(f"{self.description}: {what}: answer to another request (transaction id)")
            return response
        except TimeoutError:
            raise DeviceTimeout(no_answer) from None
        except ConnectionException as err:
            await self._drop()
            raise TransportError(f"{self.description}: {_one_line(err)}") from None
        except ModbusIOException as err:
            text = _one_line(err)
            if "device id" in text:
                raise AddressError(f"{self.description}: {what}: answer from another unit ({text})") from None
            if "transaction id" in text:
                raise AddressError(f"{self.description}: {what}: answer to another request ({text})") from None
            if not client.connected:  # the connection went away meanwhile: the link failed, not the unit
                await self._drop()
                raise TransportError(f"{self.description}: connection lost during {what}") from None
            if "No response" in text or "no response" in text:
                raise DeviceTimeout(no_answer) from None
            raise TransportError(f"{self.description}: {what}: {text}") from None
        except ModbusException as err:
            raise ProtocolError(f"{self.description}: {what}: {_one_line(err)}") from None
        except OSError as err:
            await self._drop()
            raise TransportError(f"{self.description}: {_one_line(err)}") from None
        finally:
            client.comm_params.timeout_connect = self.timeout

    async def _call(self, client: _Client, call: Callable[[_Client], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """``call(client)``; fails at once when the connection drops or undecodable bytes arrive meanwhile."""
        interrupt: asyncio.Future[ModbusException] = asyncio.get_running_loop().create_future()
        self._interrupt = interrupt
        request = asyncio.ensure_future(call(client))
        try:
            await asyncio.wait((request, interrupt), return_when=asyncio.FIRST_COMPLETED)
            if request.done():
                return request.result()
            raise interrupt.result()
        finally:
            self._interrupt = None
            if not request.done():
                request.cancel()
                await asyncio.gather(request, return_exceptions=True)

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
