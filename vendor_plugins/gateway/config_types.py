"""What a checked gateway config file says: the broker, the connections, the topics (:mod:`.config` builds these).

The broker password never shows in a ``repr`` nor in :meth:`GatewayConfig.to_dict` (``bmsgw serve --check --json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..connect import LinkSettings
from ..errors import ConfigError
from ..plugin import SessionOptions, VendorPlugin


class GatewayConfigError(ConfigError):
    """A config file problem: where (file, line, key) and why."""

    def __init__(self, path: Path, line: int, key: str, reason: str) -> None:
        """``path:line: key: reason``."""
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {key}: {reason}")
        self.path = path
        self.line = line
        self.key = key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS to the broker: a CA to trust (else the system's), a client certificate and key, hostname checking."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Where the MQTT broker is and how to log in (the password never shows in a ``repr``)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsConfig | None = None
    client_id: str | None = None
    keepalive: int = 60


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """One link to one pack or a bus of packs, checked against its vendor."""

    name: str
    #: ``None``: ``vendor: auto`` — detected (read-only) among :attr:`candidates` when the gateway starts.
    plugin: VendorPlugin | None
    settings: LinkSettings
    options: SessionOptions
    #: Pack addresses to read (``[None]``: the vendor's single pack); ``None``: scan the bus (``address: all``).
    addresses: list[int | None] | None
    poll_interval: float
    #: The plugins ``vendor: auto`` tries (every registered one that can run over this link).
    candidates: tuple[VendorPlugin, ...] = ()
    #: Seconds between two reads of a pack's battery settings (with control; also read after each write).
    settings_interval: float = 300.0

    @property
    def vendor(self) -> str:
        """The vendor's name (``auto`` until detected)."""
        return "auto" if self.plugin is None else self.plugin.name

    @property
    def control(self) -> bool:
        """Whether commands may switch this connection's MOSFETs."""
        return self.options.control_enabled


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The whole gateway: its id and topics, the broker, the connections."""

    path: Path
    gateway_id: str
    topic_prefix: str
    discovery_prefix: str
    state_file: Path
    broker: BrokerConfig
    connections: tuple[ConnectionConfig, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary without secrets (``bmsgw serve --check --json``)."""
        broker = self.broker
        return {
            "config": str(self.path),
            "gateway_id": self.gateway_id,
            "topic_prefix": self.topic_prefix,
            "discovery_prefix": self.discovery_prefix,
            "state_file": str(self.state_file),
            "broker": {
                "host": broker.host,
                "port": broker.port,
                "username": broker.username,
                "password": None if broker.password is None else "**REDACTED**",
                "tls": broker.tls is not None,
            },
            "connections": [
                {
                    "name": c.name,
                    "vendor": c.vendor,
                    "transport": c.settings.description,
                    "addresses": "all" if c.addresses is None else c.addresses,
                    "poll_interval": c.poll_interval,
                    "control": c.control,
                    "settings_interval": c.settings_interval,
                }
                for c in self.connections
            ],
        }
