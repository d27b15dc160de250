"""Constants of the BMS gateway integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from vendor_plugins import connect, settings

DOMAIN: Final = "bms_gateway"

#: Config-entry data keys.
CONF_LINK: Final = "link"  # "tcp" | "serial" | "ble" | "modbus" (a vendor_plugins LinkKind value)
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_DEVICE: Final = "device"  # serial port path
CONF_BAUDRATE: Final = "baudrate"
CONF_ADDRESS: Final = "address"  # Bluetooth address
CONF_VENDOR: Final = "vendor"  # plugin name
CONF_FAMILY: Final = "family"  # protocol family the probe/read found
CONF_PACKS: Final = "packs"  # pack addresses on the link ([None] = the vendor's single-pack address)
#: Pack addresses the user removed from a bus entry: the background check for new packs never adds them again.
CONF_IGNORED_PACKS: Final = "ignored_packs"
#: Option (bool, default on): look for packs that join the bus after set-up (bus entries only).
CONF_SCAN_NEW_PACKS: Final = "scan_new_packs"
CONF_MODBUS_MODE: Final = "modbus_mode"  # link "modbus": one of the MODBUS_MODE_* values below

#: Config-flow form field: the Modbus unit ids to scan ("1-4, 7"; empty: every unit the vendor allows).
CONF_UNITS: Final = "units"

#: How a "modbus" entry reaches its units (the library's :class:`vendor_plugins.connect.ModbusMode` values).
#: Modbus-TCP: ``host``/``port`` (an entry without a mode is Modbus-TCP); RTU on a serial port: ``device``/``baudrate``;
#: RTU through a transparent bridge: ``host``/``port``.
MODBUS_MODE_TCP: Final = connect.ModbusMode.TCP.value
MODBUS_MODE_RTU: Final = connect.ModbusMode.RTU.value
MODBUS_MODE_RTU_OVER_TCP: Final = connect.ModbusMode.RTU_OVER_TCP.value
MODBUS_TCP_PORT: Final = settings.MODBUS_TCP_PORT

#: Vendor choice meaning "probe every plugin that supports this link".
VENDOR_AUTO: Final = "auto"

DEFAULT_BAUDRATE: Final = connect.DEFAULT_BAUDRATE
#: Poll interval of wired links (serial, TCP bridges); see :data:`DEFAULT_SCAN_SECONDS`.
DEFAULT_SCAN_INTERVAL: Final = timedelta(seconds=15)

#: Option keys (config-entry options, set in the options flow).
CONF_SCAN_INTERVAL: Final = "scan_interval"  # seconds
CONF_CONTROL: Final = "control"  # bool: MOSFET switches exist and may write (off unless the user enables it)
CONF_CELLS: Final = "cell_entities"  # which cell-voltage entities are enabled: CELLS_*
CONF_CELL_BALANCING: Final = "cell_balancing_entities"  # bool: per-cell balancing entities enabled

CELLS_DEFAULT: Final = "default"  # the first ENABLED_CELLS cells
CELLS_ALL: Final = "all"
CELLS_NONE: Final = "none"
CELL_CHOICES: Final = (CELLS_DEFAULT, CELLS_ALL, CELLS_NONE)

CONF_CHEMISTRY: Final = "chemistry"  # the cells' chemistry (a model Chemistry value); absent = unknown
CHEMISTRY_UNKNOWN: Final = "unknown"  # the form's choice for "not set"; never stored

#: Default poll interval per link kind, seconds: a wired link answers in milliseconds; a Bluetooth pack is polled
#: less often (each poll costs radio time shared with every other device on the adapter or proxy).
DEFAULT_SCAN_SECONDS: Final = {"serial": 15, "tcp": 15, "modbus": 15, "ble": 30}
#: Bounds of the poll interval the options flow accepts, seconds (the library's settings check the same bounds).
MIN_SCAN_SECONDS: Final = settings.MIN_SCAN_SECONDS
MAX_SCAN_SECONDS: Final = settings.MAX_SCAN_SECONDS

#: Energy meters do not bridge an interval longer than this many poll intervals (a pack or Home Assistant away).
ENERGY_MAX_GAP_POLLS: Final = 4

#: A connection failing this many polls in a row is a persistent condition (a repair issue when the cause is known).
REPAIR_AFTER_FAILURES: Final = 3
#: A pack silent on its bus this long gets a repair issue offering to remove it.
PACK_MISSING_AFTER: Final = timedelta(hours=6)

#: Raw frames kept for the diagnostics download (per entry, both directions).
RAW_FRAMES_KEPT: Final = 24
#: The longest run of received bytes kept as one raw frame (a longer one continues in the next).
RAW_RUN_BYTES: Final = 1024

#: Timeout of one exchange while the config flow identifies a device (a wrong vendor costs this long per family).
FLOW_TIMEOUT: Final = 1.0

#: How long the config flow's bus scan waits for one address (an absent address costs this long).
SCAN_TIMEOUT: Final = 0.5

#: Cell-voltage sensors enabled by default per pack: 16 covers a 48 V LiFePO4 pack (16S), the common home-storage
#: size; cells beyond that (24S/32S packs) are created disabled so a bus of many packs stays light.
ENABLED_CELLS: Final = 16
