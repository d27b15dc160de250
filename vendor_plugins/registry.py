"""The vendor registry: built-in plugins plus third-party ones from the entry-point group ``bms_gateway.vendors``.

Each entry point must load a :class:`~vendor_plugins.plugin.VendorPlugin` instance. A broken third-party plugin
is logged and skipped — it never takes the built-ins down with it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points

from .errors import ConfigError
from .plugin import Advertisement, VendorPlugin

ENTRY_POINT_GROUP = "bms_gateway.vendors"

#: Built-in plugins: name -> "module:attribute". Later vendor issues add their lines here.
BUILTIN_PLUGINS: dict[str, str] = {
    "daly": "vendor_plugins.daly.plugin:PLUGIN",
    "hiximi": "vendor_plugins.hiximi.plugin:PLUGIN",
    "jbd": "vendor_plugins.jbd.plugin:PLUGIN",
    "pace": "vendor_plugins.pace.plugin:PLUGIN",
}

_LOGGER = logging.getLogger(__name__)


def _load_target(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class Registry:
    """A set of vendor plugins by name."""

    def __init__(self, plugins: Iterable[VendorPlugin] = ()) -> None:
        """Create a registry holding ``plugins``."""
        self._plugins: dict[str, VendorPlugin] = {}
        for plugin in plugins:
            self.add(plugin)

    def add(self, plugin: VendorPlugin) -> None:
        """Register ``plugin``; a second plugin with the same name is refused."""
        if not isinstance(plugin, VendorPlugin):
            raise TypeError(f"{plugin!r} is not a VendorPlugin instance")
        if plugin.name in self._plugins:
            raise ValueError(f"a vendor plugin named {plugin.name!r} is already registered")
        self._plugins[plugin.name] = plugin

    def get(self, name: str) -> VendorPlugin:
        """The plugin called ``name`` (case-insensitive); :class:`ConfigError` naming the known ones otherwise."""
        plugin = self._plugins.get(name.lower())
        if plugin is None:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise ConfigError(f"unknown vendor {name!r} (known: {known})")
        return plugin

    def names(self) -> list[str]:
        """Names of every registered plugin, sorted."""
        return sorted(self._plugins)

    def __iter__(self) -> Iterator[VendorPlugin]:
        """Plugins in name order."""
        return iter([self._plugins[n] for n in self.names()])

    def __len__(self) -> int:
        """Number of plugins."""
        return len(self._plugins)

    def __contains__(self, name: object) -> bool:
        """Whether a plugin called ``name`` is registered."""
        return isinstance(name, str) and name.lower() in self._plugins

    def match_advertisement(self, adv: Advertisement) -> list[VendorPlugin]:
        """Every plugin whose BLE matchers accept ``adv``."""
        return [p for p in self if p.matches_advertisement(adv)]


def _third_party_entry_points() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def load_registry(*, include_third_party: bool = True) -> Registry:
    """Build a registry of the built-ins and (unless disabled) every installed third-party plugin."""
    registry = Registry()
    for target in BUILTIN_PLUGINS.values():
        plugin = _load_target(target)
        assert isinstance(plugin, VendorPlugin)
        registry.add(plugin)
    if include_third_party:
        for ep in _third_party_entry_points():
            try:
                plugin = ep.load()
                if isinstance(plugin, type) and issubclass(plugin, VendorPlugin):
                    plugin = plugin()
                registry.add(plugin)
            except Exception as err:  # a broken third-party plugin must not break the built-ins
                _LOGGER.warning("skipping vendor plugin entry point %s (%s): %s", ep.name, ep.value, err)
    return registry


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry (built once, on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_registry()
    return _DEFAULT


def match_advertisement(adv: Advertisement) -> list[VendorPlugin]:
    """Plugins of the default registry that could be the device advertising ``adv``."""
    return default_registry().match_advertisement(adv)
