"""Text a device supplies, made safe before Home Assistant shows or stores it.

A pack reports its model, versions and serial number; a Bluetooth advertiser or a USB adapter names itself. None of
that is trusted: it may be long, carry control characters (terminal escapes, line breaks, bidirectional overrides)
or markup. Every such string goes through this module before it reaches Home Assistant:

* :func:`plain` — for the device registry and selector labels: control and format characters removed (line and
  paragraph breaks become spaces), whitespace collapsed, ``<`` and ``>`` removed (no HTML wherever a card or
  template renders the value), at most :data:`MAX_TEXT` characters (longer text ends in ``…``).
* :func:`markdown_safe` — for placeholders Home Assistant renders as Markdown (the discovery title, the confirm
  dialog): :func:`plain`, and the characters that make Markdown links, images, HTML, code and emphasis removed.

Normal values (``SP16S020``, ``BMS-SIM-16S``, ``V1.2``, ``SIM010001``) come through unchanged.
"""

from __future__ import annotations

import unicodedata
from typing import Final

#: The longest device-supplied text kept, in characters (a model, a version, a serial number, a Bluetooth name:
#: real ones are far shorter — a Bluetooth advertised name fits in 29 bytes).
MAX_TEXT: Final = 64
#: Removed everywhere: HTML tags cannot form.
_HTML: Final = frozenset("<>")
#: Also removed where Markdown is rendered: links and images ``[..](..)`` / ``![..]``, code, emphasis, headings,
#: tables, escapes, autolinks and HTML.
_MARKDOWN: Final = _HTML | frozenset("[]()!`*~|#\\{}")
#: Unicode categories dropped: control, format (bidirectional overrides, zero-width), surrogates, private use,
#: unassigned.
_DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
#: Categories that become a space: line and paragraph separators (and tabs and newlines, before the drop).
_SPACES: Final = frozenset({"Zl", "Zp", "Zs"})


def _clean(value: object, removed: frozenset[str], limit: int) -> str:
    out: list[str] = []
    for char in str(value):
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f" or category in _SPACES:
            out.append(" ")
        elif category not in _DROPPED_CATEGORIES and char not in removed:
            out.append(char)
    text = " ".join("".join(out).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as one bounded line of text without control characters or HTML brackets."""
    return _clean(value, _HTML, limit)


def plain_or_none(value: object | None, limit: int = MAX_TEXT) -> str | None:
    """:func:`plain`, keeping ``None`` (and text that is empty once cleaned) as ``None``."""
    if value is None:
        return None
    return plain(value, limit) or None


def markdown_safe(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` for a Markdown-rendered placeholder: :func:`plain`, without Markdown or HTML markup characters."""
    return _clean(value, _MARKDOWN, limit)


__all__ = ["MAX_TEXT", "markdown_safe", "plain", "plain_or_none"]
