"""Every codec entry point that takes bytes from the wire, as ``name -> callable(bytes)`` (for the fuzzers).

The entry points and their seeds are the plugins' own (:meth:`~vendor_plugins.plugin.VendorPlugin.fuzz_targets`,
:meth:`~vendor_plugins.plugin.VendorPlugin.fuzz_seeds`), named ``<plugin>.<target>``: a new vendor is fuzzed without
a line here. A target must return or raise a :class:`~vendor_plugins.errors.BmsError`; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Callable

from vendor_plugins.registry import load_registry

_PLUGINS = list(load_registry(include_third_party=False))

#: ``<plugin>.<target>`` -> the entry point.
TARGETS: dict[str, Callable[[bytes], object]] = {
    f"{plugin.name}.{target.name}": target.run for plugin in _PLUGINS for target in plugin.fuzz_targets()
}


def seeds() -> list[bytes]:
    """Valid frames and payloads of every codec (from the simulators), to mutate."""
    return [seed for plugin in _PLUGINS for seed in plugin.fuzz_seeds()]
