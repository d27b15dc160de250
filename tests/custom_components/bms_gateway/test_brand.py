"""Brand images: present, valid 8-bit RGBA PNGs of the sizes Home Assistant's brands proxy expects, reproducible from
scripts/render_brand.py, and served by Home Assistant from the integration's own ``brand/`` folder."""

from __future__ import annotations

import importlib.util
import struct
import sys
import zlib
from pathlib import Path
from types import ModuleType

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bms_gateway.const import DOMAIN

ROOT = Path(__file__).resolve().parents[3]
BRAND = ROOT / "custom_components" / "bms_gateway" / "brand"

#: file -> (width, height): icons square 256 / 512; logos landscape with the short side 256 / 512.
SIZES = {
    "icon.png": (256, 256),
    "icon@2x.png": (512, 512),
    "logo.png": (512, 256),
    "logo@2x.png": (1024, 512),
    "dark_icon.png": (256, 256),
    "dark_icon@2x.png": (512, 512),
    "dark_logo.png": (512, 256),
    "dark_logo@2x.png": (1024, 512),
}


def _render_brand() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_brand", ROOT / "scripts" / "render_brand.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG, each CRC checked (independent of the generator's own decoder)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        out.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return out


@pytest.mark.parametrize("name", sorted(SIZES))
def test_brand_image_is_an_rgba_png_of_the_right_size(name: str) -> None:
    chunks = _chunks((BRAND / name).read_bytes())
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color_type, _compression, _filter, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height) == SIZES[name]
    assert (depth, color_type, interlace) == (8, 6, 0)  # 8-bit RGBA: an alpha channel
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 4 * width
    assert len(raw) == height * stride
    assert all(raw[row * stride] == 0 for row in range(height))  # filter "none": alpha is every 4th byte
    alpha = [raw[row * stride + 1 + 4 * col + 3] for row in range(height) for col in range(width)]
    transparent = sum(a == 0 for a in alpha) / len(alpha)
    opaque = sum(a == 255 for a in alpha) / len(alpha)
    assert alpha[0] == 0 and alpha[-1] == 0  # transparent background (corners)
    assert 0.2 < transparent < 0.9 and opaque > 0.1  # a real drawing, not an empty or a solid square
    assert sum(0 < a < 255 for a in alpha) > width  # anti-aliased edges


def test_brand_images_are_what_the_generator_draws() -> None:
    """The committed icon is reproducible: rendering it again gives the same pixels."""
    render_brand = _render_brand()
    assert set(render_brand.images()) == set(SIZES)
    assert render_brand.main(["--check", "icon.png", "dark_icon.png"]) == 0


def test_pillow_reads_the_brand_images() -> None:
    image_module = pytest.importorskip("PIL.Image")
    for name, size in SIZES.items():
        with image_module.open(BRAND / name) as image:
            image.load()
            assert image.mode == "RGBA"
            assert image.size == size


async def test_home_assistant_serves_the_local_brand_images(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The brands proxy answers from ``custom_components/bms_gateway/brand/`` (local images win over the CDN)."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for name in ("icon.png", "dark_logo@2x.png"):
        response = await client.get(f"/api/brands/integration/{DOMAIN}/{name}")
        assert response.status == 200
        assert await response.read() == (BRAND / name).read_bytes()
