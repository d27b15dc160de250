"""DALY sessions over real links to the simulators: reads, detection, device info, and opt-in verified control.

Links: BLE through :class:`FakeBleClient` (20-byte notifications), TCP (an RS485-to-Ethernet bridge) and a pty
(a serial port, paced at 9600 baud). Every family is read with its family given and detected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from tests.vectors import load_vectors
from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import codec_d2 as d2
from vendor_plugins.daly import table as t
from vendor_plugins.daly.plugin import PLUGIN
from vendor_plugins.daly.session import DalySession, detection_order
from vendor_plugins.daly.simulator import A5Simulator, ModbusSimulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import ConfigError, ControlNotConfirmed, ControlRefused, DeviceTimeout, UnsupportedError
from vendor_plugins.framing import Expect, Frame
from vendor_plugins.model import Alarm, BmsSnapshot, Switch, TemperatureKind
from vendor_plugins.plugin import Advertisement, LinkKind, SessionOptions
from vendor_plugins.registry import load_registry
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.ble import FakeBleClient
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import BleLink, SerialLink, TcpLink
from vendor_plugins.transports.base import ByteLink, Link

TIMEOUT = 0.4


def _state() -> DalyState:
    return DalyState(
        cell_voltages=[3.401, 3.399, 3.402, 3.398, 3.400, 3.405, 3.397, 3.401],
        temperatures=[18.0, 19.0, 21.0],
        current=-12.3,
        remaining_capacity=150.5,
        rated_capacity=200.0,
        cycles=321,
        balancing={6},
        faults={"cell_undervoltage_l1", "discharge_overcurrent_l2", "eeprom_fault"},
        mosfet_temperature=31.0,
    )


def make_sim(family: str, state: DalyState | None = None, **kwargs: bool) -> A5Simulator | ModbusSimulator:
    """A simulator of ``family`` in ``state`` (default: :func:`_state`)."""
    if family == "a5":
        return A5Simulator(state or _state(), **kwargs)
    return ModbusSimulator(state or _state(), family=family)


class RecordingLink(ByteLink):
    """Wraps a link and records every request sent through it."""

    def __init__(self, inner: Link) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.sent: list[bytes] = []

    @property
    def description(self) -> str:
        return self.inner.description

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        self.sent.append(request)
        return await self.inner.exchange(request, expect)

    async def close(self) -> None:
        await self.inner.close()


LinkFactory = Callable[[Simulator], Awaitable[tuple[Link, Callable[[], Awaitable[None]]]]]


async def _ble(sim: Simulator) -> tuple[Link, Callable[[], Awaitable[None]]]:
    link = BleLink(
        "C0:DA:17:00:00:01", t.BLE_PROFILE, client_factory=lambda: FakeBleClient(sim, t.BLE_PROFILE), timeout=TIMEOUT
    )
    return link, link.close


async def _tcp(sim: Simulator) -> tuple[Link, Callable[[], Awaitable[None]]]:
    server = await serve_tcp(sim)
    link = TcpLink(server.host, server.port, timeout=TIMEOUT)

    async def close() -> None:
        await link.close()
        await server.close()

    return link, close


async def _pty(sim: Simulator) -> tuple[Link, Callable[[], Awaitable[None]]]:
    server = await serve_pty(sim, baud=9600)
    link = SerialLink(server.path, baudrate=9600, timeout=1.0)

    async def close() -> None:
        await link.close()
        await server.close()

    return link, close


LINKS: dict[str, LinkFactory] = {"ble": _ble, "tcp": _tcp, "pty": _pty}


@asynccontextmanager
async def connected(sim: Simulator, kind: str = "tcp") -> AsyncIterator[RecordingLink]:
    """A recording link of ``kind`` to ``sim``."""
    link, close = await LINKS[kind](sim)
    try:
        yield RecordingLink(link)
    finally:
        await close()


def assert_matches_state(snap: BmsSnapshot, state: DalyState, family: str) -> None:
    """Every value of the simulated pack, in model units and sign."""
    assert snap.cell_voltages == tuple(state.cell_voltages)
    assert snap.voltage == round(sum(state.cell_voltages), 1)
    assert snap.current == state.current == -12.3  # discharging, whatever the family's wire sign
    assert snap.power is not None and snap.power < 0
    assert snap.soc == 75.2  # 150.5 / 200
    assert snap.remaining_capacity == 150.5
    assert snap.cycles == 321
    assert [x.celsius for x in snap.temperatures if x.kind is TemperatureKind.CELL] == [18.0, 19.0, 21.0]
    assert snap.charge_mosfet is True and snap.discharge_mosfet is True
    assert snap.balancing == frozenset({6})
    if family == "p81":
        assert snap.alarms == snap.warnings == frozenset()  # P81 alarm registers are not decoded
    else:
        assert snap.warnings == {Alarm.CELL_UNDERVOLTAGE}
        assert snap.alarms == {Alarm.DISCHARGE_OVERCURRENT}
        assert snap.raw["eeprom_fault"] == 1
    if family != "a5":
        assert [x.celsius for x in snap.temperatures if x.kind is TemperatureKind.MOSFET] == [31.0]


# --- reads ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ble", "tcp", "pty"])
@pytest.mark.parametrize("family", ["a5", "d2", "p81"])
async def test_read_with_the_family_given(kind: str, family: str) -> None:
    """Each family over each link: the snapshot is the simulated state."""
    sim = make_sim(family)
    async with connected(sim, kind) as link:
        session = PLUGIN.open_session(link, SessionOptions(family=family))
        assert session.family == family
        assert_matches_state(await session.read(), sim.state, family)


@pytest.mark.parametrize("family", ["a5", "d2", "p81"])
async def test_detection_reports_the_family(family: str) -> None:
    """No family given: read-only probes in the documented order; the answer that validates wins and is reported."""
    sim = make_sim(family)
    async with connected(sim, "tcp") as link:
        session = PLUGIN.open_session(link)
        assert session.family is None
        snap = await session.read()
        assert session.family == family
        assert_matches_state(snap, sim.state, family)
        probes = {
            "d2": [d2.build_read(0xD2, 0, 62)],
            "a5": [d2.build_read(0xD2, 0, 62), a5.build_request(t.CMD_PACK, 0x80)],
            "p81": [
                d2.build_read(0xD2, 0, 62),
                a5.build_request(t.CMD_PACK, 0x80),
                a5.build_request(t.CMD_PACK, 0x40),
                d2.build_read(0x81, 0, 64),
            ],
        }[family]
        assert link.sent[: len(probes)] == probes  # reads only: nothing written while probing
    if family == "a5":
        assert session.host_address == 0x80 and snap.raw["host_address"] == "0x80"


class _Rs485OnlySimulator(A5Simulator):
    """A unit that answers host 0x40 only (RS485 port)."""

    def handle(self, request: bytes) -> bytes | None:
        return super().handle(request) if request[1] == t.HOST_RS485 else None


async def test_detection_finds_the_rs485_host_address() -> None:
    """An A5 unit that ignores host 0x80 is found at 0x40 (and an explicit host address skips the others)."""
    async with connected(_Rs485OnlySimulator(_state()), "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(family="a5"))
        await session.read()
        assert session.host_address == 0x40
        fixed = PLUGIN.open_session(link, SessionOptions(extra={"host_address": "0x40"}))
        link.sent.clear()
        await fixed.read()
        assert fixed.family == "a5" and fixed.host_address == 0x40
        assert a5.build_request(t.CMD_PACK, 0x80) not in link.sent


async def test_nothing_answers() -> None:
    """No DALY on the line: one clear error naming everything tried."""
    sim = A5Simulator()
    async with connected(sim, "tcp") as link:
        link.inner.timeout = 0.1  # type: ignore[attr-defined]
        session = PLUGIN.open_session(link, SessionOptions(extra={"host_address": 0x20}))
        sim.handle = lambda request: None  # type: ignore[method-assign]
        with pytest.raises(DeviceTimeout, match=r"tried D2, A5 at host 0x20, P81"):
            await session.read()
        assert session.family is None


def test_detection_order_and_options() -> None:
    """D2, A5 at 0x80 and 0x40, P81; bad options are configuration errors."""
    link = TcpLink("127.0.0.1", 1)
    assert [r.label for r in detection_order(link, None)] == ["D2", "A5 at host 0x80", "A5 at host 0x40", "P81"]
    for options in (SessionOptions(family="d3"), SessionOptions(extra={"host_address": "x"})):
        with pytest.raises(ConfigError):
            PLUGIN.open_session(link, options)
    with pytest.raises(ConfigError):
        PLUGIN.open_session(link, SessionOptions(extra={"host_address": 0x01}))
    assert PLUGIN.open_session(link, SessionOptions(family="AUTO")).family is None


def test_a_register_link_is_refused_when_the_session_is_made() -> None:
    """Every family exchanges frames: a Modbus register link is refused at once, given family or detected."""
    from vendor_plugins.transports.modbus import ModbusLink

    for options in (SessionOptions(), SessionOptions(family="d2"), SessionOptions(family="a5")):
        with pytest.raises(UnsupportedError, match="exchanges frames"):
            PLUGIN.open_session(ModbusLink.tcp("127.0.0.1", 1), options)


async def test_device_info_per_family() -> None:
    """Versions (D2, P81) and cell counts; the family actually spoken is part of it."""
    for family in ("a5", "d2", "p81"):
        sim = make_sim(family)
        async with connected(sim, "tcp") as link:
            info = await PLUGIN.open_session(link).device_info()
        assert (info.vendor, info.family, info.cell_count) == ("DALY", family, 8)
        if family != "a5":
            assert info.software_version == sim.state.software_version
            assert info.hardware_version == sim.state.hardware_version
    async with connected(ModbusSimulator(_state()), "tcp") as link:
        result = await PLUGIN.probe(link)
    assert result is not None and result.family == "d2" and result.plugin == "daly"


async def test_requests_sent_are_the_captured_ones() -> None:
    """A read and device info in every family send only requests captured from real units, byte for byte."""
    captured = {e["request_hex"] for f in ("daly_uart_legacy", "daly_ble_modbus") for e in load_vectors(f)}
    for family, extra in (("a5", {"host_address": 0x40}), ("d2", {}), ("p81", {})):
        async with connected(make_sim(family), "tcp") as link:
            session = PLUGIN.open_session(link, SessionOptions(family=family, extra=extra))
            await session.read()
            await session.device_info()
        assert {r.hex() for r in link.sent} <= captured, family


# --- multi-frame answers ----------------------------------------------------------------------------------
class _DroppingSimulator(A5Simulator):
    """Never sends 0x95 frame 3 (a lost frame on a noisy line)."""

    def handle(self, request: bytes) -> bytes | None:
        answer = super().handle(request) or b""
        frames = a5.A5Assembler().feed(answer)
        return b"".join(f.raw for f in frames if not (f.command == t.CMD_CELLS and f.payload[0] == 3)) or None


async def test_a_missing_cell_frame_fails_the_read_naming_it() -> None:
    """No half-decoded snapshot: the read fails and says which frame never came."""
    async with connected(_DroppingSimulator(_state()), "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(family="a5"))
        with pytest.raises(DeviceTimeout, match=r"0x95 \(cell voltages\): frame\(s\) 3 of 3 never arrived"):
            await session.read()


class _LateFramesSimulator(A5Simulator):
    """Sends all 16 cell frames, but the surplus only *after* the next request (as a slow line delivers them)."""

    def __init__(self, state: DalyState) -> None:
        super().__init__(state, extra_frames=True)
        self._late = b""

    def handle(self, request: bytes) -> bytes | None:
        answer = super().handle(request) or b""
        late, self._late = self._late, b""
        if request[2] == t.CMD_CELLS:
            frames = a5.A5Assembler().feed(answer)
            answer = b"".join(f.raw for f in frames[:3])
            self._late = b"".join(f.raw for f in frames[3:])
        return (late + answer) or None


@pytest.mark.parametrize("kind", ["ble", "tcp", "pty"])
async def test_surplus_frames_never_answer_the_next_request(kind: str) -> None:
    """Units that send all 16 frames (some even late): the reads stay right, again and again."""
    for sim in (A5Simulator(_state(), extra_frames=True), _LateFramesSimulator(_state())):
        async with connected(sim, kind) as link:
            session = PLUGIN.open_session(link, SessionOptions(family="a5"))
            for _ in range(2):
                assert_matches_state(await session.read(), sim.state, "a5")


# --- D2 status size ---------------------------------------------------------------------------------------
class _Only62Simulator(ModbusSimulator):
    """A unit that refuses (or ignores) the 80-register read."""

    def __init__(self, state: DalyState, *, silent: bool) -> None:
        super().__init__(state)
        self.silent = silent

    def handle(self, request: bytes) -> bytes | None:
        if request[:6] == d2.build_read(0xD2, 0, 80)[:6]:
            return None if self.silent else d2.build_exception(0xD2, 3, 2)
        return super().handle(request)


@pytest.mark.parametrize("silent", [False, True])
async def test_d2_falls_back_to_62_registers_for_good(silent: bool) -> None:
    """An exception (or silence) to the 80-register read: 62 registers from then on; no MOS temperature then."""
    sim = _Only62Simulator(_state(), silent=silent)
    async with connected(sim, "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(family="d2"))
        first = await session.read()
        link.sent.clear()
        second = await session.read()
    assert link.sent == [d2.build_read(0xD2, 0, 62)]
    for snap in (first, second):
        assert snap.balancing is None  # a 62-register read carries no per-cell balancing
        assert snap.raw["registers"] == 62
        assert not [x for x in snap.temperatures if x.kind is TemperatureKind.MOSFET]
        assert snap.current == -12.3


# --- control --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("family", "kind"), [("a5", "ble"), ("a5", "pty"), ("d2", "ble"), ("d2", "tcp")])
async def test_switch_round_trip_with_read_back(family: str, kind: str) -> None:
    """Discharge off then on, charge off: each confirmed by reading the state back."""
    sim = make_sim(family)
    async with connected(sim, kind) as link:
        session = PLUGIN.open_session(link, SessionOptions(family=family, control_enabled=True))
        snap = await session.set_switch(None, Switch.DISCHARGE, False)
        assert snap.discharge_mosfet is False and snap.charge_mosfet is True
        assert sim.state.discharge_mosfet is False
        if family == "a5":
            assert a5.build_switch(Switch.DISCHARGE, False, 0x80) in link.sent
            assert link.sent[link.sent.index(a5.build_switch(Switch.DISCHARGE, False, 0x80)) + 1][2] == 0x93
        else:
            assert d2.build_write(0xD2, t.D2_REG_DISCHARGE_SWITCH, 0) in link.sent
        assert (await session.set_switch(None, Switch.DISCHARGE, True)).discharge_mosfet is True
        assert (await session.set_switch(None, Switch.CHARGE, False)).charge_mosfet is False
        assert (await session.read()).charge_mosfet is False


@pytest.mark.parametrize("family", ["a5", "d2", "p81"])
async def test_control_refused_without_opt_in_sends_nothing(family: str) -> None:
    """Without control enabled no request at all reaches the device."""
    sim = make_sim(family)
    async with connected(sim, "ble") as link:
        with pytest.raises(ControlRefused):
            await PLUGIN.open_session(link, SessionOptions(family=family)).set_switch(None, Switch.DISCHARGE, False)
    assert link.sent == [] and sim.requests == []
    assert sim.state.discharge_mosfet is True


async def test_p81_control_is_refused_before_anything_is_written() -> None:
    """P81 has no documented switch registers: refused even with control enabled, and nothing is written."""
    sim = make_sim("p81")
    async with connected(sim, "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(family="p81", control_enabled=True))
        with pytest.raises(ControlRefused, match="no documented MOSFET switch registers"):
            await session.set_switch(None, Switch.CHARGE, False)
    assert not [r for r in link.sent if r[1] != t.FC_READ]


class _StubbornA5(A5Simulator):
    """Acknowledges switch commands but never changes state (a protection holding the MOSFET)."""

    def handle(self, request: bytes) -> bytes | None:
        if request[2] in (t.CMD_CHARGE_SWITCH, t.CMD_DISCHARGE_SWITCH):
            return a5.build_response(request[2], request[4:12])
        return super().handle(request)


class _StubbornD2(ModbusSimulator):
    """Echoes switch writes but never changes state."""

    def handle(self, request: bytes) -> bytes | None:
        return request if request[1] == t.FC_WRITE else super().handle(request)


class _RefusingD2(ModbusSimulator):
    """Answers switch writes with an exception (e.g. a password-protected unit)."""

    def handle(self, request: bytes) -> bytes | None:
        return d2.build_exception(0xD2, 6, 3) if request[1] == t.FC_WRITE else super().handle(request)


@pytest.mark.parametrize(
    ("sim", "family", "error"),
    [
        (_StubbornA5(_state()), "a5", ControlNotConfirmed),
        (_StubbornD2(_state()), "d2", ControlNotConfirmed),
        (_RefusingD2(_state()), "d2", ControlRefused),
    ],
)
async def test_unconfirmed_or_refused_writes_are_errors(sim: Simulator, family: str, error: type[Exception]) -> None:
    """An acknowledged write the read-back does not show is never assumed to have worked."""
    async with connected(sim, "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(family=family, control_enabled=True))
        with pytest.raises(error, match=r"discharge MOSFET still on|refused"):
            await session.set_switch(None, Switch.DISCHARGE, False)


# --- plugin surface ----------------------------------------------------------------------------------------
def test_plugin_is_registered_with_its_ble_matchers() -> None:
    """Built in as "daly"; DL-* names with service fff0, and the DALY manufacturer ids with the DALY tag, match it."""
    registry = load_registry(include_third_party=False)
    assert registry.get("daly") is PLUGIN
    assert PLUGIN.families == ("a5", "d2", "p81")
    assert PLUGIN.link_kinds == {LinkKind.BLE, LinkKind.SERIAL, LinkKind.TCP}
    fff0 = (t.BLE_PROFILE.service_uuid,)
    assert registry.match_advertisement(Advertisement("C0:DA:17:00:00:01", "DL-46640102XXXX", fff0)) == [PLUGIN]
    assert not PLUGIN.matches_advertisement(Advertisement("C0:DA:17:00:00:01", "DL-46640102XXXX"))
    # Renamed units: a manufacturer id with the DALY tag after the module id (real adverts: ble_corpus.py).
    tagged = bytes.fromhex("16401712011197") + b"DL"
    for mid in (0x0104, 0x0302, 0x0303, 0x0402):
        assert PLUGIN.matches_advertisement(
            Advertisement("C0:DA:17:00:00:01", "BT270-2", manufacturer_data={mid: tagged})
        )
        # The same id without the tag is another company's product (SIG company ids), not claimed.
        assert not PLUGIN.matches_advertisement(Advertisement("C0:DA:17:00:00:01", "X", manufacturer_data={mid: b""}))
    assert PLUGIN.matches_advertisement(
        Advertisement("C0:DA:17:00:00:01", "DL-40160901534C", manufacturer_data={0x0102: b"\x04"})
    )
    assert not PLUGIN.matches_advertisement(
        Advertisement("C0:DA:17:00:00:01", "M3i", manufacturer_data={0x0102: b"\x04"})
    )
    assert not PLUGIN.matches_advertisement(Advertisement("C0:DA:17:00:00:01", "JBD-1234", fff0))
    assert isinstance(PLUGIN.open_session(TcpLink("127.0.0.1", 1)), DalySession)


def test_plugin_declares_its_fuzz_targets_and_seeds() -> None:
    """The codec entry points the fuzzers run (named without the plugin prefix) and simulator frames to start from."""
    names = [target.name for target in PLUGIN.fuzz_targets()]
    assert names == [
        "a5.parse_frame",
        "a5.assembler",
        "a5.decode_fields",
        "a5.decode_balance",
        "a5.multi_frame",
        "failure_bits",
        "d2.parse_frame",
        "d2.assembler",
        "d2.decode_status",
        "p81.decode_status",
        "d2.decode_version",
    ]
    seeds = PLUGIN.fuzz_seeds()
    assert seeds and all(seeds)
    assert a5.build_request(t.CMD_PACK, t.HOST_RS485) in seeds
    # Every seeded A5 answer (one per command read, 0x95/0x96 several frames) is valid: fuzzing starts from it.
    answers = [s for s in seeds if s[:2] == bytes((t.A5_START, t.A5_BMS_ADDRESS))]
    assert len(answers) >= 9
    for raw in answers:
        assert len(raw) % t.A5_FRAME_LEN == 0
        assert len(a5.A5Assembler().feed(raw)) == len(raw) // t.A5_FRAME_LEN
