"""A virtual JBD BMS: answers real JBD requests with responses generated from a battery state.

Sans-IO (``handle(request) -> response``); serve it over TCP, a pty or fake BLE with ``vendor_plugins.sim``.
It understands reads of 0x03/0x04/0x05, factory-mode enter/exit (0x00/0x01), MOSFET control (0xE1, accepted with
and without factory mode, as real boards do), the settings registers (:mod:`.simulator_settings`) and answers
unknown registers with the error status. In "live" mode ``advance()`` runs a compressed charge/discharge day (the
shared :mod:`vendor_plugins.sim.physics`) so a watched pack changes over time.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace

from ..framing import FrameAssembler
from ..model import Alarm
from ..sim.base import RequestLog, Simulator
from ..sim.physics import PackPhysics
from . import codec, codec_daren
from . import table as t
from .simulator_settings import JbdSimSettings


@dataclass(slots=True, kw_only=True)
class JbdState:
    """Everything a JBD pack reports, in model units at the protocol's resolution."""

    cell_voltages: list[float] = field(default_factory=lambda: [3.305, 3.301, 3.298, 3.302])
    voltage: float | None = None  # None: the sum of the cells, as a real board measures it
    current: float = 0.0
    remaining_capacity: float = 80.0
    design_capacity: float = 100.0
    cycles: int = 12
    production_date: dt.date | int = dt.date(2024, 5, 17)  # int: a packed value that is no date (0 on some boards)
    balancing: set[int] = field(default_factory=set)
    alarms: set[Alarm] = field(default_factory=set)
    extra_protection_bits: int = 0  # reserved bits 13-15, for tests
    software_version: int = 0x80
    soc: int | None = None  # None: remaining / design
    charge_mosfet: bool = True
    discharge_mosfet: bool = True
    extra_fet_bits: int = 0  # FET status bits beyond charge/discharge (a real Daren board sets 0x08)
    temperatures: list[float] = field(default_factory=lambda: [24.5, 24.1])
    model: str | None = "JBD-SP04S034-SIM"  # None: register 0x05 answers the error status (as Daren boards do)
    coarse_units: bool = False
    extension: bytes = b""
    #: The Daren variant (basic-info words unset, values after the NTCs); ``daren_info``: its register 0x08.
    daren: bool = False
    soh: int = 100
    mosfet_temp: float = 25.0
    ambient_temp: float = 25.0
    daren_reserved: bytes = bytes(3)
    daren_info: codec_daren.DarenInfo | None = None

    @property
    def protection(self) -> int:
        """Protection word from the alarm set."""
        bits = {alarm: bit for bit, alarm in t.PROTECTION_BITS.items()}
        return sum(1 << bits[a] for a in self.alarms if a in bits) | self.extra_protection_bits

    def basic_info(self) -> codec.BasicInfo:
        """The register 0x03 view of this state."""
        voltage = self.voltage if self.voltage is not None else round(sum(self.cell_voltages), 2)
        soc = self.soc
        if soc is None:
            soc = round(100 * self.remaining_capacity / self.design_capacity) if self.design_capacity else 0
        fet = (t.FET_CHARGE if self.charge_mosfet else 0) | (t.FET_DISCHARGE if self.discharge_mosfet else 0)
        fet |= self.extra_fet_bits
        daren = None
        if self.daren:
            daren = codec_daren.DarenExtension(
                current=self.current,
                remaining_capacity=self.remaining_capacity,
                design_capacity=self.design_capacity,
                soh=self.soh,
                mosfet_temp=self.mosfet_temp,
                ambient_temp=self.ambient_temp,
                reserved=self.daren_reserved,
            )
        return codec.BasicInfo(
            voltage=voltage,
            current=self.current,
            remaining_capacity=self.remaining_capacity,
            design_capacity=self.design_capacity,
            cycles=self.cycles,
            production_date=(
                codec.encode_date(self.production_date)
                if isinstance(self.production_date, dt.date)
                else self.production_date
            ),
            balancing=frozenset(self.balancing),
            protection=self.protection,
            software_version=self.software_version,
            soc=max(0, min(100, soc)),
            fet=fet,
            cell_count=len(self.cell_voltages),
            temperatures=tuple(self.temperatures),
            coarse_units=self.coarse_units,
            extension=self.extension,
            daren=daren,
        )

    @classmethod
    def from_frames(
        cls,
        basic: codec.BasicInfo,
        cells: tuple[float, ...],
        model: str | None = "",
        daren_info: codec_daren.DarenInfo | None = None,
    ) -> JbdState:
        """A state that reproduces what a real pack sent (for replaying captures)."""
        date = basic.manufacture_date or basic.production_date
        alarms, _ = codec.alarms_of(basic.protection)
        mapped = sum(1 << bit for bit in t.PROTECTION_BITS)
        daren = basic.daren
        return cls(
            cell_voltages=list(cells),
            voltage=basic.voltage,
            current=basic.current,
            remaining_capacity=basic.remaining_capacity,
            design_capacity=basic.design_capacity,
            cycles=basic.cycles,
            production_date=date,
            balancing=set(basic.balancing),
            alarms=set(alarms),
            extra_protection_bits=basic.protection & ~mapped,
            software_version=basic.software_version,
            soc=basic.soc,
            charge_mosfet=basic.charge_mosfet,
            discharge_mosfet=basic.discharge_mosfet,
            extra_fet_bits=basic.fet & ~(t.FET_CHARGE | t.FET_DISCHARGE),
            temperatures=list(basic.temperatures),
            model=model,
            coarse_units=basic.coarse_units,
            extension=basic.extension,
            daren=daren is not None,
            soh=daren.soh if daren else 100,
            mosfet_temp=daren.mosfet_temp if daren else 25.0,
            ambient_temp=daren.ambient_temp if daren else 25.0,
            daren_reserved=daren.reserved if daren else bytes(3),
            daren_info=daren_info,
        )


def daren_state() -> JbdState:
    """A 16S Daren pack as one real board reported itself (the second public capture, discharging at 13.2 A)."""
    return JbdState(
        cell_voltages=[
            *(3.276, 3.276, 3.277, 3.277, 3.277, 3.277, 3.277, 3.274),
            *(3.276, 3.276, 3.275, 3.277, 3.276, 3.277, 3.276, 3.276),
        ],
        voltage=None,  # the sum of the cells: 52.42 V as captured
        current=-13.2,
        remaining_capacity=142.4,
        design_capacity=300.0,
        cycles=301,
        production_date=0,  # the board sends no date in register 0x03
        software_version=0x00,
        soc=47,
        extra_fet_bits=0x08,
        temperatures=[26.7, 26.8, 27.0, 27.2],
        model=None,
        daren=True,
        soh=99,
        mosfet_temp=25.6,
        ambient_temp=27.9,
        daren_info=codec_daren.DarenInfo(
            texts={
                "production_code": "DJM2412250299",
                "production_code_2": "DJM2412250299",
                "production_code_3": "DJM2412250299",
                "manufacturer": "DR",
                "hardware": "V2.21",
                "software": "DR_YP01_16S200JC26_V1.0.2_T1",
                "module": "DR-WIFI02_V1.4.11",
            },
            date=(24, 12, 31),
        ),
    )


#: Live profile: seconds between occasional alarms, and how long each lasts (simulated time).
ALARM_PERIOD = 300.0
ALARM_LENGTH = 30.0


class JbdSimulator(Simulator):
    """Virtual JBD pack."""

    vendor = "jbd"

    def __init__(self, state: JbdState | None = None, *, live: bool = False, seed: int | None = None) -> None:
        """Simulate ``state`` (a default 4S pack when omitted); ``live`` makes ``advance`` change it."""
        self.state = state if state is not None else JbdState()
        self.live = live
        self.factory_mode = False
        self.settings = JbdSimSettings()
        self.requests: list[bytes] = RequestLog()
        self._rng = random.Random(seed)
        self._clock = 0.0
        self._physics: PackPhysics | None = None

    def request_assembler(self) -> FrameAssembler:
        """JBD request frames."""
        return codec.JbdAssembler(request=True)

    def handle(self, request: bytes) -> bytes | None:
        """Answer one request frame."""
        frame = codec.parse_frame(request, request=True)
        self.requests.append(bytes(request))
        settings_answer = self.settings.handle(frame, self.state)
        if settings_answer is not None:
            return settings_answer
        register = frame.command
        if frame.status == t.MODE_READ:
            return self._read(register)
        return self._write(register, frame.payload)

    def _read(self, register: int) -> bytes:
        state = self.state
        if register == t.REG_BASIC:
            return codec.build_response(register, codec.encode_basic(state.basic_info()))
        if register == t.REG_CELLS:
            return codec.build_response(register, codec.encode_cells(state.cell_voltages))
        if register == t.REG_HARDWARE and state.model is not None:
            return codec.build_response(register, state.model.encode("ascii"))
        if register == t.REG_DAREN_INFO and state.daren_info is not None:
            return codec.build_response(register, codec_daren.encode_info(state.daren_info))
        return codec.build_response(register, b"", t.STATUS_ERROR)

    def _write(self, register: int, data: bytes) -> bytes:
        if register == t.REG_FACTORY_ENTER and data == t.FACTORY_ENTER_KEY:
            self.factory_mode = True
        elif register == t.REG_FACTORY_EXIT and len(data) == 2:
            self.factory_mode = False
        elif register == t.REG_MOS and len(data) == 2:
            off = int.from_bytes(data, "big")
            self.state.charge_mosfet = not off & t.FET_CHARGE
            self.state.discharge_mosfet = not off & t.FET_DISCHARGE
            if off:
                self.state.alarms.add(Alarm.SOFTWARE_LOCK)
            else:
                self.state.alarms.discard(Alarm.SOFTWARE_LOCK)
        else:
            return codec.build_response(register, b"", t.STATUS_ERROR)
        return codec.build_response(register, b"")

    # --- live mode ------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Run a compressed day with the shared pack physics (:mod:`vendor_plugins.sim.physics`)."""
        if not self.live or seconds <= 0:
            return
        s = self.state
        if self._physics is None:
            capacity = s.design_capacity or 100.0
            self._physics = PackPhysics(
                cells=len(s.cell_voltages),
                capacity=capacity,
                soc=s.remaining_capacity / capacity,
                seed=self._rng.randrange(1 << 32),
                charge_current=20.0,
                discharge_current=12.0,
            )
        physics = self._physics
        self._clock += seconds
        # An occasional alarm: for 30 s of every 5 simulated minutes the cells run hot and charging is blocked.
        hot = self._clock % ALARM_PERIOD >= ALARM_PERIOD - ALARM_LENGTH
        if hot:
            s.alarms.add(Alarm.CHARGE_OVERTEMP)
        else:
            s.alarms.discard(Alarm.CHARGE_OVERTEMP)
        physics.advance(seconds, charge=s.charge_mosfet and not hot, discharge=s.discharge_mosfet)
        amps = round(physics.measured_current, 2)
        s.current = amps
        s.remaining_capacity = round(physics.remaining, 2)
        s.soc = physics.soc_percent
        s.cell_voltages = list(physics.cell_voltages)
        base_temp = 46.0 if hot else 24.0
        s.temperatures = [round(base_temp + abs(amps) * 0.1 + self._rng.uniform(-0.2, 0.2), 1) for _ in s.temperatures]
        s.balancing = set(physics.balancing)

    def snapshot_state(self) -> JbdState:
        """A copy of the current state (for tests comparing before/after)."""
        return replace(self.state, cell_voltages=list(self.state.cell_voltages))
