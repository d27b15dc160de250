"""JBD settings end to end: a session over TCP and over a pseudo-terminal to the simulator.

Reads in factory mode, verified writes (enter → writes → exit-and-save → read back), the refusal paths with "no byte
sent" asserted on the simulator's request log, a device that ignores a value, a device that refuses one, the
thresholds acting on the simulated pack, SoC set, balancer switch, and a link dropped between writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.vendor_plugins.sim_links import TRANSPORTS, served
from vendor_plugins.errors import (
    ControlNotConfirmed,
    ControlRefused,
    DeviceError,
    SettingsPartiallyWritten,
    SettingsRefused,
)
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table_settings as ts
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.session import JbdSession
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import Alarm
from vendor_plugins.plugin import SessionOptions
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import TcpLink

pytestmark = pytest.mark.timeout(60)

ENTER = bytes.fromhex("dd5a00025678ff3077")
EXIT_NO_SAVE = bytes.fromhex("dd5a01020000fffd77")
EXIT_SAVE = bytes.fromhex("dd5a01022828ffad77")


def writes(sim: JbdSimulator) -> list[bytes]:
    """Every write-mode frame the simulator received (factory enter/exit included)."""
    return [r for r in sim.requests if r[1] == 0x5A]


def setting_writes(sim: JbdSimulator) -> list[bytes]:
    """Write frames that change something: settings registers, remaining capacity, or exit-and-save."""
    return [r for r in writes(sim) if r not in (ENTER, EXIT_NO_SAVE)]


@pytest.fixture(params=TRANSPORTS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[tuple[JbdSession, JbdSimulator]]:
    sim = JbdSimulator()
    async with served(sim, request.param, request_timeout=0.5) as link:
        yield PLUGIN.open_session(link, SessionOptions(control_enabled=True)), sim


async def test_read_settings_matches_the_simulator(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    settings = await session.read_settings()
    assert settings.vendor == "jbd" and settings.family == "jbd" and settings.cell_count == 4
    assert settings.to_dict() == dict(sorted(sim.settings.values().items()))
    assert settings.values["design_capacity"] == 100.0
    assert sim.requests[0] == ENTER and sim.requests[-1] == EXIT_NO_SAVE
    assert setting_writes(sim) == []


async def test_write_round_trip(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    after = await session.write_settings(
        None,
        {"charge_overcurrent_protect": 100, "cell_overvoltage_delay": 5, "cell_undervoltage_delay": 7},
    )
    assert after.values["charge_overcurrent_protect"] == 100.0
    assert after.values["cell_overvoltage_delay"] == 5.0 and after.values["cell_undervoltage_delay"] == 7.0
    assert sim.settings.words[0x28] == 10000 and sim.settings.words[0x3D] == 0x0705
    changed = setting_writes(sim)
    assert changed == [
        codec.build_write(0x28, (10000).to_bytes(2, "big")),
        codec.build_write(0x3D, b"\x07\x05"),
        EXIT_SAVE,
    ]
    # the write sequence is enter → writes → exit-and-save
    index = sim.requests.index(changed[0])
    assert sim.requests[index - 1] == ENTER


async def test_refused_without_control_no_byte_sent() -> None:
    sim = JbdSimulator()
    async with served(sim, "tcp") as link:
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=False))
        with pytest.raises(ControlRefused):
            await session.write_settings(None, {"charge_overcurrent_protect": 100})
        with pytest.raises(ControlRefused):
            await session.set_soc(None, 50)
        with pytest.raises(ControlRefused):
            await session.set_balancer(None, False)
    assert list(sim.requests) == []


async def test_out_of_range_value_refused_before_any_byte(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    with pytest.raises(SettingsRefused, match="outside the device's range"):
        await session.write_settings(None, {"cell_overvoltage_protect": 5.0})
    with pytest.raises(SettingsRefused, match="read-only"):
        await session.write_settings(None, {"cell_count": 8})
    assert list(sim.requests) == []


async def test_rule_violation_refused_before_any_write(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    with pytest.raises(SettingsRefused, match="release must be below its protection"):
        await session.write_settings(None, {"cell_overvoltage_release": 3.7})
    assert setting_writes(sim) == []


async def test_ignored_value_named(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    sim.settings.ignore_registers.add(0x24)
    with pytest.raises(ControlNotConfirmed) as err:
        await session.write_settings(None, {"cell_overvoltage_protect": 3.6, "charge_overcurrent_protect": 100})
    assert err.value.names == ("cell_overvoltage_protect",)
    assert sim.settings.words[0x28] == 10000


async def test_device_refusal_saves_nothing(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    sim.settings.refuse_registers.add(0x2A)
    before = dict(sim.settings.words)
    with pytest.raises(ControlRefused, match="refused register 0x2A"):
        await session.write_settings(None, {"balance_delta_voltage": 0.05, "balance_start_voltage": 3.3})
    assert sim.settings.words == before
    assert EXIT_SAVE not in sim.requests and sim.requests[-1] == EXIT_NO_SAVE


async def test_lowering_cell_overvoltage_below_the_cells_trips_it(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    assert max(sim.state.cell_voltages) == 3.305
    before = await session.read()
    assert before.charge_mosfet is True and Alarm.CELL_OVERVOLTAGE not in before.alarms
    await session.write_settings(
        None,
        {"cell_overvoltage_protect": 3.30, "cell_overvoltage_release": 3.25, "balance_start_voltage": 3.2},
    )
    after = await session.read()
    assert Alarm.CELL_OVERVOLTAGE in after.alarms
    assert after.charge_mosfet is False and after.discharge_mosfet is True
    await session.write_settings(None, {"cell_overvoltage_protect": 3.65, "cell_overvoltage_release": 3.55})
    restored = await session.read()
    assert Alarm.CELL_OVERVOLTAGE not in restored.alarms and restored.charge_mosfet is True


async def test_set_soc(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    snapshot = await session.set_soc(None, 40)
    assert snapshot.soc == 40
    assert sim.state.remaining_capacity == 40.0
    assert codec.build_write(ts.REG_REMAINING_CAPACITY, (4000).to_bytes(2, "big")) in sim.requests
    with pytest.raises(SettingsRefused):
        await session.set_soc(None, 120)


async def test_balancer_off_sends_the_real_app_frame(rig: tuple[JbdSession, JbdSimulator]) -> None:
    session, sim = rig
    await session.set_balancer(None, False)
    # the phone app's own frame (esphome-jbd-bms btsnoop_hci-balancer-onoff.log): 0x2D = 0x0002
    assert bytes.fromhex("dd5a2d020002ffcf77") in sim.requests
    assert (await session.read_settings()).values["balancer_enabled"] is False
    await session.set_balancer(None, True)
    assert bytes.fromhex("dd5a2d020006ffcb77") in sim.requests


class DroppingSimulator(JbdSimulator):
    """Closes the connection instead of answering the ``after``-th settings write (then behaves again)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after
        self.drop: Callable[[], None] | None = None

    def handle(self, request: bytes) -> bytes | None:
        if request[1] == 0x5A and request[2] in ts.REGISTERS:
            self.after -= 1
            if self.after == 0:
                self.requests.append(bytes(request))
                self.settings.dropped()
                assert self.drop is not None
                self.drop()
                return None
        return super().handle(request)


async def test_link_drop_between_writes_leaves_the_previous_state() -> None:
    """The server drops the client at the second register write: the read-back (reconnected) finds nothing saved."""
    sim = DroppingSimulator(after=2)
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.5) as link:
        sim.drop = server.drop_clients
        session = PLUGIN.open_session(link, SessionOptions(control_enabled=True))
        before = dict(sim.settings.words)
        with pytest.raises(SettingsPartiallyWritten) as err:
            await session.write_settings(None, {"charge_overcurrent_protect": 100, "cell_overvoltage_delay": 5})
    assert sim.settings.words == before
    assert err.value.changed == ()
    assert err.value.unchanged == ("charge_overcurrent_protect", "cell_overvoltage_delay")
    assert "read back: nothing changed" in str(err.value)
    assert EXIT_SAVE not in sim.requests


async def test_a_board_refusing_settings_reads_says_why_and_leaves_factory_mode() -> None:
    class Locked(JbdSimulator):
        def handle(self, request: bytes) -> bytes | None:
            if request[1] == 0xA5 and request[2] in ts.REGISTERS:
                self.requests.append(bytes(request))
                return codec.build_response(request[2], b"", 0x80)
            return super().handle(request)

    sim = Locked()
    async with served(sim, "tcp") as link:
        with pytest.raises(DeviceError, match="password"):
            await PLUGIN.open_session(link).read_settings()
    assert sim.requests[-1] == EXIT_NO_SAVE
