"""The one verified order of a settings write, shared by every vendor.

:func:`verified_write` runs: read the current settings → validate the change against the table (refused before any
byte: :class:`~vendor_plugins.errors.SettingsRefused`) → the vendor's write sequence (only the values that
differ) → read back → compare. A value that did not take, or one that changed without being asked, raises
:class:`~vendor_plugins.errors.ControlNotConfirmed` naming it. A link failure inside the vendor's sequence is
followed by one more read: :class:`~vendor_plugins.errors.SettingsPartiallyWritten` then says exactly which values
changed and which did not (or that the device could not be read again, naming every value that may have changed).
A device refusing part of the sequence is followed by the same read: if nothing changed, its own error stands.

The caller (``Session.write_settings``) has already checked the control opt-in, the values on their own and the
device (``confirm_device``); this module does no I/O of its own beyond the callables it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from .battery_settings import BmsSettings, SettingsTable, describe
from .errors import BmsError, ControlNotConfirmed, LinkError, SettingsPartiallyWritten

_LOGGER = logging.getLogger(__name__)

#: The vendor's write sequence: (current settings, target settings, names to write) → None; raises on failure.
WriteSequence = Callable[[BmsSettings, BmsSettings, tuple[str, ...]], Awaitable[None]]
#: Reads the device's settings (a fresh read every call).
ReadSettings = Callable[[], Awaitable[BmsSettings]]


def precheck(table: SettingsTable, changes: Mapping[str, object]) -> None:
    """Refuse bad names, read-only settings, out-of-range values and rules among the changes alone — no I/O.

    The full check against the device's current values follows in :func:`verified_write`.
    """
    table.validate(BmsSettings(vendor="", family=table.family, cell_count=None, values={}), changes)


async def verified_write(
    table: SettingsTable, changes: Mapping[str, object], *, read: ReadSettings, write: WriteSequence
) -> BmsSettings:
    """Validate, write only what differs, read back and confirm; returns the settings read back."""
    current = await read()
    target = table.validate(current, changes)
    names = table.changed(current, target)
    if not names:
        return current
    try:
        await write(current, target, names)
    except LinkError as err:
        raise await _after_link_failure(table, current, names, read, err) from err
    except BmsError as err:
        # The device refused part of the sequence: if anything changed all the same, say exactly what.
        partial = await _after_link_failure(table, current, names, read, err)
        if partial.changed or partial.unknown:
            raise partial from err
        raise
    after = await read()
    confirm(table, current, target, after, names)
    return after


def confirm(
    table: SettingsTable, before: BmsSettings, target: BmsSettings, after: BmsSettings, written: tuple[str, ...]
) -> None:
    """Raise :class:`ControlNotConfirmed` unless ``after`` shows every written value and nothing else changed."""
    not_taken = [name for name in written if not _same(table, name, target, after)]
    unexpected = [name for name in table.changed(before, after) if name not in written]
    if not not_taken and not unexpected:
        return
    parts = []
    if not_taken:
        parts.append(
            "did not take: "
            + ", ".join(f"{describe(n, target.values[n])} (reads {_shown(after, n)})" for n in not_taken)
        )
    if unexpected:
        parts.append(
            "changed without being asked: "
            + ", ".join(f"{n} {_shown(before, n)} -> {_shown(after, n)}" for n in unexpected)
        )
    raise ControlNotConfirmed("settings read back differ: " + "; ".join(parts), names=(*not_taken, *unexpected))


async def _after_link_failure(
    table: SettingsTable,
    before: BmsSettings,
    names: tuple[str, ...],
    read: ReadSettings,
    err: BmsError,
) -> SettingsPartiallyWritten:
    """Read back what we can after a failed write sequence and say exactly what changed."""
    try:
        after = await read()
    except BmsError as again:
        _LOGGER.debug("read-back after a failed settings write failed too: %s", again)
        return SettingsPartiallyWritten(
            f"the settings write failed ({err}) and the device could not be read back: "
            f"these values may or may not have changed: {', '.join(names)}",
            changed=(),
            unchanged=(),
            unknown=names,
        )
    changed = table.changed(before, after)
    unchanged = tuple(n for n in names if n not in changed)
    if not changed:
        message = f"the settings write failed ({err}); read back: nothing changed"
    else:
        message = (
            f"the settings write failed ({err}); read back: changed "
            + ", ".join(f"{n} {_shown(before, n)} -> {_shown(after, n)}" for n in changed)
            + (f"; unchanged {', '.join(unchanged)}" if unchanged else "")
        )
    return SettingsPartiallyWritten(message, changed=changed, unchanged=unchanged, unknown=())


def _same(table: SettingsTable, name: str, a: BmsSettings, b: BmsSettings) -> bool:
    if name not in a.values or name not in b.values:
        return False
    return table.spec(name).same(a.values[name], b.values[name])


def _shown(settings: BmsSettings, name: str) -> str:
    if name not in settings.values:
        return "nothing"
    return describe(name, settings.values[name]).split(" ", 1)[1]
