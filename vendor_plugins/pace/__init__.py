"""PACE BMS: the ASCII protocol (v0x25 / v0x20) on an RS232/RS485 bus, and PACE Modbus RTU (register map V1.3)."""
