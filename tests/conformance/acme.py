"""Installing the minimal third-party plugin (``third_party/acme_bms``) the way pip would, into a temp site dir.

The package is copied next to an ``acme_bms-0.1.dist-info`` whose ``entry_points.txt`` declares it in the group
``bms_gateway.vendors``; with that directory on ``sys.path`` (in-process) or ``PYTHONPATH`` (a ``bmsgw`` process) the
registry finds it exactly as it finds an installed wheel's plugin. Nothing in the product is told about it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from vendor_plugins.plugin import VendorPlugin
from vendor_plugins.registry import ENTRY_POINT_GROUP, load_registry

NAME = "acme"
PACKAGE = "acme_bms"
SOURCE = Path(__file__).resolve().parent / "third_party" / PACKAGE


def install(site: Path) -> Path:
    """Lay the package and its distribution metadata out in ``site``; returns ``site``."""
    shutil.copytree(SOURCE, site / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    info = site / f"{PACKAGE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PACKAGE.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{NAME} = {PACKAGE}.plugin:PLUGIN\n")
    return site


def _forget_package() -> None:
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[module]


@contextlib.contextmanager
def on_path(site: Path) -> Iterator[None]:
    """The package installed in ``site``, on ``sys.path`` for the block; forgotten again afterwards."""
    install(site)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        _forget_package()
        importlib.invalidate_caches()


@contextlib.contextmanager
def installed(site: Path) -> Iterator[VendorPlugin]:
    """The plugin as the registry loads it from its entry point, while installed in ``site``."""
    with on_path(site):
        yield load_registry().get(NAME)


def process_env(site: Path) -> dict[str, str]:
    """The environment of a ``bmsgw`` process that has the package installed in ``site``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONWARNINGS", None)
    return env
