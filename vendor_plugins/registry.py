"""The vendor registry: every plugin, built-in or third-party, found through the entry points ``bms_gateway.vendors``.

Each entry point must load a :class:`~vendor_plugins.plugin.VendorPlugin` instance. The built-in vendors are declared
in this project's own ``pyproject.toml`` exactly as a third-party package declares its own: nothing here names them.
A built-in entry point is one whose target lives in this package; it must load (a broken built-in is a bug, raised).
A broken third-party plugin is logged and skipped — it never takes the built-ins down with it.

Run from a source tree that was never installed (no distribution metadata), the built-ins are found by package
discovery instead: every sub-package of ``vendor_plugins`` with a ``plugin`` module exporting ``PLUGIN``.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points

from .errors import ConfigError
from .plugin import Advertisement, VendorPlugin

ENTRY_POINT_GROUP = "bms_gateway.vendors"
#: Entry points whose target starts with this are built-ins (this package's own).
_BUILTIN_PREFIX = f"{__package__}."

_LOGGER = logging.getLogger(__name__)


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


def _entry_points() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _is_builtin(ep: EntryPoint) -> bool:
    return ep.value.startswith(_BUILTIN_PREFIX)


def _as_plugin(loaded: object) -> VendorPlugin:
    plugin = loaded() if isinstance(loaded, type) and issubclass(loaded, VendorPlugin) else loaded
    if not isinstance(plugin, VendorPlugin):
        raise TypeError(f"{loaded!r} is not a VendorPlugin instance")
    return plugin


def _discovered_builtins() -> list[VendorPlugin]:
    """Built-ins by package discovery (a source tree without installed metadata)."""
    package = importlib.import_module(__package__ or "vendor_plugins")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"{package.__name__}.{info.name}.plugin")
        except ModuleNotFoundError as err:
            if err.name != f"{package.__name__}.{info.name}.plugin":
                raise
            continue
        if hasattr(module, "PLUGIN"):
            found.append(_as_plugin(module.PLUGIN))
    return found


def load_registry(*, include_third_party: bool = True) -> Registry:
    """Build a registry of the built-ins and (unless disabled) every installed third-party plugin."""
    registry = Registry()
    eps = _entry_points()
    builtins = [ep for ep in eps if _is_builtin(ep)]
    if builtins:
        for ep in builtins:
            registry.add(_as_plugin(ep.load()))
    else:
        for plugin in _discovered_builtins():
            registry.add(plugin)
    if include_third_party:
        for ep in eps:
            if _is_builtin(ep):
                continue
            try:
                registry.add(_as_plugin(ep.load()))
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
