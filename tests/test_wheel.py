"""The wheel a user installs: the library with its vendor plugins' entry points, and no test machinery.

The wheel is built once per run (a few seconds) from a copy of the checkout, with pip and the build backend the
project declares (``pyproject.toml``), as ``scripts/build_release.py`` builds the release wheel. Fault injection,
truth recording, reliability rigs and bus-outage scenarios live in :mod:`tests.support`: nothing of them, of
``tests/``, ``benchmarks/`` or ``fuzz/`` may be in the wheel, and nothing in it may import them.
"""

from __future__ import annotations

import ast
import configparser
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = ROOT / "tests" / "support"
#: Where the test machinery lived before it moved to tests/support (and the names it had there).
OLD_HOMES = {f"vendor_plugins/sim/{name}.py" for name in ("faults", "reliability", "truth", "bus_outage", "modbus")}
#: Never copied into the build tree: caches, environments, earlier builds, browser tooling.
SKIP = shutil.ignore_patterns(
    *(".git", ".venv", ".demo", "dist", "build", "*.egg-info", "test-output"),
    *("__pycache__", "*.pyc", ".*_cache", "node_modules"),
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel built from a copy of this checkout (the checkout itself stays free of build output)."""
    base = tmp_path_factory.mktemp("wheel")
    source, out = base / "source", base / "dist"
    shutil.copytree(ROOT, source, ignore=SKIP)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=240,
    )
    (path,) = out.glob("*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


def _py_files(wheel: zipfile.ZipFile) -> dict[str, ast.Module]:
    return {name: ast.parse(wheel.read(name)) for name in wheel.namelist() if name.endswith(".py")}


def _classes(tree: ast.Module) -> set[str]:
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


def _imported(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.timeout(300)
def test_the_wheel_ships_the_library_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert tops - dist_info == {"vendor_plugins"}, tops
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "fuzz/"))]
    assert "vendor_plugins/sim/serving.py" in names  # the simulators and their serving stay: bmsgw simulate
    assert "vendor_plugins/py.typed" in names


@pytest.mark.timeout(300)
def test_no_fault_injection_rig_truth_or_bus_outage_module_is_shipped(wheel: zipfile.ZipFile) -> None:
    """Not at the old paths, not anywhere: no shipped module defines a class of tests/support (so give those
    distinctive names) or imports from ``tests``."""
    names = set(wheel.namelist())
    assert not names & OLD_HOMES, names & OLD_HOMES
    support = {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in SUPPORT.glob("*.py")}
    assert {"faults", "rigs", "truth", "bus_outage"} <= set(support)
    machinery = set().union(*(_classes(tree) for tree in support.values()))
    assert {"FaultInjector", "FaultPlan", "Rig", "TruthRecorder", "TruthReplayLink", "FaultyBus"} <= machinery
    for name, tree in _py_files(wheel).items():
        shipped = _classes(tree) & machinery
        assert not shipped, f"{name} defines test machinery: {sorted(shipped)}"
        imports = {m for m in _imported(tree) if m == "tests" or m.startswith("tests.")}
        assert not imports, f"{name} imports test code: {sorted(imports)}"


@pytest.mark.timeout(300)
def test_the_vendor_plugins_entry_points_are_in_the_metadata(wheel: zipfile.ZipFile) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["entry-points"]["bms_gateway.vendors"]
    assert declared  # the built-in vendors register through the same group as third-party ones
    (path,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    metadata = configparser.ConfigParser(delimiters=("=",))
    metadata.optionxform = str  # type: ignore[assignment,method-assign]
    metadata.read_string(wheel.read(path).decode())
    assert dict(metadata["bms_gateway.vendors"]) == declared
    assert dict(metadata["console_scripts"]) == project["scripts"]
    names = set(wheel.namelist())
    for target in declared.values():
        module = target.split(":", 1)[0]
        assert f"{module.replace('.', '/')}.py" in names, f"entry point {target} is not in the wheel"
