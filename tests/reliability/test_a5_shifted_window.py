"""DALY A5: a byte lost or inserted on the wire can shift a 13-byte window that still passes the 8-bit sum.

The soak found one (over a pty): wrong balancing bits shown as new. The sum alone lets one shifted window in 256
through, so the A5 assembler also checks framing (frames of an answer come back to back: what follows a frame must
start another frame, be idle-line bytes or not have arrived yet), the reader refuses an answer whose frame a later
chunk showed to be shifted, and the codec cross-checks the answers (cell range, 0x90 pack voltage = sum of the 0x95
cells). An inserted byte pushes the frame's own sum out of the window; when that sum is 0x00/0xFF (idle-looking) or
0xA5 (a start byte), the framing check alone let the window through, and one such case showed a cell 0.17 V off.
The assembler now also refuses a window that reads as a frame with one byte inserted when the idle byte after it is
taken as the sum, and waits for the byte after a lone A5 that could be that sum.

``benchmarks/a5_shifted_windows.py --states 30`` enumerates every dropped byte and every inserted byte value at
every position of every reply of 30 live simulator states (7,020 drops, 1,850,880 inserts). Wrong frames let through,
one chunk / 13-byte chunks: 0 / 0 drops; inserts 8 / 8 before, **0 / 8** now. The 8 left are single-frame answers
whose sum is 0xA5, the window ending a chunk and the pushed-out A5 arriving alone in the next: the reader has its
answer before the byte that would tell arrives (1 inserted value in 256 at a position of the 1 answer in 256 with
that sum). The property test below states that residue.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.faults import Delivery, FaultInjector, FaultPlan, serve_faulty_pty, serve_faulty_tcp
from vendor_plugins.daly import codec_a5 as a5
from vendor_plugins.daly import table as t
from vendor_plugins.daly.session_a5 import A5Reader
from vendor_plugins.daly.simulator import A5Simulator
from vendor_plugins.daly.simulator_state import DalyState
from vendor_plugins.errors import BmsError, ImplausibleValueError
from vendor_plugins.model import BmsSnapshot
from vendor_plugins.transports.base import ByteLink
from vendor_plugins.transports.serial import SerialLink
from vendor_plugins.transports.tcp import TcpLink

#: 16 cells whose 0x95 answer, with byte 71 (frame 6, low byte of cell 16) lost, holds a sum-valid window: frame 6
#: reads cell 16 as 3.072 V instead of 3.323 V, and the A5 of frame 7 (this unit sends all 16 frames) is its sum.
SHIFT_CELLS = [3.323 + 0.001 * (i % 5) for i in range(15)] + [3.323]
DROPPED = 71


class MutatingInjector(FaultInjector):
    """Delivers every reply cleanly, except that the first reply to ``command`` is changed by ``mutate``."""

    def __init__(self, command: int, mutate: Callable[[bytes], bytes]) -> None:
        super().__init__(FaultPlan(), seed=0)
        self.command = command
        self.mutate: Callable[[bytes], bytes] | None = mutate

    def plan_reply(self, reply: bytes, *, ble: bool = False) -> Delivery:
        if self.mutate is not None and len(reply) > 2 and reply[2] == self.command:
            mutated, self.mutate = self.mutate(reply), None
            self.replies += 1
            return Delivery([(0.0, mutated)])
        return super().plan_reply(reply, ble=ble)


def _drop(i: int) -> Callable[[bytes], bytes]:
    return lambda reply: reply[:i] + reply[i + 1 :]


def _insert(i: int, value: int) -> Callable[[bytes], bytes]:
    return lambda reply: reply[:i] + bytes((value,)) + reply[i:]


@pytest.fixture(params=["tcp", "pty"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _serve(
    transport: str, sim: A5Simulator, injector: FaultInjector
) -> AsyncIterator[tuple[ByteLink, Callable[[], Awaitable[None]]]]:
    if transport == "tcp":
        tcp = await serve_faulty_tcp(sim, injector)
        yield TcpLink(tcp.host, tcp.port, timeout=0.2), tcp.close
    else:
        pty = await serve_faulty_pty(sim, injector)
        yield SerialLink(pty.path, timeout=0.2), pty.close


async def _read_twice(transport: str, sim: A5Simulator, injector: FaultInjector) -> list[BmsSnapshot | BmsError]:
    """Two full reads (the first meets the mutation): each is a snapshot or the error it raised."""
    outcomes: list[BmsSnapshot | BmsError] = []
    async for link, close in _serve(transport, sim, injector):
        reader = A5Reader(link, t.HOST_UART_BLE)
        try:
            for _ in range(2):
                try:
                    outcomes.append(await reader.read())
                except BmsError as err:
                    outcomes.append(err)
        finally:
            await link.close()
            await close()
    return outcomes


def test_the_soak_case_is_a_sum_valid_window() -> None:
    """The regression input really is what the sum cannot catch: a valid-looking frame 6 with a wrong cell 16."""
    reply = A5Simulator(DalyState(cell_voltages=SHIFT_CELLS), extra_frames=True).handle(
        a5.build_request(t.CMD_CELLS, t.HOST_UART_BLE)
    )
    assert reply is not None
    shifted = _drop(DROPPED)(reply)
    window = a5.parse_frame(shifted[65:78])  # the 8-bit sum passes
    assert window.payload[0] == 6
    assert a5.decode_cells([*a5.A5Assembler().feed(reply)[:5], window], 16)[15] == 3072  # not 3323
    frames = a5.A5Assembler().feed(shifted)
    assert window not in frames
    assert [f.payload[0] for f in frames] == [1, 2, 3, 4, 5, *range(7, 17)]  # the window refused, frame 7 kept


async def test_a_dropped_byte_never_shows_a_shifted_cell_frame(transport: str) -> None:
    sim = A5Simulator(DalyState(cell_voltages=SHIFT_CELLS), extra_frames=True)
    first, second = await _read_twice(transport, sim, MutatingInjector(t.CMD_CELLS, _drop(DROPPED)))
    assert isinstance(first, BmsError), first  # frame 6 is missing: the read fails, nothing is shown
    assert isinstance(second, BmsSnapshot), second
    assert second.cell_voltages[15] == 3.323


async def test_an_inserted_byte_never_shows_shifted_balancing_bits(transport: str) -> None:
    """The soak's wrong value: 0x97 with one inserted byte (0xBA after the header) sums right and reads cells
    2, 4, 5, 6, 8, 9 balancing instead of cell 1. The byte left over after the window refuses it."""
    reply = a5.build_response(t.CMD_BALANCE, a5.encode_balance({1}))
    window = a5.parse_frame(_insert(4, 0xBA)(reply)[:13])
    assert a5.decode_balance(window.payload) == {2, 4, 5, 6, 8, 9}
    sim = A5Simulator(DalyState(cell_voltages=[3.3] * 16, balancing={1}))
    first, second = await _read_twice(transport, sim, MutatingInjector(t.CMD_BALANCE, _insert(4, 0xBA)))
    assert isinstance(first, BmsError), first
    assert isinstance(second, BmsSnapshot), second
    assert second.balancing == frozenset({1})


#: 0x97 with cells 2, 4, 5, 6, 8 balancing has the sum 0xFF; a 0x01 inserted after the header makes a window that sums
#: right and reads cells 1, 10, 12, 13, 14, 16, followed by the pushed-out 0xFF, which looks like an idle line.
IDLE_SUM_CELLS = {2, 4, 5, 6, 8}
#: 0x97 with cells 6 and 7 balancing has the sum 0xA5, the start byte of a frame.
A5_SUM_CELLS = {6, 7}


def _balance_reply(cells: set[int]) -> bytes:
    return a5.build_response(t.CMD_BALANCE, a5.encode_balance(cells))


def test_an_inserted_byte_whose_pushed_out_sum_looks_idle_is_refused() -> None:
    """The residue the framing check left (it allowed 0x00/0xFF after a frame): now refused, one chunk or two."""
    reply = _balance_reply(IDLE_SUM_CELLS)
    assert reply[-1] == 0xFF
    slipped = _insert(4, 0x01)(reply)
    window = a5.parse_frame(slipped[:13])  # the sum passes
    assert a5.decode_balance(window.payload) == {1, 10, 12, 13, 14, 16}
    assert a5.A5Assembler().feed(slipped) == []
    split = a5.A5Assembler()
    assert split.feed(slipped[:13]) == [window]  # nothing after it yet...
    split.feed(slipped[13:])
    assert split.straddled == 1  # ...and the next chunk tells the reader to refuse the answer
    # A real frame followed by idle-line bytes is still taken (this one has no second reading).
    plain = _balance_reply({1})
    assert [f.raw for f in a5.A5Assembler().feed(plain + b"\xff\x00" + plain)] == [plain, plain]


def test_an_inserted_byte_whose_pushed_out_sum_is_a5_waits_for_the_next_byte() -> None:
    reply = _balance_reply(A5_SUM_CELLS)
    assert reply[-1] == t.A5_START
    assert a5.A5Assembler().feed(_insert(4, 0x45)(reply)) == []  # the window sums right; nothing comes after
    # A real frame whose sum is A5, then the next frame's A5 alone: the frame waits for the next frame's address.
    assembler = a5.A5Assembler()
    assert assembler.feed(reply + reply[:1]) == []
    assert [f.raw for f in assembler.feed(reply[1:])] == [reply, reply]


async def test_a_read_never_shows_the_idle_sum_window(transport: str) -> None:
    sim = A5Simulator(DalyState(cell_voltages=[3.3] * 16, balancing=set(IDLE_SUM_CELLS)))
    first, second = await _read_twice(transport, sim, MutatingInjector(t.CMD_BALANCE, _insert(4, 0x01)))
    assert isinstance(first, BmsError), first
    assert isinstance(second, BmsSnapshot), second
    assert second.balancing == frozenset(IDLE_SUM_CELLS)


def test_a_pack_voltage_that_is_not_the_cells_sum_is_refused() -> None:
    """The cross-check that catches a shifted 0x90 (or 0x95) whose values stay in range."""
    cells = (3300,) * 16
    status = {"cell_count": 16, "temp_count": 0, "charger": 0, "load": 0, "dio": 0, "cycles": 0}
    mosfet = {"charge_state": 0, "charge_mosfet": 1, "discharge_mosfet": 1, "life": 0, "remaining_capacity": 0}

    def reading(volts_tenths: int) -> a5.A5Reading:
        pack = {"voltage": volts_tenths, "gather_voltage": 0, "current": t.CURRENT_OFFSET, "soc": 500}
        return a5.A5Reading(pack=pack, mosfet=mosfet, status=status, cells_mv=cells, temps_raw=())

    assert a5.to_snapshot(reading(528)).voltage == 52.8
    assert a5.to_snapshot(reading(528 + 26)).voltage == 55.4  # 5 % of 52.8 V: sense-wire drop, seconds apart
    for wrong in (528 + 27, 528 - 27, 0, 0x0C00):
        with pytest.raises(ImplausibleValueError, match="not the sum"):
            a5.to_snapshot(reading(wrong))
    with pytest.raises(ImplausibleValueError, match="cell 2 at 5001 mV"):
        a5.to_snapshot(
            a5.A5Reading(
                pack={**reading(528).pack},
                mosfet=mosfet,
                status=status,
                cells_mv=(3300, 5001, *(3300,) * 14),
                temps_raw=(),
            )
        )


def test_frames_out_of_order_are_refused() -> None:
    frames = a5.A5Assembler().feed(
        A5Simulator(DalyState(cell_voltages=[3.3] * 6)).handle(a5.build_request(t.CMD_CELLS, t.HOST_UART_BLE)) or b""
    )
    assert len(a5.decode_cells(frames, 6)) == 6
    with pytest.raises(BmsError, match="frames arrived as 2, 1"):
        a5.decode_cells(frames[::-1], 6)
    with pytest.raises(BmsError, match="once each"):
        a5.decode_cells([frames[0], frames[0], frames[1]], 6)


def _replies(state: DalyState, extra_frames: bool) -> list[bytes]:
    sim = A5Simulator(state, extra_frames=extra_frames)
    return [sim.handle(a5.build_request(cmd, t.HOST_UART_BLE)) or b"" for cmd in t.A5_READ_SEQUENCE]


@st.composite
def _faulty_stream(draw: st.DrawFn) -> tuple[bytes, bytes, list[bytes]]:
    """A reply (maybe followed by the next one), one byte dropped or inserted, cut in random chunks."""
    cells = draw(st.lists(st.integers(2500, 4200).map(lambda mv: mv / 1000), min_size=1, max_size=24))
    state = DalyState(cell_voltages=cells, balancing=draw(st.sets(st.integers(1, len(cells)))))
    replies = _replies(state, draw(st.booleans()))
    n = draw(st.integers(0, len(replies) - 1))
    reply = replies[n]
    stream = reply + (replies[n + 1] if n + 1 < len(replies) and draw(st.booleans()) else b"")
    i = draw(st.integers(0, len(reply)))
    if draw(st.booleans()) and i < len(reply):
        mutated = stream[:i] + stream[i + 1 :]
    else:
        mutated = stream[:i] + bytes((draw(st.integers(0, 255)),)) + stream[i:]
    cuts = sorted(draw(st.sets(st.integers(1, len(mutated) - 1), max_size=4)))
    chunks = [mutated[a:b] for a, b in itertools.pairwise([0, *cuts, len(mutated)])]
    return reply, stream, chunks


@settings(max_examples=400, deadline=None)
@given(_faulty_stream())
def test_one_lost_or_inserted_byte_never_yields_a_shifted_frame(case: tuple[bytes, bytes, list[bytes]]) -> None:
    """Every frame the assembler returns is one the simulator sent, or the reader is told (``straddled``).

    The one residue: a shifted window that ended a chunk, so that nothing after it had arrived when it was returned,
    and a lone A5 came next (the pushed-out sum of a frame with an inserted byte, when that sum is 0xA5).
    """
    _, stream, chunks = case
    sent = {stream[k : k + 13] for k in range(0, len(stream), 13)}
    assembler = a5.A5Assembler()
    frames = [f for chunk in chunks for f in assembler.feed(chunk)]
    joined = b"".join(chunks)
    ends = set(itertools.accumulate(len(c) for c in chunks))
    for frame in frames:
        if frame.raw in sent or assembler.straddled:
            continue
        at = joined.find(frame.raw)
        follow = joined[at + 13 : at + 14]
        assert follow in (b"", b"\xa5"), (frame.raw.hex(), joined.hex())
        assert at + 13 in ends, (frame.raw.hex(), joined.hex())  # it ended a chunk: nothing after it to tell yet
