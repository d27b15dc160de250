"""A virtual PACE pack speaking the ASCII protocol; several of them on one SimEndpoint form an RS485 bus.

Sans-IO (``handle(request) -> response | None``). A pack answers only requests to its own address (ADR) and stays
silent otherwise, so ``serve_tcp([PaceAsciiSimulator(address=1), ..., PaceAsciiSimulator(address=15)])`` is a
15-pack bus behind one bridge (``serve_pty(..., baud=9600)`` adds wire-time pacing). Every answer is generated
from :class:`~.simulator_state.PaceState`: 0x42 analog, 0x44 warn, 0x90 pack number, 0xC1/0xC2 device info,
0x99 buzzer / LED / limiter, 0x9A/0x9B MOSFET switching (v0x25; switching both MOSFETs off is refused with RTN 0x09,
as real packs do), and RTN 0x04 for any other command. ``advance`` runs a compressed charge/discharge cycle in "live"
mode.
"""

from __future__ import annotations

import random

from ..framing import FrameAssembler
from ..sim.base import RequestLog, Simulator
from ..sim.physics import PackPhysics
from . import codec_ascii as codec
from . import codec_ascii_layout as layout
from . import table as t
from .codec_settings import group_of_cid2
from .simulator_settings import PaceSettingsSim
from .simulator_state import PaceState

#: 0x99 sub-commands → (ControlState bit, set it?) as the real PbmsTools traffic shows (PROTOCOLS.md §4.6).
_CONTROL_99: dict[int, tuple[int, bool]] = {
    0x0D: (0, True),  # buzzer warning on
    0x0C: (0, False),  # buzzer warning off
    0x09: (3, True),  # limiter low gear
    0x08: (3, False),  # limiter high gear
    0x0B: (4, True),  # limiter disabled
    0x0A: (4, False),  # limiter enabled
    0x07: (5, True),  # LED warning disabled
    0x06: (5, False),  # LED warning enabled
}


#: Smallest step of the live profile (seconds of simulated time).
LIVE_STEP = 0.25


class PaceAsciiSimulator(Simulator):
    """One virtual PACE pack at ``address`` on an ASCII bus."""

    vendor = "pace"

    def __init__(
        self,
        state: PaceState | None = None,
        *,
        address: int = 1,
        variant: codec.Variant = codec.V25,
        live: bool = False,
        seed: int | None = None,
    ) -> None:
        """Simulate ``state`` (a default 16S pack when omitted) at DIP address ``address``."""
        self.state = state if state is not None else PaceState()
        self.address = address
        self.variant = variant
        self.live = live
        #: A pack that is "unplugged" stays silent (bus tests remove a pack mid-run with this).
        self.present = True
        self.requests: list[bytes] = RequestLog()
        #: The v0x25 parameter groups, their limits and their effect on the pack (simulator_settings).
        self.settings = PaceSettingsSim()
        self._rng = random.Random(seed)
        self._pending = 0.0
        self._physics: PackPhysics | None = None

    def request_assembler(self) -> FrameAssembler:
        """ASCII frames."""
        return codec.AsciiAssembler()

    def handle(self, request: bytes) -> bytes | None:
        """Answer a request to this pack; ``None`` for other addresses, versions or device types."""
        frame = codec.parse_frame(request)
        if not self.present or frame.address != self.address:
            return None
        if frame.version != self.variant.version or frame.cid1 != self.variant.cid1:
            return None
        self.requests.append(bytes(request))
        info = self._answer(frame.cid2, frame.info)
        if isinstance(info, tuple):
            rtn, data = info
            return codec.build_response(self.variant, self.address, data, rtn)
        return codec.build_response(self.variant, self.address, info)

    def _answer(self, cid2: int, info: bytes) -> bytes | tuple[int, bytes]:
        state, version = self.state, self.variant.version
        command = info[0] if info else self.address
        if self.settings.acting or self.live:
            self.settings.apply(state)
        if cid2 == t.Cid2.ANALOG:
            return layout.encode_analog(state.analog_info(command if command != t.ALL_PACKS else 1, version), version)
        if cid2 == t.Cid2.WARN:
            return layout.encode_warn(state.warn_info(command, version), version)
        if cid2 == t.Cid2.PACK_NUMBER:
            return bytes((state.pack_count,))
        if version != t.VER_25:
            return (t.RTN_CID2_UNDEFINED, b"")
        if cid2 == t.Cid2.SOFTWARE_VERSION:
            return state.software_version.encode("ascii")[: t.VERSION_TEXT_BYTES].ljust(t.VERSION_TEXT_BYTES, b"\0")
        if cid2 == t.Cid2.PRODUCT_INFO:
            return state.serial_number.encode("ascii")[:40].ljust(40, b" ")
        if cid2 in (t.Cid2.CHARGE_MOSFET, t.Cid2.DISCHARGE_MOSFET) and len(info) == 1:
            return self._switch(cid2 == t.Cid2.CHARGE_MOSFET, info[0] == t.MOSFET_ON)
        if cid2 == t.Cid2.CONTROL and len(info) == 1 and info[0] in _CONTROL_99:
            bit, on = _CONTROL_99[info[0]]
            state.control_state = state.control_state | 1 << bit if on else state.control_state & ~(1 << bit)
            return bytes((info[0], state.control_state))
        settings_group = group_of_cid2(cid2)
        if settings_group is not None:
            group, write = settings_group
            if write:
                return (self.settings.write_info(group, info, state), b"")
            return self.settings.read_info(group)
        return (t.RTN_CID2_UNDEFINED, b"")

    def _switch(self, charge: bool, on: bool) -> bytes | tuple[int, bytes]:
        state = self.state
        other_on = state.discharge_mosfet if charge else state.charge_mosfet
        if not on and not other_on:
            # The BMS will not let both MOSFETs be off (nkinnan; the real capture: RTN 0x09).
            return (t.RTN_OPERATION_ERROR, bytes((state.instruction_state(),)))
        bit = 1 if charge else 2  # ControlState: charge / discharge MOSFET turned off by command (nkinnan)
        if charge:
            state.charge_mosfet = on
        else:
            state.discharge_mosfet = on
        state.control_state = state.control_state & ~(1 << bit) if on else state.control_state | 1 << bit
        return bytes((state.instruction_state(),))

    # --- live mode ---------------------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """A compressed day with the shared pack physics (:mod:`vendor_plugins.sim.physics`).

        The state moves in steps of at least ``LIVE_STEP`` seconds, so the 0x42 and 0x44 answers of one read
        (milliseconds apart) describe the same moment (cells and balancing agree). Packs on a bus are at different
        points of the day (37 s apart per address).
        """
        if not self.live or seconds <= 0:
            return
        self._pending += seconds
        if self._pending < LIVE_STEP:
            return
        seconds, self._pending = self._pending, 0.0
        s = self.state
        if self._physics is None:
            capacity = s.full_capacity or 100.0
            self._physics = PackPhysics(
                cells=len(s.cells),
                capacity=capacity,
                soc=s.remaining_capacity / capacity,
                seed=self._rng.randrange(1 << 32),
                charge_current=25.0,
                discharge_current=15.0,
                phase=37.0 * self.address,
            )
        physics = self._physics
        physics.advance(seconds, charge=s.charge_mosfet, discharge=s.discharge_mosfet)
        amps = round(physics.measured_current, 2)
        s.current = amps
        s.remaining_capacity = round(physics.remaining, 2)
        s.cells = list(physics.cell_voltages)
        s.voltage = None
        warm = 24.0 + abs(amps) * 0.08
        s.temperatures = [round(warm + self._rng.uniform(-0.3, 0.3), 1) for _ in s.temperatures]
        s.balancing = set(physics.balancing)
