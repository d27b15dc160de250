"""Bluetooth Low Energy link: write requests to one GATT characteristic, read answers from notifications.

The characteristics come from the plugin's :class:`~vendor_plugins.plugin.BleProfile`. Notifications arrive in
MTU-sized pieces (often 20 bytes); :class:`~.base.BufferedByteLink` reassembles them into frames.

Connecting:

* **Home Assistant** hands the link a ``BLEDevice`` (from its own Bluetooth stack, which also makes ESPHome
  proxies work) and a ``ble_device_callback`` that returns the freshest one; the link connects with
  ``bleak_retry_connector.establish_connection`` and never scans by itself.
* **CLI**: given an address string, the link finds the device once with ``BleakScanner.find_device_by_address``.
* **Tests and simulators** pass ``client_factory`` returning any :class:`ClientLike` (e.g.
  :class:`vendor_plugins.sim.ble.FakeBleClient`); bleak is then not touched at all.

A disconnect reported by bleak (or by a client with ``set_disconnected_callback``) fails the pending exchange
with :class:`~vendor_plugins.errors.TransportError`; the next exchange reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import bleak_retry_connector
from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from ..errors import TransportError
from ..kinds import BleProfile, LinkKind
from .base import DEFAULT_TIMEOUT, BufferedByteLink

_LOGGER = logging.getLogger(__name__)

#: ``callback(characteristic, data)`` as bleak calls it for every notification.
NotifyCallback = Callable[[Any, bytearray], None]

#: ``callback(client)`` as bleak calls it when the connection drops.
DisconnectedCallback = Callable[[Any], None]

#: Errors a BLE stack raises for connection problems (bleak internals raise AttributeError once disconnected).
_BLE_ERRORS: tuple[type[BaseException], ...] = (BleakError, AttributeError, OSError, EOFError, TimeoutError)

_DISCONNECT_TIMEOUT = 5.0


def no_bluez_hint(err: BaseException) -> str:
    """`` (no Bluetooth service: …)`` when ``err`` says the Bluetooth stack is missing (bleak cannot reach BlueZ)."""
    return " (no Bluetooth service: is BlueZ running, with D-Bus?)" if isinstance(err, FileNotFoundError) else ""


class ClientLike(Protocol):
    """The part of ``bleak.BleakClient`` the link uses; fakes implement just this."""

    @property
    def is_connected(self) -> bool:
        """Whether the client is connected."""
        ...

    async def connect(self) -> None:
        """Connect to the device."""
        ...

    async def disconnect(self) -> None:
        """Disconnect from the device."""
        ...

    async def start_notify(self, char_specifier: str, callback: NotifyCallback, /) -> None:
        """Call ``callback`` with every notification of characteristic ``char_specifier``."""
        ...

    async def write_gatt_char(self, char_specifier: str, data: bytes, /, response: bool = False) -> None:
        """Write ``data`` to characteristic ``char_specifier``."""
        ...


@runtime_checkable
class DisconnectNotifying(Protocol):
    """A client that can report a dropped connection (the link registers its callback when present)."""

    def set_disconnected_callback(self, callback: DisconnectedCallback | None) -> None:
        """Call ``callback(client)`` when the connection drops."""
        ...


class BleLink(BufferedByteLink):
    """A BLE device speaking through a write characteristic and a notify characteristic."""

    kind = LinkKind.BLE

    def __init__(
        self,
        device: BLEDevice | str,
        profile: BleProfile,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client_factory: Callable[[], ClientLike] | None = None,
        ble_device_callback: Callable[[], BLEDevice] | None = None,
        name: str | None = None,
        scan_timeout: float = 10.0,
    ) -> None:
        """Describe the device; nothing connects until the first exchange.

        ``device`` is a ``BLEDevice`` (Home Assistant) or an address (CLI: found by scanning once, up to
        ``scan_timeout`` seconds). ``client_factory`` replaces bleak entirely (tests, simulators).
        ``name`` labels the device in bleak-retry-connector's logs.
        """
        super().__init__(timeout=timeout)
        self.profile = profile
        self._device = device
        self._client_factory = client_factory
        self._ble_device_callback = ble_device_callback
        self._name = name
        self.scan_timeout = scan_timeout
        self._client: ClientLike | None = None
        self._generation = 0

    @property
    def address(self) -> str:
        """The device's Bluetooth address."""
        return self._device if isinstance(self._device, str) else self._device.address

    @property
    def name(self) -> str:
        """The name used in logs: the one given, else the advertised name, else the address."""
        if self._name:
            return self._name
        if isinstance(self._device, BLEDevice) and self._device.name:
            return self._device.name
        return self.address

    @property
    def description(self) -> str:
        """``ble://<address>``."""
        return f"ble://{self.address}"

    @property
    def connected(self) -> bool:
        """Whether the client is connected."""
        return self._client is not None and self._client.is_connected

    # --- connecting ------------------------------------------------------------------------------
    async def _resolve_device(self) -> BLEDevice:
        """The ``BLEDevice`` to connect to; scans once when only an address was given (CLI)."""
        if isinstance(self._device, BLEDevice):
            return self._device
        try:
            found = await BleakScanner.find_device_by_address(self._device, timeout=self.scan_timeout)
        except _BLE_ERRORS as exc:
            raise TransportError(f"{self.description}: cannot scan for the device: {exc}{no_bluez_hint(exc)}") from None
        if found is None:
            raise TransportError(
                f"{self.description}: device not found within {self.scan_timeout:g} s"
                " (not advertising, out of range, or connected elsewhere)"
            )
        self._device = found
        return found

    async def _open_client(self, on_disconnect: DisconnectedCallback) -> ClientLike:
        """Create and connect a client: the factory's, or bleak's through bleak-retry-connector."""
        if self._client_factory is not None:
            client = self._client_factory()
            if isinstance(client, DisconnectNotifying):
                client.set_disconnected_callback(on_disconnect)
            try:
                await client.connect()
            except _BLE_ERRORS as exc:
                raise TransportError(f"{self.description}: cannot connect: {exc}{no_bluez_hint(exc)}") from None
            return client
        device = await self._resolve_device()
        try:
            # Looked up at connect time, not import time: inside Home Assistant the bluetooth integration installs its
            # client wrapper (what makes ESPHome Bluetooth proxies work) after this module may have been imported.
            bleak_client: ClientLike = await bleak_retry_connector.establish_connection(
                bleak_retry_connector.BleakClientWithServiceCache,
                device,
                self.name,
                disconnected_callback=on_disconnect,
                ble_device_callback=self._ble_device_callback,
            )
        except _BLE_ERRORS as exc:
            raise TransportError(f"{self.description}: cannot connect: {exc}{no_bluez_hint(exc)}") from None
        return bleak_client

    async def _connect(self) -> None:
        """Connect and subscribe to the notify characteristic."""
        self._generation += 1
        generation = self._generation

        def on_disconnect(_client: Any) -> None:
            if generation == self._generation:
                self._client = None
                self._generation += 1
                _LOGGER.debug("%s: disconnected", self.description)
                self._on_lost(None)

        def on_notify(_char: Any, data: bytearray) -> None:
            if generation == self._generation:
                self._on_data(bytes(data))

        client = await self._open_client(on_disconnect)
        self._client = client
        try:
            await client.start_notify(self.profile.notify_uuid, on_notify)
        except _BLE_ERRORS as exc:
            await self._disconnect()
            raise TransportError(
                f"{self.description}: cannot subscribe to notifications of {self.profile.notify_uuid}: {exc}"
            ) from None
        _LOGGER.debug("%s: connected", self.description)

    # --- I/O ------------------------------------------------------------------------------------
    async def _write(self, data: bytes) -> None:
        """Write ``data`` to the write characteristic without response."""
        client = self._client
        if client is None or not client.is_connected:
            raise TransportError(f"{self.description}: not connected")
        try:
            await client.write_gatt_char(self.profile.write_uuid, data, response=False)
        except _BLE_ERRORS as exc:
            raise TransportError(f"{self.description}: write failed: {exc}") from None

    async def _disconnect(self) -> None:
        """Disconnect (never raises); notifications and the disconnect callback of this client are ignored."""
        client = self._client
        self._client = None
        self._generation += 1
        if client is None:
            return
        try:
            async with asyncio.timeout(_DISCONNECT_TIMEOUT):
                await client.disconnect()
        except Exception as exc:  # closing must not raise
            _LOGGER.debug("%s: error while disconnecting: %s", self.description, exc)
