"""A virtual PACEEX pack (PACE Bluetooth), or a parallel bank's master answering for its packs.

Sans-IO (``handle(request) -> response | None``); serve it over the fake BLE client of :mod:`vendor_plugins.sim.ble`
(its :attr:`PaceexSimulator.ble_profile` is the GATT profile fff0/fff1/fff2), TCP or a pty. Every answer is generated
from :class:`~.codec_paceex.PackImage` through the codec's encoders (the layouts of :mod:`.table_paceex`):

* per-pack requests (0x0A01/0x0A02/0x0A03, data ``[n, 0x01]``) for a pack it holds; for another number it stays
  silent, or — a master built with ``empty_for_absent`` — answers a record of zeros (how a pack that has no bank
  answers the bank query in the real world: aiobmsble PR #259; that a master does the same for a missing pack
  number is this simulator's assumption);
* 0x0A00 (the bank): the master sums its packs (the real aggregation rule is not public); a pack that is not the
  master answers zeros, as real slaves do;
* 0x000001 / 0x000002 (versions, serial number of the connected pack); anything else stays unanswered.

:meth:`PaceexSimulator.from_frames` builds the pack that reproduces a real capture byte for byte. ``advance`` runs a
compressed charge/discharge cycle in "live" mode.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from ..framing import FrameAssembler
from ..sim.base import RequestLog, Simulator
from . import codec_paceex as codec
from . import table_paceex as t
from .simulator_state import PaceState

LIVE_STEP = 0.25
#: Text widths of the version record (as in aiobmsble's captured reply).
VERSION_WIDTHS = (21, 32, 10)


def image_of(state: PaceState, *, cell_sensors: int = 4) -> codec.PackImage:
    """A PACEEX pack image of a PACE pack state: T1-T4 on the first ``cell_sensors`` cells, T5 MOSFET, T6 ambient."""
    temps = list(state.temperatures)
    cell_temps: list[float | None] = [None] * len(state.cells)
    for n in range(min(cell_sensors, len(temps), len(state.cells))):
        cell_temps[n] = temps[n]
    return codec.PackImage(
        cells=list(state.cells),
        cell_temps=cell_temps,
        mosfet_temp=temps[4] if len(temps) > 4 else None,
        ambient_temp=temps[5] if len(temps) > 5 else None,
        current=state.current,
        voltage=round(state.pack_voltage, 2),
        remaining_capacity=state.remaining_capacity,
        full_capacity=state.full_capacity,
        design_capacity=state.design_capacity,
        soc=state.soc_percent,
        soh=state.soh_percent,
        cycles=state.cycles,
        charge_mosfet=state.charge_mosfet,
        discharge_mosfet=state.discharge_mosfet,
        balancing=set(state.balancing),
        alarms=set(state.alarms),
        warnings=set(state.warnings),
        named_bits=set(state.named_bits),
    )


class PaceexSimulator(Simulator):
    """Packs reachable over one PACEEX connection: numbered 1-15, the connected one is 1 when it is the master."""

    vendor = "pace"
    ble_profile = t.BLE_PROFILE

    def __init__(
        self,
        packs: codec.PackImage | Mapping[int, codec.PackImage] | None = None,
        *,
        master: bool = True,
        empty_for_absent: bool = False,
        live: bool = False,
        seed: int | None = None,
        software_version: str = "P16S100A-SIM-1.00",
        hardware_version: str = "SIMV100",
        serial_number: str = "SIMPACEEX0001",
    ) -> None:
        """Hold ``packs`` by number (one image: pack 1); ``master`` answers the bank query with their sum."""
        if packs is None:
            packs = image_of(PaceState())
        self.packs: dict[int, codec.PackImage] = dict(packs) if isinstance(packs, Mapping) else {1: packs}
        if not self.packs or not all(t.FIRST_PACK <= n <= t.MAX_PACKS for n in self.packs):
            raise ValueError(f"PACEEX packs are numbered {t.FIRST_PACK}-{t.MAX_PACKS}: {sorted(self.packs)}")
        self.master = master
        self.empty_for_absent = empty_for_absent
        self.live = live
        self.software_version = software_version
        self.hardware_version = hardware_version
        self.serial_number = serial_number
        self.version_text = f"{software_version}-001"
        self.requests: list[bytes] = RequestLog()
        self._rng = random.Random(seed)
        self._clock = 0.0
        self._pending = 0.0

    @property
    def state(self) -> codec.PackImage:
        """The lowest-numbered pack (the one a single-pack simulator is)."""
        return self.packs[min(self.packs)]

    @classmethod
    def from_frames(cls, pack_frame: bytes, cells_frame: bytes, status_frame: bytes) -> PaceexSimulator:
        """A pack 1 whose answers are exactly these captured replies (0x0A01, 0x0A02, 0x0A03)."""
        p = codec.decode_pack(codec.parse_frame(pack_frame).payload)
        c = codec.decode_cells(codec.parse_frame(cells_frame).payload)
        s = codec.decode_status(codec.parse_frame(status_frame).payload)
        snap = codec.to_snapshot(p, c, s)
        image = codec.PackImage(
            cells=list(c.cells),
            cell_temps=[None if raw == t.NO_SENSOR else (raw - t.TEMP_OFFSET) / 10 for raw in c.cell_temps],
            mosfet_temp=next((x.celsius for x in snap.temperatures if x.name == "mosfet"), None),
            ambient_temp=next((x.celsius for x in snap.temperatures if x.name == "ambient"), None),
            current=p.value("current"),
            voltage=p.value("voltage"),
            remaining_capacity=p.value("remaining_capacity"),
            full_capacity=p.value("full_capacity"),
            design_capacity=p.value("design_capacity"),
            soc=p.raw["soc"],
            soh=p.raw["soh"],
            cycles=p.raw["cycles"],
            charge_mosfet=bool(snap.charge_mosfet),
            discharge_mosfet=bool(snap.discharge_mosfet),
            balancing=set(snap.balancing or ()),
            alarms=set(snap.alarms),
            warnings=set(snap.warnings),
            named_bits={name for name, value in snap.raw.items() if value == 1},
            control_state=s.raw["control_state"],
            lead=p.raw["lead"],
            unknown={name: p.raw[name] for name in t.PACK_UNKNOWN}
            | {name: s.raw[name] for name in ("reserved_10", "reserved_12")},
        )
        return cls(image)

    def request_assembler(self) -> FrameAssembler:
        """PACEEX frames."""
        return codec.PaceexAssembler()

    def handle(self, request: bytes) -> bytes | None:
        """Answer one request (``None``: this device stays silent)."""
        frame = codec.parse_frame(request)
        self.requests.append(bytes(request))
        kind = frame.command
        if kind in t.PER_PACK:
            if len(frame.payload) != 2 or frame.payload[1] != t.PACK_REQUEST_COUNT:
                return None
            image = self.packs.get(frame.payload[0])
            if image is None:
                return self._empty(kind) if self.master and self.empty_for_absent else None
            encode = {t.FrameType.PACK: codec.encode_pack, t.FrameType.CELLS: codec.encode_cells}
            return codec.build_frame(kind, encode.get(t.FrameType(kind), codec.encode_status)(image))
        if frame.payload:
            return None
        if kind == t.FrameType.SYSTEM:
            images = self.packs if self.master else {}
            return codec.build_frame(kind, codec.encode_system(images))
        if kind == t.FrameType.VERSION:
            texts = (self.software_version, self.version_text, self.hardware_version)
            lead = bytes(t.VERSION_LEAD)
            return codec.build_frame(kind, codec.encode_texts(list(zip(texts, VERSION_WIDTHS, strict=True)), lead))
        if kind == t.FrameType.SERIAL:
            serial = self.serial_number
            return codec.build_frame(kind, codec.encode_texts([(serial, len(serial))]))
        return None

    @staticmethod
    def _empty(kind: int) -> bytes:
        size = {t.FrameType.PACK: t.PACK_RECORD_SIZE, t.FrameType.STATUS: t.STATUS_RECORD_SIZE}
        return codec.build_frame(kind, bytes(size.get(t.FrameType(kind), t.CELLS_HEAD_SIZE)))

    def advance(self, seconds: float) -> None:
        """A compressed day: a 10-minute charge/discharge sine per pack, SoC and cells following it."""
        if not self.live or seconds <= 0:
            return
        self._pending += seconds
        if self._pending < LIVE_STEP:
            return
        seconds, self._pending = self._pending, 0.0
        self._clock += seconds
        for number, img in self.packs.items():
            amps = round(20.0 * math.sin(2 * math.pi * (self._clock + 41 * number) / 600.0), 2)
            amps = round(amps + self._rng.uniform(-0.3, 0.3), 2)
            if (amps > 0 and not img.charge_mosfet) or (amps < 0 and not img.discharge_mosfet):
                amps = 0.0
            img.current = amps
            delta = amps * seconds * 60 / 3600
            img.remaining_capacity = round(min(img.full_capacity, max(0.0, img.remaining_capacity + delta)), 2)
            fraction = img.remaining_capacity / img.full_capacity if img.full_capacity else 0.0
            img.soc = max(0, min(100, round(100 * fraction)))
            base = 3.15 + 0.2 * fraction + 0.002 * amps
            img.cells = [round(base + self._rng.uniform(-0.006, 0.006), 3) for _ in img.cells]
            img.voltage = round(sum(img.cells), 2)
            warm = 24.0 + abs(amps) * 0.08
            img.cell_temps = [
                None if x is None else round(warm + self._rng.uniform(-0.3, 0.3), 1) for x in img.cell_temps
            ]
            low = min(img.cells)
            img.balancing = {i for i, v in enumerate(img.cells, 1) if v - low > 0.008}
            named = img.named_bits - {"charging", "discharging"}
            img.named_bits = named | ({"charging"} if amps > 0 else {"discharging"} if amps < 0 else set())
