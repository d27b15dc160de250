"""Architecture rules that keep the house easy to extend (DEVELOPERS.md; issue 15), checked on the source tree.

(a) **A vendor is one folder.** Outside ``vendor_plugins/<vendor>/`` no file of ``vendor_plugins/``, nor of
    ``custom_components/``, ``fuzz/`` or ``scripts/``, names a built-in vendor — in code, strings, docstrings or
    comments, in any letter case, also inside identifiers (``JbdSession``, ``pace_bus``, ``HIXIMI``). The built-in
    names are the registry's. Every exception is listed in :data:`ALLOWED` with its reason. Cross-vendor imports
    *inside* vendor folders are not this rule's business (a vendor that speaks another vendor's protocol reuses that
    vendor's code rather than copying it); they are pinned by their own test instead: the only ones allowed are in
    :data:`VENDOR_DEPENDENCIES`, and none may form a circle.
(b) **No import circles** among the modules of ``vendor_plugins`` nor among those of ``custom_components.bms_gateway``:
    every import counts — module level, inside functions (they run later, but a circle through them is still a
    circle), relative or absolute, and those under ``if TYPE_CHECKING:`` (the issue's own example, coordinator →
    repairs → bus_growth → coordinator, was one). A ``TYPE_CHECKING`` import never executes, so it may close a circle
    only when it is listed in :data:`TYPE_ONLY_EDGES` with its reason (none in the integration). A submodule import's
    parent packages (which Python initialises first) are not edges: a package ``__init__`` re-exporting its modules
    would otherwise put each of them in a circle with it.
(c) **No god modules**: no Python module in ``vendor_plugins`` or ``custom_components`` over 500 lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from vendor_plugins.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "vendor_plugins"
INTEGRATION = ROOT / "custom_components" / "bms_gateway"
BUILTIN_VENDORS = frozenset(load_registry(include_third_party=False).names())
MAX_LINES = 500

#: (a) Lines allowed to name a built-in vendor: (path relative to the root, a substring of the line) → why.
ALLOWED: dict[tuple[str, str], str] = {
    # Home Assistant reads Bluetooth matchers only from this static file; scripts/gen_manifest.py writes it from the
    # plugins' own BLE matchers and test_manifest.py fails when it drifts. "JBD-*" is the name pattern JBD boards
    # advertise (a device's name, data the plugin owns), not the integration naming a vendor.
    ("custom_components/bms_gateway/manifest.json", '"local_name": "JBD-*"'): "generated from the plugins' matchers",
}

#: (a) Imports between built-in vendor folders, each with its reason. Anything else is a new coupling to justify.
VENDOR_DEPENDENCIES: dict[str, dict[str, str]] = {
    "hiximi": {
        "jbd": "a HiXiMi unit speaks JBD's protocol: its family is read by JBD's session, codec and simulator",
        "daly": "or DALY's (D2 / A5): read by DALY's session, codec and simulator, with DALY's host-address option",
    },
}

#: (b) ``TYPE_CHECKING``-only imports allowed to close a circle: (importer, imported) → why.
TYPE_ONLY_EDGES: dict[tuple[str, str], str] = {}

_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


# --- (a) vendor names ---------------------------------------------------------------------------------------------
def named_vendors(line: str, vendors: frozenset[str] = BUILTIN_VENDORS) -> set[str]:
    """The built-in vendors ``line`` names as a word: whole words, parts of identifiers split at ``_``, digits and
    camel case, in any letter case (``JBD``, ``jbd_codec``, ``PaceRtuSimulator``, ``HiXiMi``); never inside another
    word (``namespace``, ``pacing``).
    """
    found: set[str] = set()
    for token in _ALNUM.findall(line):
        if token.lower() in vendors:
            found.add(token.lower())
            continue
        pieces = [p.lower() for p in _PIECE.findall(token)]
        for start in range(len(pieces)):
            joined = ""
            for piece in pieces[start:]:
                joined += piece
                if joined in vendors:
                    found.add(joined)
                if len(joined) >= max(map(len, vendors)):
                    break
    return found


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not _SKIP_DIRS & set(path.relative_to(ROOT).parts):
            yield path


def _vendor_neutral_files() -> Iterator[Path]:
    """Every file the rule covers: the library outside the built-in vendor folders, the integration, fuzz, scripts."""
    vendor_folders = {LIBRARY / name for name in BUILTIN_VENDORS}
    for path in _files(LIBRARY):
        if not any(folder in path.parents for folder in vendor_folders):
            yield path
    for folder in (ROOT / "custom_components", ROOT / "fuzz", ROOT / "scripts"):
        yield from _files(folder)


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # images and other binary files say nothing
        return None


def test_the_name_matcher() -> None:
    vendors = frozenset({"jbd", "pace", "hiximi", "daly"})
    assert named_vendors("JbdSession, pace_bus, HIXIMI, HiXiMiSession, a DALY pack, jbd2", vendors) == set(vendors)
    assert named_vendors("namespace, pacing, space, daily, jbdx, xjbd, replace", vendors) == set()
    assert named_vendors("# --vendor NAME: a bus vendor speaks Modbus", vendors) == set()


def test_no_file_outside_a_vendor_folder_names_a_builtin_vendor() -> None:
    assert {"daly", "hiximi", "jbd", "pace"} <= BUILTIN_VENDORS
    hits: list[str] = []
    used: set[tuple[str, str]] = set()
    checked = 0
    for path in _vendor_neutral_files():
        text = _text(path)
        if text is None:
            continue
        checked += 1
        where = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(text.splitlines(), 1):
            names = named_vendors(line)
            if not names:
                continue
            allowed = [key for key in ALLOWED if key[0] == where and key[1] in line]
            if allowed:
                used.update(allowed)
                continue
            hits.append(f"{where}:{number}: {', '.join(sorted(names))}: {line.strip()[:100]}")
    assert checked > 50
    assert not hits, f"{len(hits)} line(s) name a built-in vendor outside its folder:\n" + "\n".join(hits)
    assert used == set(ALLOWED), f"allow-list entries no longer needed: {set(ALLOWED) - used}"


def _imported_vendors(folder: Path) -> set[str]:
    """The other built-in vendor folders the modules of ``folder`` import."""
    found: set[str] = set()
    for path in folder.glob("*.py"):
        for target in _imports(path, _module_name(path)):
            parts = target.split(".")
            if len(parts) > 1 and parts[0] == LIBRARY.name and parts[1] in BUILTIN_VENDORS and parts[1] != folder.name:
                found.add(parts[1])
    return found


def test_cross_vendor_imports_are_the_justified_ones() -> None:
    graph = {name: _imported_vendors(LIBRARY / name) for name in BUILTIN_VENDORS}
    assert graph == {name: set(VENDOR_DEPENDENCIES.get(name, {})) for name in BUILTIN_VENDORS}
    assert not _cycles(graph), "vendor folders import each other in a circle"


# --- (b) import circles -------------------------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in ``tree`` at any depth, each with whether it sits under ``if TYPE_CHECKING:``."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, typing_only = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, typing_only
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend((child, True) for child in node.body)
            stack.extend((child, typing_only) for child in node.orelse)
            continue
        stack.extend((child, typing_only) for child in ast.iter_child_nodes(node))


def _imports(path: Path, module: str) -> dict[str, bool]:
    """What the module at ``path`` imports: dotted name → whether only under ``TYPE_CHECKING``.

    Relative imports are resolved; ``from p import m`` of a submodule ``m`` counts as importing ``p.m``, of any other
    name as importing ``p``.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: dict[str, bool] = {}

    def add(target: str, typing_only: bool) -> None:
        targets[target] = targets.get(target, True) and typing_only

    for node, typing_only in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, typing_only)
            continue
        if node.level:
            base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            add(candidate if _exists(candidate) else base, typing_only)
    return targets


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph(package: Path) -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Import edges between the modules of ``package`` (every ``.py`` below it), and which edges are type-only."""
    modules = {_module_name(p): p for p in _files(package) if p.suffix == ".py"}
    graph: dict[str, set[str]] = {}
    type_only: set[tuple[str, str]] = set()
    for name, path in modules.items():
        edges: dict[str, bool] = {}
        for target, typing_only in _imports(path, name).items():
            while target and target not in modules:  # an attribute of a module, or a module outside the package
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[target] = edges.get(target, True) and typing_only
        graph[name] = set(edges)
        type_only |= {(name, target) for target, only in edges.items() if only}
    return graph, type_only


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted; a self-loop is ignored."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _describe(graph: dict[str, set[str]], cycle: list[str]) -> str:
    members = set(cycle)
    edges = [f"{a} -> {b}" for a in cycle for b in sorted(graph[a] & members)]
    return "circle: " + "; ".join(edges)


def test_the_cycle_finder() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", [LIBRARY, INTEGRATION], ids=["vendor_plugins", "custom_components.bms_gateway"])
def test_no_import_circles(package: Path) -> None:
    graph, type_only = _graph(package)
    assert len(graph) > 10 and any(graph.values())
    allowed = {edge for edge in TYPE_ONLY_EDGES if edge[0] in graph}
    assert allowed <= type_only, f"allowed type-only imports now run, or are gone: {allowed - type_only}"
    for importer, imported in allowed:
        graph[importer].discard(imported)
    cycles = _cycles(graph)
    assert not cycles, "\n".join(_describe(graph, cycle) for cycle in cycles)


def test_allowed_type_only_imports_do_close_a_circle() -> None:
    """Each entry of :data:`TYPE_ONLY_EDGES` is still needed: with it the library has a circle."""
    graph, _ = _graph(LIBRARY)
    cycles = _cycles(graph)
    for importer, imported in TYPE_ONLY_EDGES:
        assert imported in graph[importer], f"{importer} no longer imports {imported}: drop it from TYPE_ONLY_EDGES"
        assert any({importer, imported} <= set(cycle) for cycle in cycles), f"{importer} -> {imported} closes no circle"


# --- (c) module size ----------------------------------------------------------------------------------------------
def test_no_module_over_500_lines() -> None:
    too_long = {
        path.relative_to(ROOT).as_posix(): lines
        for package in (LIBRARY, ROOT / "custom_components")
        for path in _files(package)
        if path.suffix == ".py" and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
