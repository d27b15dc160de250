"""The gateway's MQTT topics (INTERFACES.md §5): everything under ``<topic_prefix>/<gateway_id>/``.

* ``…/status`` — the gateway's availability, ``online`` / ``offline`` (retained; ``offline`` is also its last will);
* ``…/<pack>/availability`` — one pack's availability (retained);
* ``…/<pack>/<key>`` — one entity's state (retained), ``key`` = the integration's unique-id suffix;
* ``…/<pack>/<key>/set`` — the command topic of a switch, a setting or ``set_soc`` (acted on only with control);
* ``…/<pack>/alarm_events`` — alarm/warning raised/cleared events (not retained);
* ``…/<pack>/command_error`` — the last refused or failed command, one line (not retained);
* ``<discovery_prefix>/<component>/bmsgw_<gateway_id>/<pack>_<key>/config`` — Home Assistant discovery (retained);
  the gateway's own device: ``…/bmsgw_<gateway_id>/<key>/config``.

``<pack>`` is the connection's name, plus ``_<address>`` for addressed packs on a bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ONLINE: Final = "online"
OFFLINE: Final = "offline"
SET: Final = "set"


def pack_id(connection: str, address: int | None) -> str:
    """The topic level of one pack: the connection's name, plus the bus address for addressed packs."""
    return connection if address is None else f"{connection}_{address}"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one gateway."""

    prefix: str
    discovery_prefix: str
    gateway_id: str

    @property
    def base(self) -> str:
        """``<prefix>/<gateway_id>``."""
        return f"{self.prefix}/{self.gateway_id}"

    @property
    def status(self) -> str:
        """The gateway's availability (and last will)."""
        return f"{self.base}/status"

    @property
    def node_id(self) -> str:
        """The discovery node id of this gateway."""
        return f"bmsgw_{self.gateway_id}"

    def unique_id(self, pack: str, key: str | None = None) -> str:
        """Unique id of a pack (device) or of one of its entities."""
        base = f"{self.node_id}_{pack}"
        return base if key is None else f"{base}_{key}"

    def unique_id_gateway(self, key: str) -> str:
        """Unique id of one entity of the gateway's own device (no pack's: those always have a ``_<pack>_`` part)."""
        return f"{self.node_id}__{key}"

    def gateway_discovery(self, component: str, key: str) -> str:
        """The discovery config topic of one entity of the gateway's own device (pack entities: ``<pack>_<key>``)."""
        return f"{self.discovery_prefix}/{component}/{self.node_id}/{key}/config"

    def availability(self, pack: str) -> str:
        """One pack's availability."""
        return f"{self.base}/{pack}/availability"

    def state(self, pack: str, key: str) -> str:
        """One entity's state."""
        return f"{self.base}/{pack}/{key}"

    def command(self, pack: str, key: str) -> str:
        """One switch's command topic."""
        return f"{self.base}/{pack}/{key}/{SET}"

    def events(self, pack: str) -> str:
        """One pack's alarm events."""
        return f"{self.base}/{pack}/alarm_events"

    def command_error(self, pack: str) -> str:
        """Where a refused or failed command of one pack is reported."""
        return f"{self.base}/{pack}/command_error"

    def discovery(self, component: str, pack: str, key: str) -> str:
        """The discovery config topic of one entity."""
        return f"{self.discovery_prefix}/{component}/{self.node_id}/{pack}_{key}/config"

    @property
    def command_filter(self) -> str:
        """The subscription covering every command topic of this gateway (and nothing else)."""
        return f"{self.base}/+/+/{SET}"

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """``(pack, key)`` of one of this gateway's command topics, else ``None``."""
        head = f"{self.base}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 3 or parts[2] != SET or not parts[0] or not parts[1]:
            return None
        return parts[0], parts[1]
