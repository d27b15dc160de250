"""A built-in vendor is one folder of one fixed shape: ``vendor_plugins/<vendor>/`` with modules named by their job.

``plugin.py`` (the declarations and ``PLUGIN``), ``codec*.py`` (sans-IO bytes ↔ values), ``table*.py`` (field and
bit tables), ``session*.py`` (read and control sequences), ``simulator*.py`` (the virtual device), ``fuzz.py`` (its
fuzz entry points and seeds) and ``__init__.py``; a suffix names the part (``codec_a5.py``, ``session_modbus.py``).
No sub-folders. Third-party plugins are free to lay out their package as they like.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vendor_plugins.plugin import VendorPlugin
from vendor_plugins.registry import load_registry

SHAPE = re.compile(r"^(__init__|plugin|fuzz|(codec|table|session|simulator)(_[a-z0-9_]+)?)\.py$")
PACKAGE = Path(__file__).resolve().parents[2] / "vendor_plugins"
BUILTIN_PLUGINS = list(load_registry(include_third_party=False))
BUILTINS = [pytest.param(plugin, id=plugin.name) for plugin in BUILTIN_PLUGINS]


def _folder(plugin: VendorPlugin) -> Path:
    module = type(plugin).__module__
    assert module == f"vendor_plugins.{plugin.name}.plugin", f"{plugin.name} is declared in {module}"
    return PACKAGE / plugin.name


@pytest.mark.parametrize("plugin", BUILTINS)
def test_vendor_folder_has_the_fixed_shape(plugin: VendorPlugin) -> None:
    folder = _folder(plugin)
    entries = [p for p in folder.iterdir() if p.name != "__pycache__"]
    odd = sorted(p.name for p in entries if p.is_dir() or not SHAPE.match(p.name))
    assert not odd, f"vendor_plugins/{plugin.name}/ holds files outside the vendor shape: {odd}"
    names = {p.name for p in entries}
    assert {"__init__.py", "plugin.py"} <= names
    assert any(n.startswith("session") for n in names), "no session module"
    assert any(n.startswith("simulator") for n in names), "no simulator module"


def test_every_vendor_folder_is_a_registered_plugin() -> None:
    """No vendor folder without a plugin the registry finds (a folder is a vendor only through its entry point)."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "plugin.py").exists()}
    assert folders == {plugin.name for plugin in BUILTIN_PLUGINS}
