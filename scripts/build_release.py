#!/usr/bin/env python3
"""Build the release artifacts into dist/.

* ``dist/bms_gateway.zip`` - what HACS downloads for a release (``hacs.json``: ``zip_release`` + ``filename``):
  the files of ``custom_components/bms_gateway`` at the zip's root, which HACS unpacks into
  ``<config>/custom_components/bms_gateway``.
* ``dist/bms_gateway-<version>-py3-none-any.whl`` - the library the manifest's ``requirements``
  (``bms-gateway==<version>``) names; attach it to the release / publish it to PyPI.

Checks that the manifest's version and requirement pin match pyproject's version. Prints the two paths.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "custom_components" / "bms_gateway"


def build(dist: Path) -> tuple[Path, Path]:
    """Build the zip and the wheel into ``dist``; return their paths."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    hacs = json.loads((ROOT / "hacs.json").read_text())
    if manifest["version"] != version or f"bms-gateway=={version}" not in manifest["requirements"]:
        sys.exit(f"build_release: manifest version/requirements do not match pyproject version {version}")
    dist.mkdir(exist_ok=True)
    for old in [*dist.glob("bms_gateway-*.whl"), dist / hacs["filename"]]:
        old.unlink(missing_ok=True)
    zip_path = dist / hacs["filename"]
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(COMPONENT.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                zf.write(path, path.relative_to(COMPONENT).as_posix())
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
