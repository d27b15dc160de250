"""A fake BLE client that talks to a simulator instead of a radio, for tests and demos.

:class:`FakeBleClient` implements :class:`~vendor_plugins.transports.ble.ClientLike`: a write to the profile's
write characteristic goes to a :class:`~.serving.SimEndpoint`, and the answer comes back as notifications of at
most ``mtu_payload`` bytes each, delivered asynchronously (``loop.call_soon``) like a real stack does. Use it as
``BleLink(address, profile, client_factory=lambda: FakeBleClient(sim, profile))``. :meth:`drop_connection`
simulates the device going away. Its ``writes`` and ``notifications`` logs are bounded
(:class:`~.base.RequestLog`).
"""

from __future__ import annotations

import asyncio
import uuid as uuid_mod
from collections.abc import Callable
from typing import Any

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.service import BleakGATTService
from bleak.exc import BleakCharacteristicNotFoundError, BleakError

from ..plugin import BleProfile
from .base import DEFAULT_LOG_SIZE, RequestLog
from .serving import SimEndpoint, Simulators

#: ``callback(characteristic, data)``, as bleak calls notification handlers.
NotifyCallback = Callable[[Any, bytearray], None]


def _norm(uuid: str) -> str:
    """Canonical lower-case 128-bit form of a UUID string (raises ``ValueError`` when it is not one)."""
    return str(uuid_mod.UUID(uuid))


class FakeBleClient:
    """A connected-or-not BLE client whose peripheral is a simulator."""

    def __init__(
        self,
        simulator: Simulators | SimEndpoint,
        profile: BleProfile,
        disconnected_callback: Callable[[FakeBleClient], None] | None = None,
        *,
        mtu_payload: int = 20,
        address: str = "00:11:22:33:44:55",
        log_size: int = DEFAULT_LOG_SIZE,
    ) -> None:
        """Wrap ``simulator`` (or an existing endpoint, to share its clock) behind ``profile``'s characteristics.

        ``writes`` and ``notifications`` keep the most recent ``log_size`` entries (long runs stay flat).
        """
        if mtu_payload < 1:
            raise ValueError(f"mtu_payload must be positive, got {mtu_payload}")
        self._base = simulator if isinstance(simulator, SimEndpoint) else SimEndpoint(simulator)
        self._endpoint = self._base
        self.profile = profile
        self.mtu_payload = mtu_payload
        self.address = address
        self._disconnected_callback = disconnected_callback
        self._connected = False
        self._session = 0  # bumped on every connect/disconnect: notifications in flight belong to one session
        self._callbacks: dict[str, NotifyCallback] = {}
        service = BleakGATTService(None, 1, _norm(profile.service_uuid))
        layout: tuple[tuple[int, str, list[CharacteristicPropertyName]], ...] = (
            (2, profile.notify_uuid, ["notify"]),
            (4, profile.write_uuid, ["write-without-response", "write"]),
        )
        self._chars = {
            _norm(u): BleakGATTCharacteristic(None, handle, _norm(u), props, lambda: mtu_payload, service)
            for handle, u, props in layout
        }
        #: Counters for tests (the lists are bounded: the most recent ``log_size`` entries).
        self.connects = 0
        self.writes: list[bytes] = RequestLog(maxlen=log_size)
        self.notifications: list[bytes] = RequestLog(maxlen=log_size)

    @property
    def is_connected(self) -> bool:
        """Whether the fake link is up."""
        return self._connected

    def set_disconnected_callback(self, callback: Callable[[Any], None] | None) -> None:
        """Call ``callback(client)`` when the connection drops (see :meth:`drop_connection`)."""
        self._disconnected_callback = callback

    async def connect(self) -> None:
        """Connect (a fresh request assembler per connection; the simulator's clock carries on)."""
        if self._connected:
            return
        self._endpoint = self._base.fork()
        self._callbacks.clear()
        self._connected = True
        self._session += 1
        self.connects += 1

    async def disconnect(self) -> None:
        """Disconnect on our own initiative (no disconnected callback, like bleak)."""
        self._connected = False
        self._session += 1
        self._callbacks.clear()

    def drop_connection(self) -> None:
        """Simulate the peripheral going away: disconnect and call the disconnected callback."""
        was_connected = self._connected
        self._connected = False
        self._session += 1
        self._callbacks.clear()
        if was_connected and self._disconnected_callback is not None:
            self._disconnected_callback(self)

    def _char(self, char_specifier: str) -> BleakGATTCharacteristic:
        try:
            return self._chars[_norm(char_specifier)]
        except ValueError, KeyError:
            raise BleakCharacteristicNotFoundError(char_specifier) from None

    async def start_notify(self, char_specifier: str, callback: NotifyCallback, /) -> None:
        """Subscribe ``callback`` to the notify characteristic."""
        self._require_connected()
        char = self._char(char_specifier)
        if "notify" not in char.properties:
            raise BleakError(f"Characteristic {char_specifier} does not support notifications")
        self._callbacks[char.uuid] = callback

    async def write_gatt_char(self, char_specifier: str, data: bytes, /, response: bool = False) -> None:
        """Write a request; the simulator's answer is notified in ``mtu_payload``-sized pieces."""
        self._accept_write(char_specifier, data)
        reply = self._endpoint.feed(bytes(data))
        self._notify(reply)

    def _accept_write(self, char_specifier: str, data: bytes) -> None:
        """Check a write as a device would (connected, writable characteristic) and record it in :attr:`writes`."""
        self._require_connected()
        char = self._char(char_specifier)
        if "write" not in char.properties and "write-without-response" not in char.properties:
            raise BleakError(f"Characteristic {char_specifier} is not writable")
        self.writes.append(bytes(data))

    def notify(self, data: bytes) -> None:
        """Send unsolicited ``data`` as notifications (test hook: noise, a late reply)."""
        self._notify(data)

    def _notify(self, data: bytes) -> None:
        notify_char = self._chars[_norm(self.profile.notify_uuid)]
        callback = self._callbacks.get(notify_char.uuid)
        if not data or callback is None:
            return
        loop = asyncio.get_running_loop()
        for start in range(0, len(data), self.mtu_payload):
            piece = data[start : start + self.mtu_payload]
            self.notifications.append(piece)
            loop.call_soon(self._deliver, self._session, callback, notify_char, piece)

    def _deliver(self, session: int, callback: NotifyCallback, char: BleakGATTCharacteristic, piece: bytes) -> None:
        if session == self._session:  # a notification in flight is lost when the link drops
            callback(char, bytearray(piece))

    def _require_connected(self) -> None:
        if not self._connected:
            raise BleakError("Not connected")
