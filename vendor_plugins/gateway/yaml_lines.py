"""YAML loading that remembers where every key was written, so a config error can name file, line and key.

:func:`load` returns plain dicts and lists (PyYAML's safe loader: no tags, no objects) whose mappings are
:class:`LineDict` — a ``dict`` that also knows the line of each key. :func:`line_of` walks a voluptuous-style path
(keys and list indexes) to the line of its last element.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[Any, Any]):
    """A mapping from YAML with the (1-based) line of each key and of the mapping itself."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence from YAML with the (1-based) line of each item and of the sequence itself."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """The safe loader, recording lines."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or a mapping", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class YamlError(ValueError):
    """The file is not valid YAML: ``line`` (1-based, 0 when unknown) and a reason."""

    def __init__(self, line: int, reason: str) -> None:
        """Where and why."""
        super().__init__(reason)
        self.line = line
        self.reason = reason


def load(path: Path) -> Any:
    """The YAML document in ``path`` (mappings as :class:`LineDict`); :class:`YamlError` when it does not parse."""
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 0
        reason = " ".join(str(part) for part in (err.context, err.problem) if part)
        raise YamlError(line, reason or "not valid YAML") from None
    except yaml.YAMLError as err:
        raise YamlError(0, str(err).splitlines()[0] if str(err) else "not valid YAML") from None


def line_of(data: Any, path: Sequence[Any]) -> int:
    """The line of the last element of ``path`` (keys and indexes) in ``data``; the closest known line."""
    line = getattr(data, "line", 0)
    node = data
    for step in path:
        if isinstance(node, LineDict):
            line = node.key_lines.get(step, line)
            node = node.get(step)
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
    return line


def dotted(path: Sequence[Any]) -> str:
    """``connections[0].tcp`` for ``["connections", 0, "tcp"]``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(top level)"
