"""Changed-field dispatch: after a poll, only the entities whose snapshot field changed are told.

Home Assistant's coordinator calls every listener on every update, and every entity would then write its state. A
pack has dozens of entities and most values do not change from one poll to the next, so :class:`BmsCoordinator
<.coordinator.BmsCoordinator>` routes its listeners through a :class:`ChangedFieldDispatcher` instead. A listener
says what it shows through Home Assistant's own listener ``context`` (``CoordinatorEntity(coordinator, context)``):

* :class:`PackFields` ``(pack, fields)``: called when one of those snapshot fields of that pack changed, and when
  the pack's availability changed (a new or a vanished snapshot);
* anything else (``None``): called after every update — values that depend on time, not on one field (the energy
  meters).

Per pack, the listened fields are read with one precomputed getter (rebuilt when the pack's listeners change), and
a field whose value is the very same object as before (a register the vendor session did not decode again) is not
compared at all. An unchanged poll costs one comparison per listened field and calls no listener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, callback

from vendor_plugins.model import BmsSnapshot

from .poll import PackAddress

type SnapshotOf = Callable[[PackAddress], BmsSnapshot | None]


@dataclass(frozen=True, slots=True)
class PackFields:
    """A listener's context: the pack it belongs to and the snapshot fields its value derives from."""

    pack: PackAddress
    fields: tuple[str, ...]


#: What a pack's listeners were last told when they started from different snapshots: re-evaluate them all.
_STALE: Final = object()


class _PackRoute:
    """The listeners of one pack, by field, and what they were last told."""

    __slots__ = ("by_field", "published", "table")

    def __init__(self, published: object) -> None:
        self.by_field: dict[str, list[CALLBACK_TYPE]] = {}
        #: The snapshot the listeners were last told about (``None``: unavailable; ``_STALE``: see above).
        self.published = published
        #: (the listened fields' values of a snapshot as one tuple, the listeners of each field in that order);
        #: built on the first dispatch after the listeners changed.
        self.table: tuple[Callable[[object], tuple[Any, ...]], list[list[CALLBACK_TYPE]]] | None = None


class ChangedFieldDispatcher:
    """Tells each listener about a new poll only when what it shows changed (see the module docstring)."""

    def __init__(self, snapshot_of: SnapshotOf) -> None:
        """Dispatch the snapshots ``snapshot_of(pack)`` returns (``None``: the pack is unavailable)."""
        self._snapshot_of = snapshot_of
        self._routes: dict[PackAddress, _PackRoute] = {}
        #: Listeners told about every update.
        self._every_poll: list[CALLBACK_TYPE] = []

    @callback
    def async_add(self, update_callback: CALLBACK_TYPE, context: object) -> CALLBACK_TYPE:
        """Route ``update_callback`` by its ``context``; returns the function that removes it again."""
        if not isinstance(context, PackFields):
            self._every_poll.append(update_callback)
            return lambda: self._every_poll.remove(update_callback)
        pack = context.pack
        current = self._snapshot_of(pack)
        route = self._routes.get(pack)
        if route is None:
            route = self._routes[pack] = _PackRoute(current)
        elif not route.by_field:
            route.published = current
        elif route.published is not current:
            route.published = _STALE  # listeners of this pack started from different snapshots
        lists = [route.by_field.setdefault(field, []) for field in context.fields]
        for listeners in lists:
            listeners.append(update_callback)
        route.table = None

        @callback
        def remove() -> None:
            for field, listeners in zip(context.fields, lists, strict=True):
                listeners.remove(update_callback)
                if not listeners:
                    del route.by_field[field]
            route.table = None

        return remove

    @callback
    def async_dispatch(self) -> None:
        """Tell the listeners whose field (or pack availability) changed since the last dispatch."""
        for update_callback in self._every_poll:
            update_callback()
        snapshot_of = self._snapshot_of
        for pack, route in self._routes.items():
            new = snapshot_of(pack)
            old = route.published
            if new is old:
                continue
            route.published = new
            by_field = route.by_field
            if new is None or old is None or old is _STALE:  # availability changed: every listener looks
                for listeners in by_field.values():
                    for update_callback in listeners:
                        update_callback()
                continue
            table = route.table
            if table is None:
                if not by_field:
                    continue
                table = route.table = (_values_of(tuple(by_field)), list(by_field.values()))
            values, listener_lists = table
            # One C-level read of every listened field of each snapshot; a field whose value is the very same object
            # (a register the session did not decode again) needs no comparison.
            for listeners, new_value, old_value in zip(listener_lists, values(new), values(old), strict=True):
                if new_value is not old_value and new_value != old_value:
                    for update_callback in listeners:
                        update_callback()


def _values_of(fields: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """A function returning the values of ``fields`` of a snapshot, as a tuple in that order."""
    if len(fields) == 1:
        single = attrgetter(fields[0])
        return lambda snapshot: (single(snapshot),)
    return attrgetter(*fields)


__all__ = ["ChangedFieldDispatcher", "PackFields"]
