"""Which packs a command talks to (``--address N|all``), read through the library's one pack reader.

``read`` and ``capture`` read through :class:`~vendor_plugins.reader.PackReader`: one pack (the vendor's default
address, or ``--address N``), or with ``--address all`` on a bus vendor a scan of :data:`SCAN_ADDRESSES` followed by
polling the packs that answered. The ``--json`` document is built from :meth:`PackResult.to_dict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..plugin import Session, VendorPlugin
from ..reader import PackReader, PackResult
from .arguments import AddressSpec

#: Addresses ``probe --address all`` tries on a multi-address bus (up to 15 packs behind one connection).
BUS_ADDRESSES: tuple[int, ...] = tuple(range(1, 16))
#: Addresses ``read --address all`` scans first (a lone pack may sit at 0).
SCAN_ADDRESSES: tuple[int, ...] = tuple(range(16))


def pack_address(session: Session, address: AddressSpec) -> int | None:
    """The one pack a command talks to: ``--address N``, else the session's default."""
    return address if isinstance(address, int) else session.default_address


def reader_for(plugin: VendorPlugin, session: Session, address: AddressSpec) -> PackReader:
    """``--address all`` on a bus vendor scans the bus first; anything else reads one pack."""
    if address == "all" and plugin.capabilities.multi_address:
        return PackReader.scanning(session, SCAN_ADDRESSES)
    return PackReader(session, [pack_address(session, address)])


def read_document(
    plugin: VendorPlugin, family: str | None, transport: str, packs: Sequence[PackResult]
) -> dict[str, Any]:
    """The ``bmsgw read --json`` document (INTERFACES.md §4)."""
    return {"vendor": plugin.name, "family": family, "transport": transport, "packs": [p.to_dict() for p in packs]}
