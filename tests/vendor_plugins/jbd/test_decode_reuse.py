"""The JBD read path's shortcuts: the compiled decoder equals the field tables, and unchanged registers are reused.

``decode_basic`` reads the fixed part with one precompiled ``struct`` layout; here it is checked against a
reference decoder written straight from the field tables (``fields.unpack`` + ``Field.to_value``), on arbitrary
payloads. The session decodes a register again only when its payload changed; reads over a real loopback socket
show that the values are still those of the pack whichever register changed, and that a reused part is the same
object (what lets the Home Assistant coordinator skip comparing it).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vendor_plugins.errors import DeviceTimeout, FrameError
from vendor_plugins.fields import unpack
from vendor_plugins.jbd import codec
from vendor_plugins.jbd import table as t
from vendor_plugins.jbd.plugin import PLUGIN
from vendor_plugins.jbd.simulator import JbdSimulator, JbdState
from vendor_plugins.sim.tcp import serve_tcp
from vendor_plugins.transports import TcpLink


def _reference_basic(payload: bytes) -> codec.BasicInfo:
    """Register 0x03 decoded field by field from the tables (what ``decode_basic`` must equal)."""
    raw = unpack(t.BASIC_FIELDS, payload)
    ntc_end = t.BASIC_FIXED_SIZE + 2 * raw["ntc_count"]
    if len(payload) < ntc_end:
        raise FrameError("short NTC block")
    if raw["soc"] > 100:
        raise FrameError("soc out of range")
    extension = bytes(payload[ntc_end:])
    coarse = bool(extension) and bool(extension[0] & t.UNIT_FLAG_BIT)
    fields = {f.name: f for f in t.BASIC_FIELDS}

    def value(name: str) -> float:
        return fields[name].to_value(raw[name], t.COARSE_SCALE if coarse and name in t.COARSE_FIELDS else None)

    balancing = {n + 1 for n in range(16) if raw["balance_low"] >> n & 1}
    balancing |= {n + 17 for n in range(16) if raw["balance_high"] >> n & 1}
    return codec.BasicInfo(
        voltage=value("voltage"),
        current=value("current"),
        remaining_capacity=value("remaining_capacity"),
        design_capacity=value("design_capacity"),
        cycles=raw["cycles"],
        production_date=raw["production_date"],
        balancing=frozenset(balancing),
        protection=raw["protection"],
        software_version=raw["software_version"],
        soc=raw["soc"],
        fet=raw["fet"],
        cell_count=raw["cell_count"],
        temperatures=tuple(
            round((int.from_bytes(payload[o : o + 2], "big") - t.NTC_OFFSET_DECIKELVIN) / 10, 1)
            for o in range(t.BASIC_FIXED_SIZE, ntc_end, 2)
        ),
        coarse_units=coarse,
        extension=extension,
    )


@st.composite
def _basic_payloads(draw: st.DrawFn) -> bytes:
    fixed = bytearray(draw(st.binary(min_size=t.BASIC_FIXED_SIZE, max_size=t.BASIC_FIXED_SIZE)))
    if draw(st.booleans()):
        fixed[19] %= 101  # mostly a valid state of charge, sometimes not
    ntc = draw(st.integers(0, 8))
    fixed[22] = ntc if draw(st.integers(0, 9)) else draw(st.integers(0, 255))  # sometimes more NTCs than bytes
    ntcs = draw(st.binary(min_size=2 * ntc, max_size=2 * ntc))
    extension = draw(st.one_of(st.just(b""), st.binary(min_size=1, max_size=4)))
    cut = draw(st.integers(0, 3))
    return (bytes(fixed) + ntcs + extension)[: None if cut else draw(st.integers(0, t.BASIC_FIXED_SIZE + 2 * ntc))]


@given(_basic_payloads())
def test_compiled_basic_decoder_equals_the_field_tables(payload: bytes) -> None:
    """Same values (to the last bit of every float) and the same refusals as the table-driven decoder."""
    try:
        expected = _reference_basic(payload)
    except FrameError:
        with pytest.raises(FrameError):
            codec.decode_basic(payload)
        return
    decoded = codec.decode_basic(payload)
    assert decoded == expected
    for name in ("voltage", "current", "remaining_capacity", "design_capacity"):
        assert getattr(decoded, name).hex() == getattr(expected, name).hex()


@given(st.lists(st.integers(0, 0xFFFF), max_size=32))
def test_compiled_cell_decoder_equals_the_field_table(millivolts: list[int]) -> None:
    """Cell voltages are ``CELL_MV.to_value`` of each word, exactly."""
    payload = b"".join(mv.to_bytes(2, "big") for mv in millivolts)
    assert codec.decode_cells(payload) == tuple(t.CELL_MV.to_value(mv) for mv in millivolts)


def _pack() -> JbdState:
    return JbdState(
        cell_voltages=[3.301, 3.302, 3.303, 3.304],
        current=-12.34,
        remaining_capacity=150.5,
        design_capacity=200.0,
        cycles=321,
        temperatures=[18.5, 19.0],
    )


async def test_only_the_register_that_changed_is_decoded_again() -> None:
    """Over a real socket: each snapshot shows the pack; parts from an unchanged register are the same objects."""
    sim = JbdSimulator(_pack())
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=1.0) as link:
        session = PLUGIN.open_session(link)
        first = await session.read()
        assert await session.read() is first  # both registers unchanged: the very same snapshot

        sim.state.current = -10.0  # register 0x03 only
        second = await session.read()
        assert second.current == -10.0
        assert second.power == round(second.voltage * -10.0, 3)  # type: ignore[operator]
        assert second.cell_voltages == (3.301, 3.302, 3.303, 3.304)
        assert second.cell_voltages is first.cell_voltages  # 0x04 was not decoded again
        assert second.temperatures is first.temperatures  # same NTC values: the same readings

        sim.state.cell_voltages[2] = 3.333  # register 0x04 (and the pack voltage in 0x03, which follows the cells)
        third = await session.read()
        assert third.cell_voltages == (3.301, 3.302, 3.333, 3.304)
        assert third.current == -10.0
        assert third.voltage == round(sum(sim.state.cell_voltages), 2)

        sim.state.temperatures[1] = 25.5
        fourth = await session.read()
        assert [r.celsius for r in fourth.temperatures] == [18.5, 25.5]
        assert fourth.cell_voltages is third.cell_voltages
        assert fourth == codec.to_snapshot(
            codec.decode_basic(codec.encode_basic(sim.state.basic_info())), third.cell_voltages
        )


async def test_a_failed_read_leaves_the_last_good_decode_intact() -> None:
    """A read that fails (no answer) raises; the next one decodes what the pack says then, not a mix."""
    sim = JbdSimulator(_pack())
    async with await serve_tcp(sim) as server, TcpLink(server.host, server.port, timeout=0.3) as link:
        session = PLUGIN.open_session(link)
        first = await session.read()
        answer = sim.handle
        sim.handle = lambda request: None  # type: ignore[method-assign]  # the pack goes silent
        with pytest.raises(DeviceTimeout):
            await session.read()
        sim.handle = answer  # type: ignore[method-assign]
        sim.state.current = 7.5
        sim.state.cell_voltages[0] = 3.2
        after = await session.read()
    assert after.current == 7.5
    assert after.cell_voltages == (3.2, 3.302, 3.303, 3.304)
    assert after.temperatures is first.temperatures
