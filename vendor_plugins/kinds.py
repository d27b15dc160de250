"""What a link is, as both the plugin contract and the links name it: its kind, and for Bluetooth the GATT profile.

Its own module so that links (:mod:`vendor_plugins.transports`) and the plugin contract (:mod:`vendor_plugins.plugin`,
which re-exports both names) can each use them without importing the other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LinkKind(enum.StrEnum):
    """Kinds of transport a plugin can run over."""

    BLE = "ble"
    SERIAL = "serial"
    TCP = "tcp"
    MODBUS = "modbus"


@dataclass(frozen=True, slots=True)
class BleProfile:
    """GATT characteristics a plugin talks through."""

    service_uuid: str
    notify_uuid: str
    write_uuid: str
