"""BleLink over the fake BLE client (and the bleak connect path with bleak itself stubbed out)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import BleakClientWithServiceCache

from vendor_plugins.errors import DeviceTimeout, TransportError
from vendor_plugins.plugin import LinkKind
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.serving import SimEndpoint
from vendor_plugins.transports import ble as ble_module
from vendor_plugins.transports.ble import BleLink, ClientLike

from .line_protocol import PROFILE, LineSim, answer, expect, request

ADDRESS = "AA:BB:CC:DD:EE:FF"


class Factory:
    """A client factory that remembers the clients it made."""

    def __init__(self, sim: LineSim, **kwargs: Any) -> None:
        """Share one endpoint (one simulator clock) across reconnects."""
        self.endpoint = SimEndpoint(sim)
        self.kwargs = kwargs
        self.clients: list[FakeBleClient] = []

    def __call__(self) -> FakeBleClient:
        """A new fake client, like bleak creates per connection."""
        client = FakeBleClient(self.endpoint, PROFILE, **self.kwargs)
        self.clients.append(client)
        return client


async def test_long_reply_arrives_in_notifications_and_is_reassembled() -> None:
    """A 54-byte answer comes as 20+20+14-byte notifications and is reassembled into one frame."""
    sim = LineSim(reply_size=50)
    factory = Factory(sim)
    async with BleLink(ADDRESS, PROFILE, client_factory=factory, timeout=0.3) as link:
        assert link.kind is LinkKind.BLE
        assert link.description == f"ble://{ADDRESS}"
        frames = await link.exchange(request(9), expect(9))
        assert [f.raw for f in frames] == [answer(9, bytes(range(9, 59)))]
        client = factory.clients[0]
        assert [len(n) for n in client.notifications] == [20, 20, 14]
        assert client.writes == [request(9)]


async def test_mtu_payload_is_configurable() -> None:
    """Smaller notifications (a tiny MTU) still reassemble."""
    factory = Factory(LineSim(reply_size=10), mtu_payload=3)
    async with BleLink(ADDRESS, PROFILE, client_factory=factory, timeout=0.3) as link:
        frames = await link.exchange(request(1), expect(1))
        assert len(frames[0].payload) == 10
        assert [len(n) for n in factory.clients[0].notifications] == [3, 3, 3, 3, 2]


async def test_notifications_are_asynchronous() -> None:
    """Like a real stack, notifications are delivered after the write returns, not inside it."""
    received: list[bytes] = []
    client = FakeBleClient(LineSim(), PROFILE)
    await client.connect()
    await client.start_notify(PROFILE.notify_uuid, lambda _c, data: received.append(bytes(data)))
    await client.write_gatt_char(PROFILE.write_uuid, request(5), response=False)
    assert received == []
    await asyncio.sleep(0)
    assert received == [answer(5)]


async def test_drop_connection_fails_pending_exchange_and_reconnects() -> None:
    """The device goes away while we wait: TransportError at once; the next exchange reconnects."""
    sim = LineSim(silent={0xEE})
    factory = Factory(sim)
    async with BleLink(ADDRESS, PROFILE, client_factory=factory, timeout=2) as link:
        await link.exchange(request(1), expect(1))
        pending = asyncio.create_task(link.exchange(request(0xEE), expect(0xEE, timeout=2)))
        await asyncio.sleep(0.02)
        factory.clients[0].drop_connection()
        with pytest.raises(TransportError, match="connection lost"):
            await asyncio.wait_for(pending, 0.5)
        assert not link.connected
        assert (await link.exchange(request(2), expect(2)))[0].address == 2
        assert len(factory.clients) == 2
        assert sim.handled == [request(1), request(0xEE), request(2)]


async def test_same_client_object_can_reconnect() -> None:
    """A factory may return the same client every time; it is connected again after a drop."""
    client = FakeBleClient(LineSim(), PROFILE)
    async with BleLink(ADDRESS, PROFILE, client_factory=lambda: client, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))
        client.drop_connection()
        assert (await link.exchange(request(2), expect(2)))[0].address == 2
        assert client.connects == 2
    assert not client.is_connected


async def test_stale_notification_is_discarded() -> None:
    """An unsolicited notification that arrived while idle is not the next answer."""
    factory = Factory(LineSim())
    async with BleLink(ADDRESS, PROFILE, client_factory=factory, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))
        factory.clients[0].notify(answer(0x63))
        await asyncio.sleep(0)
        frames = await link.exchange(request(7), expect())
        assert [f.address for f in frames] == [7]


async def test_timeout_over_ble() -> None:
    """A silent device: DeviceTimeout; the connection stays up."""
    factory = Factory(LineSim(silent={3}))
    async with BleLink(ADDRESS, PROFILE, client_factory=factory, timeout=0.3) as link:
        with pytest.raises(DeviceTimeout):
            await link.exchange(request(3), expect(3, timeout=0.1))
        assert link.connected
        assert (await link.exchange(request(4), expect(4)))[0].address == 4
        assert len(factory.clients) == 1


async def test_unknown_characteristic_raises_bleak_error() -> None:
    """Writing or subscribing to a characteristic the device lacks raises a bleak error."""
    client = FakeBleClient(LineSim(), PROFILE)
    await client.connect()
    with pytest.raises(BleakError, match="was not found"):
        await client.write_gatt_char("0000ffff-0000-1000-8000-00805f9b34fb", b"x")
    with pytest.raises(BleakError):
        await client.start_notify("not-a-uuid", lambda _c, _d: None)
    with pytest.raises(BleakError, match="notifications"):
        await client.start_notify(PROFILE.write_uuid, lambda _c, _d: None)


async def test_not_connected_raises_bleak_error() -> None:
    """The fake refuses I/O while disconnected, like bleak."""
    client = FakeBleClient(LineSim(), PROFILE)
    with pytest.raises(BleakError, match="Not connected"):
        await client.write_gatt_char(PROFILE.write_uuid, request(1))


async def test_wrong_profile_makes_a_transport_error() -> None:
    """A profile whose notify characteristic the device lacks: TransportError from the link."""
    device_profile = type(PROFILE)(PROFILE.service_uuid, PROFILE.notify_uuid, PROFILE.write_uuid)
    wrong = type(PROFILE)(PROFILE.service_uuid, "0000fff1-0000-1000-8000-00805f9b34fb", PROFILE.write_uuid)
    link = BleLink(ADDRESS, wrong, client_factory=lambda: FakeBleClient(LineSim(), device_profile))
    with pytest.raises(TransportError, match="cannot subscribe"):
        await link.exchange(request(1), expect(1))
    assert not link.connected


async def test_connect_failure_is_a_transport_error() -> None:
    """A client whose connect fails: TransportError, one line."""

    class Unreachable(FakeBleClient):
        async def connect(self) -> None:
            raise BleakError("Device with address AA:BB:CC:DD:EE:FF was not found")

    link = BleLink(ADDRESS, PROFILE, client_factory=lambda: Unreachable(LineSim(), PROFILE))
    with pytest.raises(TransportError, match=f"ble://{ADDRESS}: cannot connect: Device") as err:
        await link.exchange(request(1), expect(1))
    assert "\n" not in str(err.value)


async def test_write_failure_is_a_transport_error() -> None:
    """A write error from the stack becomes TransportError and the link reconnects next time."""
    factory = Factory(LineSim())
    async with BleLink(ADDRESS, PROFILE, client_factory=factory, timeout=0.3) as link:
        await link.exchange(request(1), expect(1))

        async def broken(*args: object, **kwargs: object) -> None:
            raise BleakError("ATT error")

        factory.clients[0].write_gatt_char = broken  # type: ignore[method-assign]
        with pytest.raises(TransportError, match="write failed: ATT error"):
            await link.exchange(request(2), expect(2))
        assert not link.connected
        assert (await link.exchange(request(3), expect(3)))[0].address == 3


# --- the bleak path, with bleak's connect stubbed out ------------------------------------------------------------
async def test_address_not_found_by_scanner(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI path: an address nobody advertises gives TransportError, no connection attempt."""

    async def not_found(address: str, **kwargs: object) -> BLEDevice | None:
        assert address == ADDRESS
        return None

    async def must_not_connect(*args: object, **kwargs: object) -> ClientLike:
        raise AssertionError("establish_connection called")

    monkeypatch.setattr(BleakScanner, "find_device_by_address", not_found)
    monkeypatch.setattr(ble_module.bleak_retry_connector, "establish_connection", must_not_connect)
    link = BleLink(ADDRESS, PROFILE, scan_timeout=0.5)
    with pytest.raises(TransportError, match=f"ble://{ADDRESS}: device not found within 0.5 s"):
        await link.exchange(request(1), expect(1))


async def test_address_found_by_scanner_then_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI path: scan once, then connect with establish_connection; reconnects reuse the found device."""
    device = BLEDevice(ADDRESS, "JBD-TEST", None)
    scans: list[str] = []
    connects: list[dict[str, Any]] = []

    async def found(address: str, **kwargs: object) -> BLEDevice | None:
        scans.append(address)
        return device

    async def establish(client_class: type, dev: BLEDevice, name: str, **kwargs: Any) -> ClientLike:
        connects.append({"device": dev, "name": name, **kwargs})
        client = FakeBleClient(LineSim(), PROFILE)
        client.set_disconnected_callback(kwargs["disconnected_callback"])
        await client.connect()
        return client

    monkeypatch.setattr(BleakScanner, "find_device_by_address", found)
    monkeypatch.setattr(ble_module.bleak_retry_connector, "establish_connection", establish)
    async with BleLink(ADDRESS, PROFILE, timeout=0.3) as link:
        assert (await link.exchange(request(1), expect(1)))[0].address == 1
        await link.close()
        assert (await link.exchange(request(2), expect(2)))[0].address == 2
    assert scans == [ADDRESS]
    assert [c["device"] for c in connects] == [device, device]
    assert connects[0]["name"] == "JBD-TEST"


async def test_home_assistant_path_never_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a BLEDevice and ble_device_callback, the link connects through establish_connection only."""
    device = BLEDevice(ADDRESS, None, None)
    clients: list[FakeBleClient] = []
    seen: dict[str, Any] = {}

    async def no_scan(*args: object, **kwargs: object) -> BLEDevice | None:
        raise AssertionError("the library must not scan inside Home Assistant")

    async def establish(client_class: type, dev: BLEDevice, name: str, **kwargs: Any) -> ClientLike:
        seen.update(client_class=client_class, device=dev, name=name, **kwargs)
        client = FakeBleClient(LineSim(silent={0xEE}), PROFILE, kwargs["disconnected_callback"])
        await client.connect()
        clients.append(client)
        return client

    def fresh_device() -> BLEDevice:
        return device

    monkeypatch.setattr(BleakScanner, "find_device_by_address", no_scan)
    monkeypatch.setattr(ble_module.bleak_retry_connector, "establish_connection", establish)
    link = BleLink(device, PROFILE, ble_device_callback=fresh_device, name="Pack 1", timeout=0.5)
    assert link.description == f"ble://{ADDRESS}"
    assert (await link.exchange(request(1), expect(1)))[0].address == 1
    assert seen["device"] is device
    assert seen["name"] == "Pack 1"
    assert seen["ble_device_callback"] is fresh_device
    assert seen["client_class"] is BleakClientWithServiceCache
    # bleak reports the drop through disconnected_callback: the pending exchange fails at once
    pending = asyncio.create_task(link.exchange(request(0xEE), expect(0xEE)))
    await asyncio.sleep(0.02)
    clients[0].drop_connection()
    with pytest.raises(TransportError, match="connection lost"):
        await asyncio.wait_for(pending, 0.3)
    assert (await link.exchange(request(2), expect(2)))[0].address == 2
    assert len(clients) == 2
    await link.close()
    assert not clients[1].is_connected
