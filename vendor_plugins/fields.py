"""Declarative field tables: a vendor's register/byte layout written once, used to decode, encode and simulate.

A :class:`Field` names one fixed-position integer in a payload, its width/signedness and its scale to model
units. :func:`unpack` reads every field of a table as raw integers; :func:`pack` writes raw integers back. The
codec converts raw → model units with :meth:`Field.to_value`, the simulator model → raw with
:meth:`Field.to_raw` — so decode and encode cannot disagree about an offset or a scale.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .errors import FrameError

_FORMATS = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h", (4, False): "I", (4, True): "i"}


@dataclass(frozen=True, slots=True)
class Field:
    """One integer at a fixed offset. ``scale`` multiplies the raw integer into model units."""

    name: str
    offset: int
    size: int = 2
    signed: bool = False
    scale: float = 1.0
    byteorder: str = ">"

    @property
    def fmt(self) -> str:
        """``struct`` format of this field."""
        return self.byteorder + _FORMATS[(self.size, self.signed)]

    @property
    def end(self) -> int:
        """Offset just past this field."""
        return self.offset + self.size

    def to_value(self, raw: int, scale: float | None = None) -> float:
        """Raw integer → model units, as the nearest float to the exact decimal (3309 mV → 3.309 V)."""
        return _converter(self.scale if scale is None else scale)(raw)

    def to_raw(self, value: float, scale: float | None = None) -> int:
        """Model units → raw integer; raises ``ValueError`` if it does not fit the field."""
        factor = self.scale if scale is None else scale
        raw = round(value / factor)
        lo, hi = self.limits
        if not lo <= raw <= hi:
            raise ValueError(f"{self.name}={value} does not fit in {self.size} byte(s) at scale {factor}")
        return raw

    @property
    def limits(self) -> tuple[int, int]:
        """Smallest and largest raw value."""
        bits = 8 * self.size
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)


@functools.cache
def _converter(scale: float) -> Callable[[int], float]:
    """raw → value for ``scale``: a division by a power of ten where the scale is one (exact and fast)."""
    text = f"{scale:.10f}".rstrip("0")
    decimals = len(text.partition(".")[2])
    if round(scale * 10**decimals) == 1:
        divisor = float(10**decimals)
        return lambda raw: raw / divisor
    return lambda raw: round(raw * scale, decimals)


def table_size(table: Sequence[Field]) -> int:
    """Bytes a payload needs to hold every field of ``table``."""
    return max(f.end for f in table)


def unpack(table: Sequence[Field], data: bytes) -> dict[str, int]:
    """Read every field of ``table`` from ``data`` as raw integers (:class:`FrameError` if too short)."""
    need = table_size(table)
    if len(data) < need:
        raise FrameError(f"payload has {len(data)} bytes, the layout needs {need}")
    return {f.name: struct.unpack_from(f.fmt, data, f.offset)[0] for f in table}


def pack(table: Sequence[Field], raw: Mapping[str, int], size: int | None = None) -> bytearray:
    """Write raw integers for every field of ``table`` into a zeroed buffer of ``size`` bytes."""
    out = bytearray(size if size is not None else table_size(table))
    for f in table:
        struct.pack_into(f.fmt, out, f.offset, raw[f.name])
    return out
