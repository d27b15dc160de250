"""The registry: built-ins, a third-party plugin found through the ``bms_gateway.vendors`` entry point, matching."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from vendor_plugins.errors import ConfigError
from vendor_plugins.plugin import Advertisement, VendorPlugin, uuid16
from vendor_plugins.registry import ENTRY_POINT_GROUP, load_registry

THIRD_PARTY_MODULE = '''
"""A tiny third-party vendor plugin used by the registry test."""
from vendor_plugins.plugin import BleMatcher, LinkKind, VendorPlugin


class AcmePlugin(VendorPlugin):
    name = "acme"
    title = "ACME test BMS"
    link_kinds = frozenset({LinkKind.TCP})
    ble_matchers = (BleMatcher(local_name="ACME-*"),)

    def open_session(self, link, options=None):
        raise NotImplementedError


PLUGIN = AcmePlugin()
'''


def _install_distribution(root: Path, name: str, entry_points: str, module: str | None = None) -> None:
    """Lay out an installed distribution (module + .dist-info with entry_points.txt) under ``root``."""
    if module is not None:
        (root / f"{name}_plugin.py").write_text(module)
    info = root / f"{name}_bms_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-bms-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def site_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path standing in for site-packages."""
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m.endswith("_plugin") and m.split("_")[0] in {"acme", "broken"}]:
            del sys.modules[mod]


def test_builtins_present() -> None:
    """JBD is built in and needs no installed metadata."""
    registry = load_registry(include_third_party=False)
    assert "jbd" in registry
    assert registry.get("JBD").name == "jbd"


def test_third_party_plugin_found_through_entry_point(site_dir: Path) -> None:
    """An installed distribution declaring ``bms_gateway.vendors`` is loaded next to the built-ins."""
    _install_distribution(site_dir, "acme", f"[{ENTRY_POINT_GROUP}]\nacme = acme_plugin:PLUGIN\n", THIRD_PARTY_MODULE)
    registry = load_registry()
    plugin = registry.get("acme")
    assert isinstance(plugin, VendorPlugin)
    assert plugin.title == "ACME test BMS"
    assert "jbd" in registry
    assert registry.match_advertisement(Advertisement("11:22:33:44:55:66", "ACME-0001")) == [plugin]


def test_broken_third_party_plugin_does_not_break_the_builtins(
    site_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry point that fails to import is logged and skipped."""
    _install_distribution(site_dir, "broken", f"[{ENTRY_POINT_GROUP}]\nbroken = no_such_module_xyz:PLUGIN\n")
    registry = load_registry()
    assert "broken" not in registry
    assert "jbd" in registry
    assert "skipping vendor plugin entry point broken" in caplog.text


def test_unknown_vendor_message_names_the_known_ones() -> None:
    """Bad user input gets a clear message."""
    with pytest.raises(ConfigError, match=r"unknown vendor 'nope' \(known: .*jbd"):
        load_registry(include_third_party=False).get("nope")


@pytest.mark.parametrize(
    ("name", "address", "uuids", "expected"),
    [
        ("JBD-SP04S034", "11:22:33:44:55:66", (uuid16(0xFF00),), ["jbd"]),
        ("SX100P-1234", "11:22:33:44:55:66", (uuid16(0xFF00),), ["jbd"]),
        ("xiaoxiang", "A4:C1:38:12:34:56", (uuid16(0xFF00),), ["jbd"]),  # matched by OUI + service
        ("JBD-SP04S034", "11:22:33:44:55:66", (), []),  # name alone is not enough: the service must be there
        ("Someone's phone", "11:22:33:44:55:66", (uuid16(0xFF00),), []),
    ],
)
def test_match_advertisement(name: str, address: str, uuids: tuple[str, ...], expected: list[str]) -> None:
    """JBD matchers: name patterns or OUIs, each together with service ff00."""
    registry = load_registry(include_third_party=False)
    adv = Advertisement(address=address, local_name=name, service_uuids=uuids)
    assert [p.name for p in registry.match_advertisement(adv)] == expected
