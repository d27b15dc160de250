#!/usr/bin/env python3
"""Build the release artifacts into dist/.

* ``dist/bms_gateway.zip`` - what HACS downloads for a release (``hacs.json``: ``zip_release`` + ``filename``):
  the files of ``custom_components/bms_gateway`` at the zip's root, which HACS unpacks into
  ``<config>/custom_components/bms_gateway``.
* ``dist/bms_gateway-<version>-py3-none-any.whl`` - the library the manifest's ``requirements``
  (``bms-gateway==<version>``) names; attach it to the release / publish it to PyPI.

Checks that the manifest's version and requirement pin match pyproject's version. Prints the two paths.
``scripts/check_release.py`` (run by ``scripts/test.sh`` and the release workflow) uses the same version check and
zip builder, and checks what they produce.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "custom_components" / "bms_gateway"
DISTRIBUTION = "bms-gateway"
#: Never shipped in the zip: bytecode and its caches.
JUNK_DIRS = frozenset({"__pycache__"})
JUNK_SUFFIXES = frozenset({".pyc", ".pyo"})


def project_version() -> str:
    """The one source of truth: ``pyproject.toml``'s ``[project] version``."""
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return version


def load_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def version_problems(version: str) -> list[str]:
    """How the integration's manifest disagrees with ``version`` (empty when it agrees)."""
    manifest = load_json(COMPONENT / "manifest.json")
    problems = []
    if manifest.get("version") != version:
        problems.append(f"manifest.json version is {manifest.get('version')!r}, pyproject.toml says {version!r}")
    pins = [req for req in manifest.get("requirements", []) if req.split("==", 1)[0].strip() == DISTRIBUTION]
    if pins != [f"{DISTRIBUTION}=={version}"]:
        problems.append(f"manifest.json requirements pin {DISTRIBUTION} as {pins}, want ['{DISTRIBUTION}=={version}']")
    return problems


def component_files() -> list[Path]:
    """The files of the integration folder that go into the zip (everything but bytecode caches)."""
    return [
        path
        for path in sorted(COMPONENT.rglob("*"))
        if path.is_file() and not JUNK_DIRS & set(path.parts) and path.suffix not in JUNK_SUFFIXES
    ]


def build_zip(dist: Path) -> Path:
    """Write the HACS zip (``hacs.json``'s ``filename``) into ``dist``: the integration folder's files at its root."""
    zip_path: Path = dist / str(load_json(ROOT / "hacs.json")["filename"])
    dist.mkdir(parents=True, exist_ok=True)
    zip_path.unlink(missing_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in component_files():
            zf.write(path, path.relative_to(COMPONENT).as_posix())
    return zip_path


def build(dist: Path) -> tuple[Path, Path]:
    """Build the zip and the wheel into ``dist``; return their paths."""
    version = project_version()
    problems = version_problems(version)
    if problems:
        sys.exit("build_release: " + "; ".join(problems))
    dist.mkdir(exist_ok=True)
    for old in dist.glob("bms_gateway-*.whl"):
        old.unlink()
    zip_path = build_zip(dist)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
    )
    wheels = sorted(dist.glob(f"bms_gateway-{version}-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"build_release: expected one wheel for {version} in {dist}, found {wheels}")
    return zip_path, wheels[0]


def main() -> None:
    """Build into ROOT/dist (or the folder given as the only argument)."""
    dist = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "dist"
    for path in build(dist):
        print(path)


if __name__ == "__main__":
    main()
