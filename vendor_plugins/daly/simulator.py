"""Virtual DALY packs: an A5 simulator and a D2/P81 simulator answering real requests from a :class:`DalyState`.

Sans-IO (``handle(request) -> response``); serve them over TCP, a pty or fake BLE with ``vendor_plugins.sim``.
Every answer is generated from the state with the codecs' encoders — set to a real capture's state, a simulator
answers with the captured bytes. A5: reads 0x90-0x98 (0x95/0x96 as 1-based multi-frame answers; ``extra_frames``
sends all 16/3 frames like some units do), MOSFET control 0xDA/0xD9; other commands get no answer, as on a real
unit. D2/P81: reads of the register image (status, settings, version, balancer switch; anything else is an
"illegal data address" exception), D2 switch writes to 0xA5/0xA6 (echoed). "live" profiles run
:class:`~.simulator_state.LiveModel`; "static" ones never change by themselves.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..framing import FrameAssembler
from ..plugin import SimulatorOptions
from ..sim.base import RequestLog, Simulator
from . import codec_a5 as a5
from . import codec_d2 as d2
from . import table as t
from .simulator_settings import D2SettingsSim
from .simulator_state import DalyState, LiveModel

PROFILES = ("live", "static")
DEFAULT_FAMILY = "d2"

_ILLEGAL_FUNCTION = 1
_ILLEGAL_ADDRESS = 2
_ILLEGAL_VALUE = 3


class _DalySimulator(Simulator):
    vendor = "daly"
    family: str

    def __init__(self, state: DalyState | None, *, live: bool, seed: int | None) -> None:
        self.state = state if state is not None else DalyState()
        self.live = live
        self.requests: list[bytes] = RequestLog()
        self._model = LiveModel(seed)

    def advance(self, seconds: float) -> None:
        """Run the live model (static simulators never change by themselves)."""
        if self.live:
            self._model.advance(self.state, seconds)


class A5Simulator(_DalySimulator):
    """A pack speaking the legacy A5 protocol; it answers requests from any host address."""

    family = "a5"

    def __init__(
        self,
        state: DalyState | None = None,
        *,
        live: bool = False,
        seed: int | None = None,
        extra_frames: bool = False,
    ) -> None:
        """Simulate ``state``; ``extra_frames`` sends all 16 cell and 3 temperature frames whatever the counts."""
        super().__init__(state, live=live, seed=seed)
        self.extra_frames = extra_frames

    def request_assembler(self) -> FrameAssembler:
        """A5 request frames."""
        return a5.A5Assembler(request=True)

    def _multi(self, command: int) -> bytes:
        s = self.state
        if command == t.CMD_CELLS:
            frames = s.cell_frames if s.cell_frames is not None else (t.MAX_CELL_FRAMES if self.extra_frames else None)
            payloads = a5.encode_cells(
                [round(v * 1000) for v in s.cell_voltages], frames, s.a5_reserved.get(command, b"")
            )
        else:
            frames = s.temp_frames if s.temp_frames is not None else (t.MAX_TEMP_FRAMES if self.extra_frames else None)
            payloads = a5.encode_temps([round(c) + t.TEMP_OFFSET for c in s.temperatures], frames)
        return b"".join(a5.build_response(command, p) for p in payloads)

    def handle(self, request: bytes) -> bytes | None:
        """Answer one request frame (``None``: the unit stays silent)."""
        frame = a5.parse_frame(request, request=True)
        self.requests.append(bytes(request))
        command, s = frame.command, self.state
        if command in t.A5_LAYOUTS:
            payload = a5.encode_fields(t.A5_LAYOUTS[command], s.a5_values(command), s.a5_reserved.get(command, b""))
        elif command in (t.CMD_CELLS, t.CMD_TEMPS):
            return self._multi(command)
        elif command == t.CMD_BALANCE:
            payload = a5.encode_balance(s.balancing)
        elif command == t.CMD_FAILURE:
            payload = s.a5_failure()
        elif command in (t.CMD_CHARGE_SWITCH, t.CMD_DISCHARGE_SWITCH) and frame.payload[0] in (0, 1):
            on = bool(frame.payload[0])
            if command == t.CMD_CHARGE_SWITCH:
                s.charge_mosfet = on
            else:
                s.discharge_mosfet = on
            payload = bytes((int(on),)) + bytes(t.A5_DATA_LEN - 1)
        else:
            return None
        return a5.build_response(command, payload)


class ModbusSimulator(_DalySimulator):
    """A pack speaking D2 (device 0xD2) or P81 (requests to 0x81, replies from 0x51)."""

    def __init__(
        self,
        state: DalyState | None = None,
        *,
        family: str = DEFAULT_FAMILY,
        live: bool = False,
        seed: int | None = None,
    ) -> None:
        """Simulate ``state`` in ``family`` ("d2" or "p81")."""
        super().__init__(state, live=live, seed=seed)
        self.variant = d2.VARIANTS[family]
        self.family = family
        #: D2 settings registers 0x81-0xA8, their limits and their effect on the pack (simulator_settings).
        self.settings = D2SettingsSim()

    def request_assembler(self) -> FrameAssembler:
        """Requests addressed to this family's device byte."""
        return d2.ModbusAssembler((self.variant.request_device,), request=True)

    # --- the register image -----------------------------------------------------------------------------
    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        """The register ranges ``[start, end)`` this family's unit answers."""
        if self.family == "p81":
            return (
                (0, d2.P81_IMAGE_REGS),
                (t.P81_ALARM_START, t.P81_ALARM_START + t.P81_ALARM_REGS),
                (t.D2_REG_BALANCER_SWITCH, t.D2_REG_BALANCER_SWITCH + 1),
                (t.P81_VERSION_START, t.P81_VERSION_START + t.P81_VERSION_REGS),
            )
        return ((0, t.D2_STATUS_REGS_EXTENDED), (t.D2_REG_RATED_CAPACITY, t.D2_REG_BALANCER_SWITCH + 1))

    def readable(self, start: int, count: int) -> bool:
        """Whether every register of the range exists on this family's unit."""
        return any(lo <= start and start + count <= hi for lo, hi in self.ranges)

    def image(self) -> bytearray:
        """Every register of the unit, generated from the state (then the replayed ``*_extra`` registers)."""
        s = self.state
        status = d2.encode_status(s.status_block(self.family))
        if self.family == "p81":
            version_at, version_regs, extra = t.P81_VERSION_START, t.P81_VERSION_REGS, s.p81_extra
        else:
            version_at, version_regs, extra = t.D2_VERSION_START, t.D2_VERSION_REGS, s.d2_extra
        image = bytearray(2 * max(end for _, end in self.ranges))
        image[: len(status)] = status
        version = d2.encode_version(self.family, s.version_texts(), version_regs)
        image[2 * version_at : 2 * version_at + len(version)] = version
        words = {t.D2_REG_BALANCER_SWITCH: s.balancer_switch}
        if self.family == "d2":
            words |= {
                t.D2_REG_RATED_CAPACITY: round(s.rated_capacity * 10),
                t.D2_REG_CHARGE_SWITCH: int(s.charge_mosfet),
                t.D2_REG_DISCHARGE_SWITCH: int(s.discharge_mosfet),
            } | self.settings.words(s)
        for register, value in (words | extra).items():
            image[2 * register : 2 * register + 2] = value.to_bytes(2, "big")
        return image

    # --- requests --------------------------------------------------------------------------------------
    def handle(self, request: bytes) -> bytes | None:
        """Answer one request frame addressed to this unit."""
        frame = d2.parse_frame(request, request=True)
        if frame.address != self.variant.request_device:
            return None
        self.requests.append(bytes(request))
        device, function = self.variant.response_device, frame.command
        if function == t.FC_READ:
            if self.family == "d2" and (self.live or self.settings.acting):
                self.settings.apply(self.state)  # the thresholds act on the pack as its cells move
            start, count = int.from_bytes(frame.payload[:2], "big"), int.from_bytes(frame.payload[2:4], "big")
            if not 1 <= count <= d2.MAX_READ_REGS or not self.readable(start, count):
                return d2.build_exception(device, function, _ILLEGAL_ADDRESS)
            return d2.build_read_reply(device, bytes(self.image()[2 * start : 2 * (start + count)]))
        if function == t.FC_WRITE:
            register, value = int.from_bytes(frame.payload[:2], "big"), int.from_bytes(frame.payload[2:4], "big")
            return self._write(register, value) or d2.build_write(device, register, value)  # the echo
        return d2.build_exception(device, function, _ILLEGAL_FUNCTION)

    def _write(self, register: int, value: int) -> bytes | None:
        """Apply a write; an exception reply when the unit would refuse it, else ``None`` (echo)."""
        device, s = self.variant.response_device, self.state
        if self.family == "d2" and self.settings.handles(register):
            code = self.settings.write(register, value, s)
            return None if code is None else d2.build_exception(device, t.FC_WRITE, code)
        switches = (t.D2_REG_CHARGE_SWITCH, t.D2_REG_DISCHARGE_SWITCH) if self.family == "d2" else ()
        if register in switches:
            if value not in (0, 1):
                return d2.build_exception(device, t.FC_WRITE, _ILLEGAL_VALUE)
            if register == t.D2_REG_CHARGE_SWITCH:
                s.charge_mosfet = bool(value)
            else:
                s.discharge_mosfet = bool(value)
            return None
        if register == t.D2_REG_BALANCER_SWITCH:
            s.balancer_switch = value
            return None
        return d2.build_exception(device, t.FC_WRITE, _ILLEGAL_ADDRESS)


def create_simulator(options: SimulatorOptions) -> A5Simulator | ModbusSimulator:
    """The simulator ``bmsgw simulate --vendor daly`` serves (family default "d2"; profiles "live", "static")."""
    family = (options.family or DEFAULT_FAMILY).lower()
    if family not in t.FAMILIES:
        raise ConfigError(f"unknown DALY family {options.family!r} (known: {', '.join(t.FAMILIES)})")
    if options.profile not in PROFILES:
        raise ConfigError(f"unknown DALY simulator profile {options.profile!r} (known: {', '.join(PROFILES)})")
    live = options.profile == "live"
    if family == "a5":
        return A5Simulator(live=live, seed=options.seed)
    return ModbusSimulator(family=family, live=live, seed=options.seed)
