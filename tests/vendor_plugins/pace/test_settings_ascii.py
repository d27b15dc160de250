"""PACE ASCII v0x25 battery settings: the PbmsTools "Parameter Setting" frames, read and written.

Source of every frame below: real PbmsTools 2.4 traffic at DIP address 00, recorded in
syssi/esphome-pace-bms@db83caac ``docs/pbmstools-communication.md`` and nkinnan/esphome-pace-bms@2ba4bc65
``components/pace_bms/pace_bms_protocol_v25.h`` (the first three read/write pairs are also in
``vectors/pace_ascii.json``). ``STATED`` are the values those documents give for each reply. The pack OV write
carries 57.61 V, not the 57.6 V read: nkinnan notes "57.6 (write: 57.61)".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vectors import vector
from vendor_plugins.errors import (
    ControlNotConfirmed,
    ControlRefused,
    DeviceTimeout,
    SettingsPartiallyWritten,
    SettingsRefused,
    SettingsUnsupported,
)
from vendor_plugins.framing import Expect, Frame
from vendor_plugins.kinds import LinkKind
from vendor_plugins.model import Alarm
from vendor_plugins.pace import codec_ascii as c
from vendor_plugins.pace import codec_settings as codec
from vendor_plugins.pace import table_settings_ascii as ta
from vendor_plugins.pace.plugin import PLUGIN
from vendor_plugins.pace.simulator_ascii import PaceAsciiSimulator
from vendor_plugins.pace.simulator_settings import PaceSettingsSim
from vendor_plugins.pace.simulator_state import PaceState
from vendor_plugins.plugin import Session, SessionOptions
from vendor_plugins.sim.base import Simulator
from vendor_plugins.sim.pty import serve_pty
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import SerialLink, TcpLink
from vendor_plugins.transports.base import ByteLink, Link

#: read CID2 → (read request, read reply, write request), as captured (CR omitted).
PBMSTOOLS = {
    0xD1: ("~250046D10000FD9A", "~25004600F010010E100E740D340AFA35", "~250046D0F010010E100E740D340AFA21"),
    0xD5: ("~250046D50000FD96", "~25004600F01001E100E740D2F00AFA24", "~250046D4F01001E10AE740D2F00AF9FB"),
    0xD3: ("~250046D30000FD98", "~25004600F010010AF009C40B540AFA24", "~250046D2F010010AF009C40B540AFA0E"),
    0xD7: ("~250046D70000FD94", "~25004600F01001AF009C40B5400AFA24", "~250046D6F01001AF009C40B5400AFA0A"),
    0xD9: ("~250046D90000FD92", "~25004600400C010068006E0AFB1D", "~250046D8400C010068006E0AFB01"),
    0xDB: ("~250046DB0000FD89", "~25004600400C01FF97FF920AFAD3", "~250046DA400C010069006E0AFAF7"),
    0xE3: ("~250046E30000FD97", "~25004600400C009604009604FB32", "~250046E2A006009604FC4E"),
    0xE5: ("~250046E50000FD95", "~25004600E0020CFD25", "~250046E4E0020CFD0C"),
    0xB6: ("~250046B60000FD97", "~2500460080080D48001EFBE9", "~250046B580080D48001EFBD2"),
    0xA0: ("~250046A00000FD9E", "~2500460080080C1C0005FBF3", "~250046A880080C1C0005FBDA"),
    0xAF: ("~250046AF0000FD88", "~25004600600ADAC007D005FB60", "~250046AE600ADAC007D005FB3A"),
    0xDD: (
        "~250046DD0000FD87",
        "~25004600501A010CA80CD00C9E0CDA0D020CD0F7BE",
        "~250046DC501A010CA80CD00C9E0CDA0D020CD0F797",
    ),
    0xDF: (
        "~250046DF0000FD85",
        "~25004600501A010AAA0A780AAA0A1409E20A14F7E5",
        "~250046DE501A010AAA0A780AAA0A1409E20A14F7BC",
    ),
    0xE1: ("~250046E10000FD99", "~25004600200E010E2E0EF60DFCFA5D", "~250046E0200E010E2E0EF60DFCFA48"),
    0xE7: (
        "~250046E70000FD93",
        "~25004600501A0109E209B009E20D340D660D34F806",
        "~250046E6501A0109E209B009E20D340D660D34F7EB",
    ),
}
WRITE_REPLY = "~250046000000FDAF"

#: What the documents state for each reply (their units converted to the vocabulary's: V, A, s, °C, %).
STATED = {
    "cell_overvoltage_alarm": 3.60, "cell_overvoltage_protect": 3.70, "cell_overvoltage_release": 3.38,
    "cell_overvoltage_delay": 1.0,
    "pack_overvoltage_alarm": 57.6, "pack_overvoltage_protect": 59.2, "pack_overvoltage_release": 54.0,
    "pack_overvoltage_delay": 1.0,
    "cell_undervoltage_alarm": 2.8, "cell_undervoltage_protect": 2.5, "cell_undervoltage_release": 2.9,
    "cell_undervoltage_delay": 1.0,
    "pack_undervoltage_alarm": 44.8, "pack_undervoltage_protect": 40.0, "pack_undervoltage_release": 46.4,
    "pack_undervoltage_delay": 1.0,
    "charge_overcurrent_alarm": 104, "charge_overcurrent_protect": 110, "charge_overcurrent_delay": 1.0,
    "discharge_overcurrent_alarm": 105, "discharge_overcurrent_protect": 110, "discharge_overcurrent_delay": 1.0,
    "discharge_overcurrent2_protect": 150, "discharge_overcurrent2_delay": 0.1,
    "short_circuit_delay": 0.0003,
    "balance_start_voltage": 3.4, "balance_delta_voltage": 0.030,
    "sleep_cell_voltage": 3.1, "sleep_delay": 300,
    "charge_full_voltage": 56.0, "charge_full_current": 2.0, "soc_low_alarm": 5,
    "charge_overtemp_alarm": 51, "charge_overtemp_protect": 55, "charge_overtemp_release": 50,
    "discharge_overtemp_alarm": 56, "discharge_overtemp_protect": 60, "discharge_overtemp_release": 55,
    "charge_undertemp_alarm": 0, "charge_undertemp_protect": -5, "charge_undertemp_release": 0,
    "discharge_undertemp_alarm": -15, "discharge_undertemp_protect": -20, "discharge_undertemp_release": -15,
    "mosfet_overtemp_alarm": 90, "mosfet_overtemp_protect": 110, "mosfet_overtemp_release": 85,
    "ambient_undertemp_alarm": -20, "ambient_undertemp_protect": -25, "ambient_undertemp_release": -20,
    "ambient_overtemp_alarm": 65, "ambient_overtemp_protect": 70, "ambient_overtemp_release": 65,
}  # fmt: skip


def _frame(text: str) -> bytes:
    return (text + "\r").encode()


class DirectLink(ByteLink):
    """Hands each request straight to a simulator (fast, for property tests); silence is a timeout."""

    kind = LinkKind.TCP

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def description(self) -> str:
        return "direct://simulator"

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        reply = self.sim.handle(request)
        frames = [f for f in expect.assembler().feed(reply or b"") if expect.accepts(f)]
        if not frames:
            raise DeviceTimeout("direct://simulator: no answer")
        return frames

    async def close(self) -> None:
        return None


def _session(link: Link, *, control: bool = True, family: str = "ascii-25") -> Session:
    return PLUGIN.open_session(link, SessionOptions(family=family, control_enabled=control))


def _writes(sim: PaceAsciiSimulator) -> list[bytes]:
    write_cid2 = {f"{g.write_cid2:02X}".encode() for g in ta.GROUPS}
    return [r for r in sim.requests if r[7:9] in write_cid2]


def _state(cells: float = 3.30) -> PaceState:
    return PaceState(cells=[cells] * 16)


@asynccontextmanager
async def served(sim: Simulator, kind: str) -> AsyncIterator[Link]:
    if kind == "tcp":
        async with await serve_tcp(sim) as server:
            link: Link = TcpLink(server.host, server.port, timeout=0.5)
            async with link:
                yield link
    else:
        async with await serve_pty(sim, baud=9600) as pty:
            link = SerialLink(pty.path, baudrate=9600, timeout=1.0)
            async with link:
                yield link


# --- the real frames ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", ta.GROUPS, ids=lambda g: f"{g.read_cid2:02X}")
def test_pbmstools_frames(group: ta.AsciiGroup) -> None:
    """Our read request is PbmsTools', its reply decodes to the stated values, and the write we build from those
    values is the captured write (checksums verified by parsing)."""
    read_req, read_reply, write_req = PBMSTOOLS[group.read_cid2]
    assert codec.read_request(0, group) == _frame(read_req)
    info = c.parse_frame(_frame(read_reply)).info
    values = codec.decode_group(group, info)
    for name, value in values.items():
        assert value == pytest.approx(STATED[name]), name
    if group.read_cid2 == 0xD5:
        values = {**values, "pack_overvoltage_alarm": 57.61}  # what PbmsTools wrote (nkinnan)
    assert codec.write_request(0, group, codec.encode_group(group, info, values)) == _frame(write_req)
    assert codec.decode_group(group, c.parse_frame(_frame(write_req)).info, write=True).keys() <= values.keys()


def test_every_stated_value_is_a_table_row_and_vice_versa() -> None:
    assert set(STATED) == set(ta.TABLE.names)
    assert len(ta.TABLE.names) == 53 and len(ta.GROUPS) == 15


@pytest.mark.parametrize("group", ta.GROUPS, ids=lambda g: f"{g.read_cid2:02X}")
def test_simulator_at_address_0_answers_the_captured_bytes(group: ta.AsciiGroup) -> None:
    read_req, read_reply, write_req = PBMSTOOLS[group.read_cid2]
    sim = PaceAsciiSimulator(_state(), address=0)
    assert sim.handle(_frame(read_req)) == _frame(read_reply)
    assert sim.handle(_frame(write_req)) == _frame(WRITE_REPLY)
    written = codec.decode_group(group, c.parse_frame(_frame(write_req)).info, write=True)
    again = codec.decode_group(group, c.parse_frame(sim.handle(_frame(read_req)) or b"").info)
    assert again == pytest.approx(written)  # D5: now 57.61 V, as PbmsTools wrote


@pytest.mark.parametrize(
    ("vector_id", "stated"),
    [
        ("nkinnan_v25_read_cell_ov_cfg", {"cell_overvoltage_alarm": 3.6, "cell_overvoltage_protect": 3.7}),
        ("nkinnan_v25_read_pack_ov_cfg", {"pack_overvoltage_alarm": 57.6, "pack_overvoltage_release": 54.0}),
    ],
)
def test_shared_vectors(vector_id: str, stated: dict[str, float]) -> None:
    entry = vector("pace_ascii", vector_id)
    request = bytes.fromhex(entry["request_hex"])
    group, write = codec.group_of_cid2(c.parse_frame(request).cid2) or (None, True)
    assert group is not None and not write
    assert codec.read_request(0, group) == request
    values = codec.decode_group(group, c.parse_frame(bytes.fromhex(entry["response_hex"])).info)
    for name, value in stated.items():
        assert values[name] == pytest.approx(value)


def test_shared_write_vector() -> None:
    entry = vector("pace_ascii", "nkinnan_v25_write_cell_ov_cfg")
    read = vector("pace_ascii", "nkinnan_v25_read_cell_ov_cfg")
    group = ta.GROUP_BY_LABEL["cell over-voltage"]
    info = c.parse_frame(bytes.fromhex(read["response_hex"])).info
    built = codec.write_request(0, group, codec.encode_group(group, info, codec.decode_group(group, info)))
    assert built.hex() == entry["request_hex"]
    assert PaceAsciiSimulator(_state(), address=0).handle(built).hex() == entry["response_hex"]


# --- end to end -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tcp", "pty"])
async def test_read_write_read_back_round_trip(kind: str) -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    async with served(sim, kind) as link:
        session = _session(link)
        before = await session.read_settings(1)
        assert before.to_dict() == pytest.approx(dict(sorted(STATED.items())))
        assert before.family == "ascii-25" and before.cell_count == 16
        changes = {
            "cell_overvoltage_protect": 3.65,
            "cell_overvoltage_release": 3.40,
            "discharge_overcurrent_protect": 120,
        }
        after = await session.write_settings(1, changes)
    for name, value in changes.items():
        assert after.values[name] == pytest.approx(value)
        assert sim.settings.values[name] == pytest.approx(value)
    writes = _writes(sim)
    assert [c.parse_frame(w).cid2 for w in writes] == [0xD0, 0xDA]  # one frame per group, table order
    assert c.parse_frame(writes[1]).info == bytes.fromhex("010069") + (120).to_bytes(2, "big") + bytes((10,))


async def test_refused_without_control_and_unsupported_sends_nothing() -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    session = _session(DirectLink(sim), control=False)
    with pytest.raises(ControlRefused):
        await session.write_settings(1, {"cell_overvoltage_protect": 3.6})
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsUnsupported, match="no documented way to set the SoC"):
        await session.set_soc(1, 50)
    with pytest.raises(SettingsUnsupported, match="balancer"):
        await session.set_balancer(1, False)
    with pytest.raises(SettingsRefused):
        await session.write_settings(1, {"cell_overvoltage_protect": 4.6})
    assert sim.requests == []


async def test_v20_is_refused_before_any_io() -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    session = _session(DirectLink(sim), family="ascii-20")
    with pytest.raises(SettingsUnsupported, match="v0x25 only"):
        await session.read_settings(1)
    with pytest.raises(SettingsUnsupported):
        await session.write_settings(1, {"cell_overvoltage_protect": 3.6})
    assert sim.requests == []


async def test_rule_against_the_packs_values_refused_before_any_write() -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsRefused, match="release must be below its protection"):
        await session.write_settings(1, {"cell_overvoltage_release": 3.75})
    assert _writes(sim) == []


def test_simulator_refuses_out_of_range_writes_with_rtn_09() -> None:
    sim = PaceAsciiSimulator(_state(), address=0)
    group = ta.GROUP_BY_LABEL["cell over-voltage"]
    info = codec.encode_group(
        group, sim.settings.read_info(group), {**sim.settings.values, "cell_overvoltage_protect": 5.0}
    )
    reply = c.parse_frame(sim.handle(codec.write_request(0, group, info)) or b"")
    assert reply.cid2 == 0x09
    assert sim.settings.values["cell_overvoltage_protect"] == 3.7


async def test_a_value_the_pack_ignores_is_named() -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    sim.settings.ignored = {"cell_overvoltage_release"}
    session = _session(DirectLink(sim))
    with pytest.raises(ControlNotConfirmed) as err:
        await session.write_settings(1, {"cell_overvoltage_release": 3.40, "cell_overvoltage_alarm": 3.62})
    assert err.value.names == ("cell_overvoltage_release",)


class RefusesSleep(PaceSettingsSim):
    def write_info(self, group: ta.AsciiGroup, info: bytes, state: PaceState) -> int:
        return 0x09 if group.label == "sleep" else PaceSettingsSim.write_info(self, group, info, state)


async def test_refusal_mid_sequence_says_which_groups_were_written() -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    sim.settings = RefusesSleep()
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(1, {"balance_delta_voltage": 0.05, "sleep_delay": 600})
    assert "refused the sleep parameters (0xA8): RTN 0x09" in str(err.value)
    assert err.value.changed == ("balance_delta_voltage",) and err.value.unchanged == ("sleep_delay",)
    assert sim.settings.values["balance_delta_voltage"] == 0.05 and sim.settings.values["sleep_delay"] == 300
    with pytest.raises(ControlRefused, match="nothing was written before it"):
        await session.write_settings(1, {"sleep_delay": 600})


async def test_lowering_over_voltage_below_the_cells_protects_and_opens_charge() -> None:
    sim = PaceAsciiSimulator(_state(cells=3.45), address=1)
    session = _session(DirectLink(sim))
    assert (await session.read(1)).charge_mosfet is True
    changes = {
        "cell_overvoltage_alarm": 3.38,
        "cell_overvoltage_protect": 3.40,
        "cell_overvoltage_release": 3.35,
        "balance_start_voltage": 3.30,
    }
    await session.write_settings(1, changes)
    snapshot = await session.read(1)
    assert Alarm.CELL_OVERVOLTAGE in snapshot.alarms and snapshot.charge_mosfet is False
    sim.state.cells = [3.36] * 16  # above the release: still protected
    assert (await session.read(1)).charge_mosfet is False
    sim.state.cells = [3.30] * 16
    snapshot = await session.read(1)
    assert Alarm.CELL_OVERVOLTAGE not in snapshot.alarms and snapshot.charge_mosfet is True


# --- hypothesis ---------------------------------------------------------------------------------------------------
def _value(name: str) -> st.SearchStrategy[object]:
    spec = ta.BY_NAME[name]
    steps = round((spec.maximum - spec.minimum) / spec.step)
    inside = st.integers(0, steps).map(lambda n: round(spec.minimum + n * spec.step, 9))
    outside = st.sampled_from([spec.minimum - 10 * spec.step, spec.maximum + 10 * spec.step])
    return st.one_of(inside, inside, inside, outside)


CHANGES = st.lists(st.sampled_from(ta.TABLE.names), min_size=1, max_size=6, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({name: _value(name) for name in keys})
)


@settings(max_examples=50, deadline=None)
@given(changes=CHANGES)
async def test_any_change_set_is_refused_before_a_byte_or_round_trips(changes: dict[str, object]) -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    session = _session(DirectLink(sim))
    current = await session.read_settings(1)
    try:
        expected = ta.TABLE.validate(current, changes)
    except SettingsRefused:
        with pytest.raises(SettingsRefused):
            await session.write_settings(1, changes)
        assert _writes(sim) == []
        return
    after = await session.write_settings(1, changes)
    assert ta.TABLE.changed(expected, after) == ()


class DropsSecondWrite(PaceAsciiSimulator):
    """The line drops the second parameter frame (no answer, not applied); everything else is answered."""

    def __init__(self, state: PaceState) -> None:
        super().__init__(state, address=1)
        self.writes = 0

    def handle(self, request: bytes) -> bytes | None:
        if request[7:9] in {f"{g.write_cid2:02X}".encode() for g in ta.GROUPS}:
            self.writes += 1
            if self.writes == 2:
                return None
        return super().handle(request)


async def test_link_drop_between_frames_reports_exactly_what_changed() -> None:
    sim = DropsSecondWrite(_state())
    session = _session(DirectLink(sim))
    with pytest.raises(SettingsPartiallyWritten) as err:
        await session.write_settings(1, {"cell_overvoltage_delay": 2.0, "charge_overcurrent_delay": 3.0})
    assert err.value.changed == ("cell_overvoltage_delay",)
    assert err.value.unchanged == ("charge_overcurrent_delay",)


async def test_groups_are_written_so_that_no_intermediate_state_breaks_a_rule() -> None:
    sim = PaceAsciiSimulator(_state(), address=1)
    session = _session(DirectLink(sim))
    # discharge OC 1 protect 110 -> 180 A needs level 2 (150 A, group E3) raised first; table order is DB then E3.
    await session.write_settings(1, {"discharge_overcurrent_protect": 180, "discharge_overcurrent2_protect": 200})
    assert [c.parse_frame(w).cid2 for w in _writes(sim)] == [0xE2, 0xDA]
    await session.write_settings(1, {"cell_undervoltage_protect": 2.6, "cell_undervoltage_alarm": 2.9})
    assert [c.parse_frame(w).cid2 for w in _writes(sim)][-1] == 0xD2  # one group: one frame
