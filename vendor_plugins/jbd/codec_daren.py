"""The Daren variant of the JBD protocol, sans-IO: the basic-info extension and register 0x08.

Daren boards (Bluetooth names ``DWF…``) answer the JBD requests but leave current, remaining and design capacity in
register 0x03 at 0xFFFF and send them, with the state of health and MOSFET/ambient temperatures, after the NTC
words (:data:`~.table.DAREN_FIELDS`). The variant is recognised from the reply itself (all three words 0xFFFF);
:mod:`.codec` calls this module and the simulator encodes with it, so one table drives both directions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..errors import FrameError
from ..fields import pack, unpack
from . import table as t


@dataclass(frozen=True, slots=True, kw_only=True)
class DarenExtension:
    """The values a Daren board sends after the NTC words, in model units."""

    current: float
    remaining_capacity: float
    design_capacity: float
    soh: int
    mosfet_temp: float
    ambient_temp: float
    reserved: bytes = bytes(3)


def marks_daren(current: int, remaining: int, design: int) -> bool:
    """Whether the raw basic-info words are the Daren marker (all three unset)."""
    return current == remaining == design == t.NOT_AVAILABLE


def _celsius(raw: int) -> float:
    return round((raw - t.NTC_OFFSET_DECIKELVIN) / 10, 1)


def _decikelvin(celsius: float) -> int:
    return round(celsius * 10) + t.NTC_OFFSET_DECIKELVIN


_FIELDS = {f.name: f for f in t.DAREN_FIELDS}


def decode_extension(data: bytes) -> DarenExtension:
    """The extension at the start of ``data``; :class:`FrameError` when it is missing or short.

    A reply with the marker but no extension has no current or capacity at all: it is refused rather than shown
    as the 0xFFFF words would read (-0.01 A, 655.35 Ah).
    """
    if len(data) < t.DAREN_EXTENSION_SIZE:
        raise FrameError(
            f"JBD basic info leaves current and capacities unset (0xFFFF) but has {len(data)} of the"
            f" {t.DAREN_EXTENSION_SIZE} bytes of the Daren extension that carries them"
        )
    raw = unpack(t.DAREN_FIELDS, data)
    return DarenExtension(
        current=_FIELDS["current"].to_value(raw["current"]),
        remaining_capacity=_FIELDS["remaining_capacity"].to_value(raw["remaining_capacity"]),
        design_capacity=_FIELDS["design_capacity"].to_value(raw["design_capacity"]),
        soh=raw["soh"],
        mosfet_temp=_celsius(raw["mosfet_temp"]),
        ambient_temp=_celsius(raw["ambient_temp"]),
        reserved=bytes((raw["reserved_byte"],)) + raw["reserved_word"].to_bytes(2, "big"),
    )


def encode_extension(ext: DarenExtension) -> bytes:
    """Inverse of :func:`decode_extension`."""
    raw = {
        "mosfet_temp": _decikelvin(ext.mosfet_temp),
        "ambient_temp": _decikelvin(ext.ambient_temp),
        "soh": ext.soh,
        "reserved_byte": ext.reserved[0],
        "reserved_word": int.from_bytes(ext.reserved[1:3], "big"),
        "remaining_capacity": _FIELDS["remaining_capacity"].to_raw(ext.remaining_capacity),
        "design_capacity": _FIELDS["design_capacity"].to_raw(ext.design_capacity),
        "current": _FIELDS["current"].to_raw(ext.current),
    }
    return bytes(pack(t.DAREN_FIELDS, raw, t.DAREN_EXTENSION_SIZE))


# --- register 0x08 ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DarenInfo:
    """Register 0x08: the texts of :data:`~.table.DAREN_INFO_TEXTS` (NULs stripped) and the production date."""

    texts: dict[str, str]
    date: tuple[int, int, int]

    @property
    def manufacture_date(self) -> dt.date | None:
        """The date, when it is a real one."""
        year, month, day = self.date
        try:
            return dt.date(2000 + year, month, day)
        except ValueError:
            return None


def decode_info(payload: bytes) -> DarenInfo:
    """Decode register 0x08 (:class:`FrameError` when shorter than the layout)."""
    if len(payload) < t.DAREN_INFO_SIZE:
        raise FrameError(f"Daren info has {len(payload)} bytes, the layout needs {t.DAREN_INFO_SIZE}")
    texts = {
        name: payload[start:end].split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
        for name, (start, end) in t.DAREN_INFO_TEXTS.items()
    }
    start, end = t.DAREN_INFO_DATE
    year, month, day = payload[start:end]
    return DarenInfo(texts=texts, date=(year, month, day))


def encode_info(info: DarenInfo) -> bytes:
    """Inverse of :func:`decode_info` (texts NUL-padded to their width)."""
    out = bytearray(t.DAREN_INFO_SIZE)
    for name, (start, end) in t.DAREN_INFO_TEXTS.items():
        text = info.texts.get(name, "").encode("ascii")
        if len(text) > end - start:
            raise ValueError(f"Daren {name} {text!r} is longer than {end - start} bytes")
        out[start : start + len(text)] = text
    start, _ = t.DAREN_INFO_DATE
    out[start : start + 3] = bytes(info.date)
    return bytes(out)
