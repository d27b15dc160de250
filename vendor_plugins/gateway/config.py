"""The gateway's config file (YAML): its schema, and every error as ``file:line: key: reason``.

:func:`load_config` reads the file (:mod:`.yaml_lines` keeps the line of every key), checks its structure with
voluptuous and the library's own setting validators (:mod:`vendor_plugins.settings`: hosts, ports, serial devices,
Bluetooth addresses, baud rates, intervals), then each connection against its vendor plugin (link kind, pack
addresses, family, vendor options — as ``bmsgw read`` checks a command line) and returns a :class:`GatewayConfig`.
Nothing is connected here. The first problem found raises :class:`GatewayConfigError` (a
:class:`~vendor_plugins.errors.ConfigError`: ``bmsgw serve`` exits 2 with that one line).

Secrets: the broker password (inline or from ``password_file``) is kept out of every ``repr`` and of
:meth:`GatewayConfig.to_dict`. A config file (or password file) holding a password that other users can read is
refused (:func:`check_permissions`): the daemon runs unattended, a warning would scroll past in a journal nobody reads,
and the fix is one ``chmod`` (as ``ssh`` refuses a world-readable private key).
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import voluptuous as vol

from .. import connect
from ..connect import LinkSettings
from ..errors import ConfigError, one_line
from ..plugin import LinkKind, SessionOptions, VendorPlugin
from ..registry import Registry
from ..settings import (
    BAUD,
    TIMEOUT,
    BleAddress,
    BusAddress,
    Host,
    HostPort,
    InvalidSetting,
    Port,
    Seconds,
    SerialDevice,
    allowed_addresses,
    parse_addresses,
)
from . import yaml_lines
from .config_types import (
    BrokerConfig,
    ConnectionConfig,
    GatewayConfig,
    GatewayConfigError,
    TlsConfig,
)

DEFAULT_TOPIC_PREFIX: Final = "bms_gateway"
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"
DEFAULT_POLL_INTERVAL: Final = 10.0
#: Seconds between two reads of a pack's battery settings by default (a change made with the vendor's app shows up).
SETTINGS_MAX_AGE: Final = 300.0
#: Poll intervals a connection may use (a 15-pack bus at 9600 baud needs a few seconds per round).
POLL_INTERVAL: Final = Seconds("poll_interval", 1.0, 3600.0)
#: How often battery settings are read again (connections with control; never on every poll).
SETTINGS_INTERVAL: Final = Seconds("settings_interval", 60.0, 86400.0)
#: The transports a connection may name (exactly one).
TRANSPORTS: Final = ("tcp", "serial", "ble", "modbus_tcp")
#: ``vendor: auto``: detect the vendor when the gateway starts.
AUTO: Final = "auto"

_ID_TEXT = r"^[A-Za-z0-9_-]{1,64}$"


def _topic(value: Any) -> str:
    if not isinstance(value, str) or not value.strip("/") or any(c in value for c in "#+ \t\n\0"):
        raise vol.Invalid(f"{value!r} is not an MQTT topic prefix (no spaces, '#' or '+')")
    return value.strip("/")


def _tls(value: Any) -> dict[str, Any]:
    if value is True:
        return {}
    return dict(_TLS_SCHEMA(value))


_TLS_SCHEMA = vol.Schema(
    {
        vol.Optional("ca_file"): str,
        vol.Optional("cert_file"): str,
        vol.Optional("key_file"): str,
        vol.Optional("insecure", default=False): bool,
    }
)

_BROKER_SCHEMA = vol.Schema(
    {
        vol.Required("host"): Host("host"),
        vol.Optional("port"): Port("port"),
        vol.Optional("username"): str,
        vol.Optional("password"): str,
        vol.Optional("password_file"): str,
        vol.Optional("tls"): _tls,
        vol.Optional("client_id"): vol.All(str, vol.Match(_ID_TEXT, msg="letters, digits, '-' and '_' only")),
        vol.Optional("keepalive", default=60): vol.All(int, vol.Range(5, 3600)),
    }
)

_CONNECTION_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.All(str, vol.Match(_ID_TEXT, msg="letters, digits, '-' and '_' only (1-64)")),
        vol.Required("vendor"): str,
        vol.Optional("tcp"): HostPort("tcp"),
        vol.Optional("serial"): SerialDevice("serial"),
        vol.Optional("ble"): BleAddress("ble"),
        vol.Optional("modbus_tcp"): HostPort("modbus_tcp", default_port=connect.MODBUS_TCP_PORT),
        vol.Optional("baudrate"): BAUD,
        vol.Optional("address"): vol.Any(int, str, [int]),
        vol.Optional("family"): str,
        vol.Optional("options", default=dict): {str: vol.Any(str, int)},
        vol.Optional("poll_interval"): POLL_INTERVAL,
        vol.Optional("timeout"): TIMEOUT,
        vol.Optional("control", default=False): bool,
        vol.Optional("settings_interval", default=SETTINGS_MAX_AGE): SETTINGS_INTERVAL,
    }
)

_SCHEMA = vol.Schema(
    {
        vol.Optional("gateway", default=dict): {
            vol.Optional("id"): vol.All(str, vol.Match(_ID_TEXT, msg="letters, digits, '-' and '_' only (1-64)")),
            vol.Optional("topic_prefix", default=DEFAULT_TOPIC_PREFIX): _topic,
            vol.Optional("discovery_prefix", default=DEFAULT_DISCOVERY_PREFIX): _topic,
            vol.Optional("state_file"): str,
            vol.Optional("poll_interval", default=DEFAULT_POLL_INTERVAL): POLL_INTERVAL,
        },
        vol.Required("broker"): _BROKER_SCHEMA,
        vol.Required("connections"): vol.All([_CONNECTION_SCHEMA], vol.Length(min=1, msg="at least one connection")),
    }
)


class _Checker:
    """Raises :class:`GatewayConfigError` for a path of the raw document."""

    def __init__(self, path: Path, raw: Any) -> None:
        self.path = path
        self.raw = raw

    def fail(self, where: Sequence[Any], reason: str) -> GatewayConfigError:
        return GatewayConfigError(self.path, yaml_lines.line_of(self.raw, where), yaml_lines.dotted(where), reason)


def _reason(err: vol.Invalid) -> str:
    if isinstance(err, InvalidSetting):
        return err.reason
    message = err.msg
    if message == "extra keys not allowed":
        return "unknown key (a typo?)"
    if message == "required key not provided":
        return "required key is missing"
    return str(message)


def _structure(checker: _Checker, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise checker.fail([], "the file must be a YAML mapping with 'broker' and 'connections'")
    try:
        data: dict[str, Any] = _SCHEMA(raw)
    except vol.MultipleInvalid as err:
        first = min(err.errors, key=lambda e: yaml_lines.line_of(raw, e.path))
        raise checker.fail(first.path, _reason(first)) from None
    except vol.Invalid as err:
        raise checker.fail(err.path, _reason(err)) from None
    return data


def _secret(checker: _Checker, broker: Mapping[str, Any], base: Path) -> str | None:
    if "password" in broker and "password_file" in broker:
        raise checker.fail(["broker", "password_file"], "give either password or password_file, not both")
    if "password_file" not in broker:
        password: str | None = broker.get("password")
        return password
    secret_path = _relative(base, broker["password_file"])
    try:
        text = secret_path.read_text(encoding="utf-8")
    except OSError as err:
        raise checker.fail(["broker", "password_file"], f"cannot read {secret_path}: {err.strerror}") from None
    if _others_can_read(secret_path):
        raise checker.fail(["broker", "password_file"], f"{secret_path} is readable by other users: {_CHMOD}")
    return text.strip("\r\n")


_CHMOD = "refusing a password others can read (run: chmod o-rwx FILE)"


def _others_can_read(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def _relative(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _broker(checker: _Checker, data: Mapping[str, Any], base: Path) -> BrokerConfig:
    password = _secret(checker, data, base)
    tls: TlsConfig | None = None
    if "tls" in data:
        spec = data["tls"]
        files: dict[str, Path | None] = {}
        for key in ("ca_file", "cert_file", "key_file"):
            files[key] = _relative(base, spec[key]) if key in spec else None
            if files[key] is not None and not files[key].is_file():  # type: ignore[union-attr]
                raise checker.fail(["broker", "tls", key], f"{files[key]} is not a readable file")
        if (files["cert_file"] is None) != (files["key_file"] is None):
            raise checker.fail(["broker", "tls"], "cert_file and key_file go together")
        tls = TlsConfig(files["ca_file"], files["cert_file"], files["key_file"], spec.get("insecure", False))
    port = data.get("port", 8883 if tls is not None else 1883)
    if password is not None and "username" not in data:
        raise checker.fail(["broker", "password" if "password" in data else "password_file"], "needs a username")
    return BrokerConfig(
        data["host"], port, data.get("username"), password, tls, data.get("client_id"), data["keepalive"]
    )


def _link(checker: _Checker, where: list[Any], data: Mapping[str, Any]) -> tuple[str, LinkSettings]:
    given = [key for key in TRANSPORTS if key in data]
    if len(given) != 1:
        reason = "no transport" if not given else f"several transports ({', '.join(given)})"
        raise checker.fail(where, f"{reason}; give exactly one of {', '.join(TRANSPORTS)}")
    kind = given[0]
    timeout: float | None = data.get("timeout")
    if "baudrate" in data and kind != "serial":
        raise checker.fail([*where, "baudrate"], "applies to serial connections only")
    if kind == "tcp":
        host, port = data["tcp"]
        return kind, LinkSettings.tcp(host, port, timeout=timeout)
    if kind == "modbus_tcp":
        host, port = data["modbus_tcp"]
        return kind, LinkSettings.modbus_tcp(host, port, timeout=timeout)
    if kind == "ble":
        return kind, LinkSettings.ble(data["ble"], timeout=timeout)
    return kind, LinkSettings.serial(data["serial"], data.get("baudrate"), timeout=timeout)


def _vendor_options(
    checker: _Checker, where: list[Any], plugin: VendorPlugin, data: Mapping[str, Any]
) -> dict[str, str | int]:
    known = {option.key: option for option in plugin.options}
    known.update({option.flag.removeprefix("--").replace("-", "_"): option for option in plugin.options})
    extra: dict[str, str | int] = {}
    for key, value in data.get("options", {}).items():
        option = known.get(key)
        if option is None:
            names = ", ".join(sorted({o.key for o in plugin.options})) or "none"
            raise checker.fail([*where, "options", key], f"vendor {plugin.name!r} has no such option (known: {names})")
        try:
            extra[option.key] = option.parse(str(value))
        except ValueError as err:
            raise checker.fail([*where, "options", key], one_line(err)) from None
    return extra


def _addresses(
    checker: _Checker,
    where: list[Any],
    plugin: VendorPlugin,
    settings: LinkSettings,
    options: SessionOptions,
    value: Any,
) -> list[int | None] | None:
    allowed = allowed_addresses(plugin, settings.kind, options)
    try:
        if value is None:
            return [None]
        if value == "all":
            if not plugin.capabilities.multi_address:
                raise InvalidSetting("address", value, f"vendor {plugin.name!r} has one pack per link", "bad_address")
            return None
        if isinstance(value, list):
            return [BusAddress("address", allowed=allowed, vendor=plugin.name)(v) for v in value]
        if isinstance(value, str):
            return list(parse_addresses(value, allowed, setting="address", vendor=plugin.name))
        return [BusAddress("address", allowed=allowed, vendor=plugin.name)(value)]
    except InvalidSetting as err:
        raise checker.fail([*where, "address"], err.reason) from None


def _connection(
    checker: _Checker, index: int, data: Mapping[str, Any], registry: Registry, default_interval: float
) -> ConnectionConfig:
    where: list[Any] = ["connections", index]
    if data["vendor"] == AUTO:
        return _auto_connection(checker, where, data, registry, default_interval)
    try:
        plugin = registry.get(data["vendor"])
    except KeyError, ConfigError:
        known = ", ".join([*registry.names(), AUTO])
        raise checker.fail([*where, "vendor"], f"unknown vendor {data['vendor']!r} (known: {known})") from None
    kind, base = _link(checker, where, data)
    extra = _vendor_options(checker, where, plugin, data)
    family: str | None = data.get("family")
    if family is not None and plugin.families and family not in (*plugin.families, "auto"):
        known = ", ".join((*plugin.families, "auto"))
        raise checker.fail([*where, "family"], f"unknown family {family!r} for vendor {plugin.name!r} (known: {known})")
    options = SessionOptions(control_enabled=data["control"], family=family, extra=extra)
    try:
        connect.check_link_kind(plugin, base.kind, via=kind)
        settings = connect.settings_for(base, plugin, options)
        connect.check_link_kind(plugin, settings.kind, via=kind)
    except ConfigError as err:
        raise checker.fail([*where, kind], one_line(err)) from None
    addresses = _addresses(checker, where, plugin, settings, options, data.get("address"))
    if settings.kind is LinkKind.BLE and addresses is None:
        raise checker.fail([*where, "address"], "a Bluetooth link carries one pack; leave 'address' out")
    interval = data.get("poll_interval", default_interval)
    return ConnectionConfig(
        data["name"], plugin, settings, options, addresses, interval, settings_interval=data["settings_interval"]
    )


def _auto_connection(
    checker: _Checker, where: list[Any], data: Mapping[str, Any], registry: Registry, default_interval: float
) -> ConnectionConfig:
    """``vendor: auto``: one pack, detected read-only at start-up among the plugins that can use this link."""
    kind, settings = _link(checker, where, data)
    for key in ("family", "options"):
        if data.get(key):
            raise checker.fail([*where, key], "is vendor-specific; name the vendor instead of 'auto'")
    candidates = tuple(p for p in registry if settings.kind in p.link_kinds)
    if not candidates:
        raise checker.fail([*where, kind], f"no vendor supports {settings.kind} links")
    address = data.get("address")
    if address is not None and not (isinstance(address, int) and 0 <= address <= 255):
        raise checker.fail([*where, "address"], "with vendor 'auto' give one pack address (0-255) or none")
    options = SessionOptions(control_enabled=data["control"])
    interval = data.get("poll_interval", default_interval)
    return ConnectionConfig(
        data["name"], None, settings, options, [address], interval, candidates, data["settings_interval"]
    )


def check_permissions(path: Path, raw: Any) -> None:
    """Refuse a config file that holds a password and that other users can read (see the module docstring)."""
    broker = raw.get("broker") if isinstance(raw, Mapping) else None
    if isinstance(broker, Mapping) and "password" in broker and _others_can_read(path):
        line = yaml_lines.line_of(raw, ["broker", "password"])
        raise GatewayConfigError(path, line, "broker.password", _CHMOD.replace("FILE", str(path)))


def load_config(path: Path, registry: Registry) -> GatewayConfig:
    """Read and check the config file at ``path`` (see the module docstring); nothing is connected."""
    try:
        raw = yaml_lines.load(path)
    except yaml_lines.YamlError as err:
        raise GatewayConfigError(path, err.line, "(YAML)", err.reason) from None
    except OSError as err:
        raise GatewayConfigError(path, 0, "(file)", f"cannot read: {err.strerror}") from None
    checker = _Checker(path, raw)
    data = _structure(checker, raw)
    check_permissions(path, raw)
    base = path.resolve().parent
    broker = _broker(checker, data["broker"], base)
    gateway = data["gateway"]
    names: set[str] = set()
    connections = []
    for index, spec in enumerate(data["connections"]):
        if spec["name"] in names:
            raise checker.fail(["connections", index, "name"], f"duplicate connection name {spec['name']!r}")
        names.add(spec["name"])
        connections.append(_connection(checker, index, spec, registry, gateway["poll_interval"]))
    gateway_id = gateway.get("id") or _default_id()
    state_file = _relative(base, gateway["state_file"]) if "state_file" in gateway else _default_state_file(base)
    return GatewayConfig(
        path,
        gateway_id,
        gateway["topic_prefix"],
        gateway["discovery_prefix"],
        state_file,
        broker,
        tuple(connections),
    )


def _default_state_file(config_dir: Path) -> Path:
    """systemd's ``StateDirectory`` (``$STATE_DIRECTORY``) when set, else next to the config file."""
    directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(directory) / "state.json" if directory else config_dir / "bmsgw-state.json"


def _default_id() -> str:
    """The host name as an id (characters MQTT topics and unique ids take)."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname().split(".")[0])
    return name[:64] or "gateway"


__all__ = [
    "BrokerConfig",
    "ConnectionConfig",
    "GatewayConfig",
    "GatewayConfigError",
    "TlsConfig",
    "check_permissions",
    "load_config",
]
