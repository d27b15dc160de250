"""A register-level replay for the truth check of sessions that read registers (Modbus).

:class:`ReplayModbusLink` answers ``read_registers`` from recorded RTU ``(request, reply)`` pairs chosen by a
:class:`~.truth.TruthReplayLink`, as the real link would have decoded them, so :func:`~.truth.is_allowed` can rebuild a
register session's snapshot exactly as it does a frame session's.
"""

from __future__ import annotations

from collections.abc import Sequence

from vendor_plugins.crc import crc16_modbus
from vendor_plugins.errors import AddressError, ChecksumError, DeviceError, DeviceTimeout, FrameError, UnsupportedError
from vendor_plugins.transports.modbus import EXCEPTION_TEXT, ModbusLink, ModbusMode

from .mbap import READ_HOLDING, read_request
from .truth import TruthReplayLink


class ReplayModbusLink(ModbusLink):
    """A Modbus link whose units answer from recorded RTU replies chosen by a :class:`~.truth.TruthReplayLink`."""

    def __init__(self, replay: TruthReplayLink) -> None:
        """Answer ``read_registers`` with ``replay``'s chosen recorded replies."""
        super().__init__(ModbusMode.RTU, "replay")
        self.replay = replay

    @property
    def description(self) -> str:
        """``replay://``."""
        return "replay://"

    async def read_registers(
        self, unit: int, address: int, count: int, *, reply_timeout: float | None = None
    ) -> list[int]:
        """The registers of the chosen recorded reply to this read (errors as the real link raises them)."""
        request = read_request(unit, address, count)
        options = self.replay.answers.get(request)
        index = self.replay.choice.get(request, 0)
        if not options or index >= len(options):
            raise DeviceTimeout(f"replay: no answer from unit {unit}")
        reply = options[index]
        if len(reply) < 5 or int.from_bytes(reply[-2:], "little") != crc16_modbus(reply[:-2]):
            raise ChecksumError("replay: bad CRC")
        if reply[0] != unit:
            raise AddressError(f"replay: answer from unit {reply[0]}")
        what = f"read {count} register(s) at {address}"
        if reply[1] == READ_HOLDING | 0x80:
            code = reply[2]
            raise DeviceError(
                f"{self.description}: unit {unit} answered {what} with exception {code}"
                f" ({EXCEPTION_TEXT.get(code, 'unknown')})"
            )
        data = reply[3:-2]
        if reply[1] != READ_HOLDING or len(data) != 2 * count:
            raise FrameError(f"replay: {what}: unexpected answer")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]

    async def write_registers(
        self, unit: int, address: int, values: Sequence[int], *, reply_timeout: float | None = None
    ) -> None:
        """Writes are never replayed."""
        raise UnsupportedError("replay: writes are not recorded")

    async def close(self) -> None:
        """Nothing to close."""
