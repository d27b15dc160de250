"""HiXiMi sessions against simulated units of each family: detection, reading, the stored family, control, BLE."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.vendor_plugins.readonly import assert_read_only, request_kind
from tests.vendor_plugins.sim_links import TRANSPORTS, Silent, served
from vendor_plugins.capture import ReplayLink
from vendor_plugins.daly.session import DalySession
from vendor_plugins.errors import ConfigError, ControlRefused, DeviceTimeout, TransportError, UnsupportedError
from vendor_plugins.hiximi.plugin import PLUGIN
from vendor_plugins.hiximi.session import HiximiSession
from vendor_plugins.hiximi.session_families import FAMILY_NAMES, JBD_BASIC_READ
from vendor_plugins.hiximi.simulator import HiximiSimulator
from vendor_plugins.jbd.plugin import JbdSession
from vendor_plugins.model import BmsSnapshot, Switch
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.transports import BleLink

#: Which framing each family's requests use (see tests/vendor_plugins/readonly.py).
WIRE_FAMILY = {"jbd": "jbd", "daly-d2": "daly-modbus", "daly-a5": "daly-a5"}


def assert_matches_state(snap: BmsSnapshot, sim: HiximiSimulator) -> None:
    """The snapshot shows the simulated battery (JBD and DALY states share these fields)."""
    state: Any = sim.inner.state
    assert snap.cell_voltages == tuple(state.cell_voltages)
    assert snap.current == state.current
    assert snap.remaining_capacity == state.remaining_capacity
    assert snap.cycles == state.cycles
    assert snap.charge_mosfet is state.charge_mosfet
    assert snap.discharge_mosfet is state.discharge_mosfet


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("family", FAMILY_NAMES)
async def test_each_family_is_detected_and_read(family: str, transport: str) -> None:
    sim = HiximiSimulator(family)
    async with served(sim, transport) as link:
        sent: list[bytes] = []
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        session = PLUGIN.open_session(link)
        assert session.family is None
        snap = await session.read()
        assert session.family == family
        assert_matches_state(snap, sim)
        info = await session.device_info()
    assert info.vendor == "HiXiMi"
    assert info.family == family
    assert info.cell_count == len(sim.inner.state.cell_voltages)
    assert assert_read_only(sent) >= 2
    # The safe order: JBD first, then D2, then A5 — nothing of a later family before the one that answered.
    order = ["jbd", "daly-modbus", "daly-a5"]
    kinds = [request_kind(r)[0] for r in sent]
    assert kinds[0] == "jbd"
    assert max(order.index(k) for k in kinds) == order.index(WIRE_FAMILY[family])


async def test_bound_session_is_the_family_s_own() -> None:
    """Control and reads go through the JBD / DALY session itself (no HiXiMi copy of their code)."""
    for family, kind in (("jbd", JbdSession), ("daly-d2", DalySession), ("daly-a5", DalySession)):
        async with served(HiximiSimulator(family), "tcp") as link:
            session = PLUGIN.open_session(link)
            await session.read()
            assert isinstance(session.inner, kind)


@pytest.mark.parametrize("family", FAMILY_NAMES)
async def test_a_stored_family_skips_probing(family: str) -> None:
    """With the family Home Assistant stored, the first request is already the family's own read."""
    sim = HiximiSimulator(family)
    async with served(sim, "tcp") as link:
        sent: list[bytes] = []
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        session = PLUGIN.open_session(link, SessionOptions(family=family))
        assert session.family == family
        snap = await session.read()
    assert_matches_state(snap, sim)
    assert {request_kind(r)[0] for r in sent} == {WIRE_FAMILY[family]}


async def test_a5_at_a_given_host_address() -> None:
    sim = HiximiSimulator("daly-a5")
    async with served(sim, "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(extra={"host_address": 0x40}))
        await session.read()
        assert session.family == "daly-a5"
        assert session.host_address == 0x40
    assert all(r[1] == 0x40 for r in sim.requests)


async def test_wrong_stored_family_fails_without_probing_others() -> None:
    """A stored family is trusted: a JBD unit read as daly-d2 is a timeout, not a silent switch of protocol."""
    sim = HiximiSimulator("jbd")
    async with served(sim, "tcp", request_timeout=0.2) as link:
        with pytest.raises(DeviceTimeout):
            await PLUGIN.open_session(link, SessionOptions(family="daly-d2")).read()
    assert sim.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_nothing_answering_is_a_clear_error_within_four_timeouts(transport: str) -> None:
    timeout = 0.2
    async with served(Silent(), transport, request_timeout=timeout) as link:
        sent: list[bytes] = []
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        session = PLUGIN.open_session(link)
        started = time.monotonic()
        with pytest.raises(DeviceTimeout) as caught:
            await session.read()
        elapsed = time.monotonic() - started
    message = str(caught.value)
    assert "no HiXiMi protocol family answered" in message
    for what in ("JBD basic info 0x03 (DD A5 03 00 FF FD 77)", "DALY D2 status (D2 03 00 00 00 3E D7 B9)"):
        assert what in message
    assert "DALY A5 0x90 at host 0x80 (A5 80 90 08 …), then host 0x40 (A5 40 90 08 …)" in message
    assert "\n" not in message
    # JBD, D2, A5 at 0x80, A5 at 0x40: four requests, one timeout each, nothing else.
    assert assert_read_only(sent) == 4
    assert elapsed < 4 * timeout + 0.5


async def test_the_jbd_request_named_in_messages_is_the_one_the_jbd_session_sends() -> None:
    """HiXiMi names JBD's basic-info read in its messages; the probe itself is the JBD session's own read."""
    async with served(Silent(), "tcp", request_timeout=0.2) as link:
        sent: list[bytes] = []
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        with pytest.raises(DeviceTimeout) as caught:
            await PLUGIN.open_session(link).read()
    assert sent[0] == JBD_BASIC_READ
    assert JBD_BASIC_READ.hex(" ").upper() in str(caught.value)


def test_a_register_link_is_refused_when_the_session_is_made() -> None:
    """Every family HiXiMi may speak exchanges frames: a Modbus register link cannot carry it."""
    from vendor_plugins.transports.modbus import ModbusLink

    with pytest.raises(UnsupportedError, match="exchanges frames"):
        PLUGIN.open_session(ModbusLink.tcp("127.0.0.1", 1))


def test_unknown_family_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="daly-d2"):
        HiximiSession(ReplayLink([]), SessionOptions(family="pace"))
    with pytest.raises(ConfigError):
        HiximiSimulator("d2")


# --- control ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
async def test_control_goes_through_the_detected_family(family: str) -> None:
    sim = HiximiSimulator(family)
    async with served(sim, "tcp", request_timeout=0.5) as link:
        sent: list[bytes] = []
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        snap = await session.set_switch(None, Switch.DISCHARGE, False)
    assert snap.discharge_mosfet is False
    assert sim.inner.state.discharge_mosfet is False
    writes = [r for r in sent if request_kind(r)[1] == "write"]
    assert writes
    assert {request_kind(r)[0] for r in writes} == {WIRE_FAMILY[family]}


async def test_control_is_refused_unless_enabled_and_nothing_is_written() -> None:
    sim = HiximiSimulator("daly-d2")
    async with served(sim, "tcp") as link:
        sent: list[bytes] = []
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        session = PLUGIN.open_session(link)
        with pytest.raises(ControlRefused):
            await session.set_switch(None, Switch.CHARGE, False)
    assert sent == []
    assert sim.inner.state.charge_mosfet is True


# --- Bluetooth --------------------------------------------------------------------------------------------
def _ble_link(sim: HiximiSimulator) -> tuple[BleLink, list[FakeBleClient]]:
    """A BLE link built the way callers do (HiXiMi's profile); the fake device has only its family's service."""
    clients: list[FakeBleClient] = []

    def client() -> FakeBleClient:
        clients.append(FakeBleClient(sim, sim.ble_profile))
        return clients[-1]

    return BleLink("C8:47:8C:00:00:01", PLUGIN.ble_profile, client_factory=client, timeout=0.5), clients


@pytest.mark.parametrize("family", FAMILY_NAMES)
async def test_ble_switches_to_the_family_s_service(family: str) -> None:
    sim = HiximiSimulator(family)
    link, clients = _ble_link(sim)
    async with link:
        session = PLUGIN.open_session(link)
        snap = await session.read()
        assert session.family == family
        assert link.profile == sim.ble_profile
    assert_matches_state(snap, sim)
    writes = [w for c in clients for w in c.writes]
    assert assert_read_only(writes) >= 2
    if family != "jbd":  # ff00 is missing: one failed connection, then DALY's fff0 without any JBD request
        assert len(clients) == 2
        assert all(request_kind(w)[0] != "jbd" for w in writes)


async def test_ble_with_a_stored_daly_family_connects_to_fff0_first() -> None:
    sim = HiximiSimulator("daly-a5")
    link, clients = _ble_link(sim)
    async with link:
        await PLUGIN.open_session(link, SessionOptions(family="daly-a5")).read()
    assert len(clients) == 1
    assert clients[0].connects == 1


async def test_ble_device_unreachable_is_a_transport_error() -> None:
    def refuse() -> FakeBleClient:
        raise TransportError("no such device")

    link = BleLink("C8:47:8C:00:00:02", PLUGIN.ble_profile, client_factory=refuse, timeout=0.2)
    async with link:
        with pytest.raises(TransportError, match="tried every HiXiMi BLE service"):
            await PLUGIN.open_session(link).read()


# --- simulator and plugin ---------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_simulator_identity(family: str) -> None:
    sim = HiximiSimulator(family, seed=3)
    assert "HiXiMi" in sim.advertisement_name
    assert sim.advertisement_name.startswith("HiXiMi-4S-")
    adv = sim.advertisement()
    assert adv.local_name == sim.advertisement_name
    assert adv.service_uuids == (sim.ble_profile.service_uuid,)
    assert sim.family == family
    assert sim.vendor == "hiximi"


def test_plugin_declarations() -> None:
    from vendor_plugins.registry import load_registry

    registry = load_registry(include_third_party=False)
    assert registry.get("hiximi") is PLUGIN
    assert PLUGIN.title == "HiXiMi"
    assert PLUGIN.ble_matchers == ()
    assert PLUGIN.families == ("jbd", "daly-d2", "daly-a5")
    for family in ("jbd", "daly-d2", "daly-a5"):  # every advertisement the simulators send is claimed by nobody
        assert registry.match_advertisement(HiximiSimulator(family).advertisement()) == []
    assert PLUGIN.fuzz_targets() == ()  # no codec of its own: the JBD and DALY plugins fuzz theirs
    assert PLUGIN.probe_last is True
    assert [o.flag for o in PLUGIN.options] == ["--host-address"]
