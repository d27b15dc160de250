#!/usr/bin/env python3
"""Render the integration's brand images into ``custom_components/bms_gateway/brand/`` (reproducibly, no Pillow).

Home Assistant (2026.3 and later) serves a custom integration's own ``brand/`` images through its brands proxy,
before the brands CDN. The images are drawn here from a few flat shapes, so they can be regenerated and reviewed:

* the icon (``icon.png`` 256x256, ``icon@2x.png`` 512x512): a battery of three charged cells with a round "link"
  badge (two chain links) at its lower right corner, cut out from the battery by a transparent gap;
* the logo (``logo.png`` 512x256, ``logo@2x.png`` 1024x512): the link badge as the gateway, wired by a bus to three
  packs at different states of charge;
* ``dark_*`` variants of both, with a light outline instead of the dark one (for dark themes).

Shapes are signed distance functions in design units (256 per icon side); each pixel is covered by the fraction
``0.5 - distance`` (in pixels) of a shape, which anti-aliases edges without supersampling. PNGs are written with
``zlib`` and ``struct`` (8-bit RGBA, filter 0). ``--check`` renders into memory and exits 1 when a file differs in
its pixels (what the test suite runs for ``icon.png``).
"""

from __future__ import annotations

import argparse
import functools
import math
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRAND = ROOT / "custom_components" / "bms_gateway" / "brand"

type Color = tuple[int, int, int]
type Sdf = Callable[[float, float], float]
type Box = tuple[float, float, float, float]

SLATE: Color = (0x1F, 0x2A, 0x37)
LIGHT: Color = (0xE5, 0xE7, 0xEB)
GREEN: Color = (0x22, 0xC5, 0x5E)
AMBER: Color = (0xF5, 0x9E, 0x0B)
BLUE: Color = (0x25, 0x63, 0xEB)
WHITE: Color = (0xFF, 0xFF, 0xFF)


# --- shapes (signed distance in design units: < 0 inside) ---------------------------------------------------------
def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Sdf:
    """A rectangle with corners rounded by ``r``."""
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 - r, (y1 - y0) / 2 - r

    def sdf(x: float, y: float) -> float:
        qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - r

    return sdf


def circle(cx: float, cy: float, r: float) -> Sdf:
    """A disc."""
    return lambda x, y: math.hypot(x - cx, y - cy) - r


def segment(x0: float, y0: float, x1: float, y1: float, half_width: float) -> Sdf:
    """A line from (x0, y0) to (x1, y1) with round caps."""
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy

    def sdf(x: float, y: float) -> float:
        t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / length2))
        return math.hypot(x - x0 - t * dx, y - y0 - t * dy) - half_width

    return sdf


def outline(shape: Sdf, half_width: float) -> Sdf:
    """The band of ``2 * half_width`` centred on ``shape``'s edge."""
    return lambda x, y: abs(shape(x, y)) - half_width


def rotated(shape: Sdf, cx: float, cy: float, degrees: float) -> Sdf:
    """``shape`` turned by ``degrees`` around (cx, cy)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def sdf(x: float, y: float) -> float:
        dx, dy = x - cx, y - cy
        return shape(cx + c * dx + s * dy, cy - s * dx + c * dy)

    return sdf


# --- canvas ---------------------------------------------------------------------------------------------------------
@dataclass
class Canvas:
    """Premultiplied RGBA floats; ``scale`` pixels per design unit."""

    width: int
    height: int
    scale: float

    def __post_init__(self) -> None:
        """Start fully transparent."""
        size = self.width * self.height
        self.r, self.g, self.b, self.a = [0.0] * size, [0.0] * size, [0.0] * size, [0.0] * size

    def _pixels(self, box: Box) -> list[tuple[int, int]]:
        x0, y0, x1, y1 = box
        s = self.scale
        px0, py0 = max(0, int(x0 * s) - 2), max(0, int(y0 * s) - 2)
        px1, py1 = min(self.width, int(x1 * s) + 3), min(self.height, int(y1 * s) + 3)
        return [(i, j) for j in range(py0, py1) for i in range(px0, px1)]

    def _coverage(self, shape: Sdf, i: int, j: int) -> float:
        s = self.scale
        distance = shape((i + 0.5) / s, (j + 0.5) / s) * s
        return min(1.0, max(0.0, 0.5 - distance))

    def fill(self, shape: Sdf, box: Box, color: Color) -> None:
        """Paint ``shape`` (within ``box``, design units) over what is there."""
        red, green, blue = (c / 255 for c in color)
        for i, j in self._pixels(box):
            cover = self._coverage(shape, i, j)
            if cover <= 0.0:
                continue
            k = j * self.width + i
            keep = 1.0 - cover
            self.r[k] = red * cover + self.r[k] * keep
            self.g[k] = green * cover + self.g[k] * keep
            self.b[k] = blue * cover + self.b[k] * keep
            self.a[k] = cover + self.a[k] * keep

    def erase(self, shape: Sdf, box: Box) -> None:
        """Make ``shape`` transparent again (a gap between overlapping motifs)."""
        for i, j in self._pixels(box):
            cover = self._coverage(shape, i, j)
            if cover <= 0.0:
                continue
            k = j * self.width + i
            keep = 1.0 - cover
            self.r[k] *= keep
            self.g[k] *= keep
            self.b[k] *= keep
            self.a[k] *= keep

    def rgba(self) -> bytes:
        """Straight (not premultiplied) 8-bit RGBA rows."""
        out = bytearray()
        for k in range(self.width * self.height):
            alpha = self.a[k]
            if alpha <= 0.0:
                out += b"\0\0\0\0"
                continue
            out += bytes(
                (
                    round(min(1.0, self.r[k] / alpha) * 255),
                    round(min(1.0, self.g[k] / alpha) * 255),
                    round(min(1.0, self.b[k] / alpha) * 255),
                    round(min(1.0, alpha) * 255),
                )
            )
        return bytes(out)


# --- motifs ---------------------------------------------------------------------------------------------------------
def link_badge(canvas: Canvas, cx: float, cy: float, r: float) -> None:
    """A blue disc with two white chain links at 45 degrees (the gateway)."""
    canvas.fill(circle(cx, cy, r), (cx - r, cy - r, cx + r, cy + r), BLUE)
    w, h, t = r * 0.92, r * 0.5, r * 0.16  # one link: a stadium ring
    for dx in (-w * 0.32, w * 0.32):
        ring = rounded_rect(cx + dx - w / 2, cy - h / 2, cx + dx + w / 2, cy + h / 2, h / 2)
        canvas.fill(rotated(outline(ring, t / 2), cx, cy, 45), (cx - r, cy - r, cx + r, cy + r), WHITE)


def battery(canvas: Canvas, x0: float, y0: float, x1: float, y1: float, stroke: float, body: Color) -> tuple[Box, Box]:
    """A horizontal battery outline with its terminal at the right; returns its inside box and the nub's box."""
    r = (y1 - y0) * 0.18
    half = stroke / 2
    canvas.fill(outline(rounded_rect(x0, y0, x1, y1, r), half), (x0 - half, y0 - half, x1 + half, y1 + half), body)
    nub_h = (y1 - y0) * 0.4
    nub = (x1 + half - 1, (y0 + y1 - nub_h) / 2, x1 + half + stroke * 1.3, (y0 + y1 + nub_h) / 2)
    canvas.fill(rounded_rect(*nub, stroke * 0.45), nub, body)
    gap = stroke * 0.75
    return (x0 + half + gap, y0 + half + gap, x1 - half - gap, y1 - half - gap), nub


def cells(canvas: Canvas, inside: Box, count: int, charged: int, color: Color) -> None:
    """``charged`` of ``count`` cells, left to right, as rounded blocks filling ``inside``."""
    x0, y0, x1, y1 = inside
    gap = (y1 - y0) * 0.1
    width = (x1 - x0 - gap * (count - 1)) / count
    for n in range(charged):
        left = x0 + n * (width + gap)
        box = (left, y0, left + width, y1)
        canvas.fill(rounded_rect(*box, min(width, y1 - y0) * 0.18), box, color)


def draw_icon(size: int, body: Color) -> Canvas:
    """The square icon: a charged battery with the link badge."""
    canvas = Canvas(size, size, size / 256)
    inside, _nub = battery(canvas, 20, 44, 196, 164, 14, body)
    cells(canvas, inside, 3, 3, GREEN)
    canvas.erase(circle(196, 192, 60), (136, 132, 256, 252))
    link_badge(canvas, 196, 192, 50)
    return canvas


def draw_logo(height: int, body: Color) -> Canvas:
    """The landscape logo (2:1): the link badge wired by a bus to three packs."""
    canvas = Canvas(2 * height, height, height / 256)
    link_badge(canvas, 100, 128, 84)
    wire = 5.0
    canvas.fill(segment(184, 128, 236, 128, wire), (184, 120, 236, 136), body)
    canvas.fill(segment(236, 52, 236, 204, wire), (228, 44, 244, 212), body)
    for y, charged, color in ((52, 3, GREEN), (128, 2, GREEN), (204, 1, AMBER)):
        canvas.fill(segment(236, y, 282, y, wire), (228, y - 8, 290, y + 8), body)
        inside, _nub = battery(canvas, 290, y - 27, 470, y + 27, 9, body)
        cells(canvas, inside, 3, charged, color)
    return canvas


def images() -> dict[str, Callable[[], Canvas]]:
    """Every brand file and how to draw it."""
    out: dict[str, Callable[[], Canvas]] = {}
    for prefix, body in (("", SLATE), ("dark_", LIGHT)):
        out[f"{prefix}icon.png"] = functools.partial(draw_icon, 256, body)
        out[f"{prefix}icon@2x.png"] = functools.partial(draw_icon, 512, body)
        out[f"{prefix}logo.png"] = functools.partial(draw_logo, 256, body)
        out[f"{prefix}logo@2x.png"] = functools.partial(draw_logo, 512, body)
    return out


# --- PNG ------------------------------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG (filter 0 on every row)."""
    stride = width * 4
    raw = b"".join(b"\0" + rgba[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    idat = zlib.compress(raw, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """``(width, height, RGBA)`` of a PNG this script wrote (8-bit RGBA, filter 0 only)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color_type = struct.unpack(">IIBB", body[:10])
            if (depth, color_type) != (8, 6):
                raise ValueError("not 8-bit RGBA")
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * 4 + 1
    if any(raw[row * stride] != 0 for row in range(height)):
        raise ValueError("a row uses a PNG filter this decoder does not implement")
    return width, height, b"".join(raw[row * stride + 1 : (row + 1) * stride] for row in range(height))


def render(name: str) -> bytes:
    """The PNG bytes of the brand file ``name``."""
    canvas = images()[name]()
    return encode_png(canvas.width, canvas.height, canvas.rgba())


def main(argv: list[str] | None = None) -> int:
    """Write every brand image (or, with ``--check``, compare the named ones with what is on disk)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if a file's pixels differ")
    parser.add_argument("names", nargs="*", help="only these files (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(images())
    stale = []
    for name in names:
        png = render(name)
        path = BRAND / name
        if args.check:
            if not path.exists() or decode_png(path.read_bytes()) != decode_png(png):
                stale.append(name)
            continue
        BRAND.mkdir(exist_ok=True)
        path.write_bytes(png)
        print(path.relative_to(ROOT))
    if stale:
        print(f"out of date: {', '.join(stale)} (run scripts/render_brand.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
