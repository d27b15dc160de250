"""Constants of the BMS gateway integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "bms_gateway"

#: Config-entry data keys.
CONF_LINK: Final = "link"  # "tcp" | "serial" | "ble" (a vendor_plugins LinkKind value)
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_DEVICE: Final = "device"  # serial port path
CONF_BAUDRATE: Final = "baudrate"
CONF_ADDRESS: Final = "address"  # Bluetooth address
CONF_VENDOR: Final = "vendor"  # plugin name
CONF_FAMILY: Final = "family"  # protocol family the probe/read found
CONF_PACKS: Final = "packs"  # pack addresses on the link ([None] = the vendor's single-pack address)

#: Vendor choice meaning "probe every plugin that supports this link".
VENDOR_AUTO: Final = "auto"

DEFAULT_BAUDRATE: Final = 9600
DEFAULT_SCAN_INTERVAL: Final = timedelta(seconds=15)

#: Timeout of one exchange while the config flow identifies a device (a wrong vendor costs this long per family).
FLOW_TIMEOUT: Final = 1.0

#: How long the config flow's bus scan waits for one address (an absent address costs this long).
SCAN_TIMEOUT: Final = 0.5

#: Bus addresses scanned when the plugin does not say which ones exist (the library's scan default, 0-15; an
#: address the vendor cannot use is skipped at once).
DEFAULT_BUS_ADDRESSES: Final = tuple(range(16))

#: Cell-voltage sensors enabled by default per pack: 16 covers a 48 V LiFePO4 pack (16S), the common home-storage
#: size; cells beyond that (24S/32S packs) are created disabled so a bus of many packs stays light.
ENABLED_CELLS: Final = 16
