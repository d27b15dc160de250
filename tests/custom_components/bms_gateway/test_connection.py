"""Connection helpers (``connection.py``): an entry's unique id, its description and the link it opens.

A Modbus-TCP gateway, Modbus RTU on a serial port and through an RS485-to-TCP bridge; one physical connection has one
key whatever protocol runs on it.
"""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant

from custom_components.bms_gateway import const
from custom_components.bms_gateway.connection import describe, open_entry_link, physical_key, unique_id
from vendor_plugins.errors import TransportError
from vendor_plugins.registry import default_registry
from vendor_plugins.transports.modbus import ModbusLink, ModbusMode

from .helpers import pace_modbus_tcp_entry, pace_rtu_entry, pace_rtu_tcp_entry, serial_entry, tcp_entry

PACE = default_registry().get("pace")


def test_connection_helpers_for_modbus(hass: HomeAssistant) -> None:
    data = pace_modbus_tcp_entry(1502, [1]).data
    assert unique_id(data) == "modbus-tcp:127.0.0.1:1502"
    assert describe(data) == "modbus-tcp://127.0.0.1:1502"
    assert describe({**data, "host": "fd00::5"}) == "modbus-tcp://[fd00::5]:1502"
    link = open_entry_link(hass, data, default_registry().get("pace"), timeout=0.5)
    assert isinstance(link, ModbusLink) and link.description == "modbus-tcp://127.0.0.1:1502"
    assert open_entry_link(hass, {**data, "modbus_mode": None}, default_registry().get("pace")).description == (
        "modbus-tcp://127.0.0.1:1502"  # an entry without a mode is Modbus-TCP
    )
    with pytest.raises(TransportError, match="'ascii' is not supported"):
        open_entry_link(hass, {**data, "modbus_mode": "ascii"}, default_registry().get("pace"))


def test_connection_helpers_for_modbus_rtu(hass: HomeAssistant) -> None:
    # The integration's mode names are the library's (pymodbus is not imported by const).
    assert {const.MODBUS_MODE_TCP, const.MODBUS_MODE_RTU, const.MODBUS_MODE_RTU_OVER_TCP} == {
        m.value for m in ModbusMode
    }
    rtu = pace_rtu_entry("/dev/serial/by-id/usb-RS485-if00", [1], baudrate=19200).data
    assert unique_id(rtu) == "modbus-rtu:/dev/serial/by-id/usb-RS485-if00"
    assert describe(rtu) == "modbus-rtu:///dev/serial/by-id/usb-RS485-if00"
    link = open_entry_link(hass, rtu, PACE, timeout=0.5)
    assert isinstance(link, ModbusLink)
    assert link.description == "modbus-rtu:///dev/serial/by-id/usb-RS485-if00@19200"
    bridge = {**pace_rtu_tcp_entry(4196, [1]).data, "host": "FD00::5"}
    assert unique_id(bridge) == "modbus-rtu-over-tcp:[fd00::5]:4196"
    assert describe(bridge) == "modbus-rtu+tcp://[FD00::5]:4196"
    link = open_entry_link(hass, bridge, PACE, timeout=0.5)
    assert isinstance(link, ModbusLink) and link.mode is ModbusMode.RTU_OVER_TCP and link.port == 4196
    # One physical connection, whatever protocol runs on it.
    assert physical_key(rtu) == physical_key(serial_entry("/dev/serial/by-id/usb-RS485-if00").data)
    assert physical_key(bridge) == physical_key(tcp_entry("fd00::5", 4196).data)
    assert physical_key(pace_rtu_tcp_entry(502, [1]).data) != physical_key(
        {**pace_rtu_tcp_entry(502, [1]).data, "modbus_mode": "tcp"}
    )
