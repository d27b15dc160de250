#!/usr/bin/env python3
"""Regenerate ``custom_components/bms_gateway/manifest.json``: Bluetooth matchers, version and requirement pin.

The manifest's ``version`` and its ``bms-gateway==`` requirement pin are ``pyproject.toml``'s version (the one
source of truth): bump the version there, then run this script.

Home Assistant's manifest matchers can express only part of what the library matches on: no MAC OUIs, no
conditions on manufacturer data beyond its start, and a ``local_name`` pattern needs at least three literal leading
characters. The manifest then carries what is expressible of such a matcher (e.g. an OUI matcher's service UUID) as
a pre-filter; the library's precise identification (the config flow runs it on every advertisement Home Assistant
forwards) decides, and the flow aborts for a device no plugin recognises. A matcher with nothing expressible is left
out of the manifest.
Run ``python scripts/gen_manifest.py`` after adding a vendor or a matcher; ``--check`` exits 1 when the manifest is
out of date (the test suite checks the same).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "custom_components" / "bms_gateway" / "manifest.json"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vendor_plugins.plugin import BleMatcher  # noqa: E402
from vendor_plugins.registry import Registry, load_registry  # noqa: E402

_WILDCARDS = set("*?[")


def ha_matcher(matcher: BleMatcher) -> dict[str, Any] | None:
    """The Home Assistant pre-filter for ``matcher`` (its expressible criteria), ``None`` when none is expressible."""
    out: dict[str, Any] = {}
    if matcher.local_name is not None and len(matcher.local_name) >= 3 and not _WILDCARDS & set(matcher.local_name[:3]):
        out["local_name"] = matcher.local_name
    if matcher.manufacturer_id is not None:
        out["manufacturer_id"] = matcher.manufacturer_id
    if matcher.service_uuid is not None:
        out["service_uuid"] = matcher.service_uuid.lower()
    return out or None


def bluetooth_matchers(registry: Registry) -> list[dict[str, Any]]:
    """Every expressible matcher of every plugin, deduplicated, in a stable order."""
    found: dict[str, dict[str, Any]] = {}
    for plugin in registry:
        for matcher in plugin.ble_matchers:
            converted = ha_matcher(matcher)
            if converted is not None:
                found[json.dumps(converted, sort_keys=True)] = converted
    return [found[key] for key in sorted(found)]


def project_version() -> tuple[str, str]:
    """``pyproject.toml``'s distribution name and version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["name"]), str(project["version"])


def render(manifest: dict[str, Any], registry: Registry) -> str:
    """The manifest text with regenerated ``bluetooth``, ``version`` and ``bms-gateway==`` pin.

    Keys in hassfest's order: domain, name, then sorted.
    """
    updated = dict(manifest)
    updated["bluetooth"] = bluetooth_matchers(registry)
    name, version = project_version()
    updated["version"] = version
    others = [req for req in manifest.get("requirements", []) if req.split("==", 1)[0].strip() != name]
    updated["requirements"] = [f"{name}=={version}", *others]
    ordered = {"domain": updated.pop("domain"), "name": updated.pop("name")}
    ordered.update(sorted(updated.items()))
    return json.dumps(ordered, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the manifest (or, with ``--check``, report whether it is current)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the manifest is out of date")
    args = parser.parse_args(argv)
    current = MANIFEST.read_text(encoding="utf-8")
    wanted = render(json.loads(current), load_registry(include_third_party=False))
    if args.check:
        if current != wanted:
            print(f"{MANIFEST.relative_to(ROOT)} is out of date: run scripts/gen_manifest.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        MANIFEST.write_text(wanted, encoding="utf-8")
        print(f"updated {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
