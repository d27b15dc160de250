"""Checksums shared by several vendors' framings.

:func:`crc16_modbus` is CRC-16/MODBUS (polynomial 0x8005 reflected = 0xA001, initial value 0xFFFF, no final XOR),
as used by Modbus RTU and by vendors' Modbus-style protocols. On the wire it is sent
**low byte first** (:func:`crc16_modbus_bytes`). Check value: ``crc16_modbus(b"123456789") == 0x4B37``.
"""

from __future__ import annotations

from typing import Final


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE: Final = _make_table()


def crc16_modbus(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/MODBUS of ``data`` as an integer."""
    crc = 0xFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16_modbus_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """CRC-16/MODBUS of ``data`` as the two bytes sent on the wire (low byte first)."""
    return crc16_modbus(data).to_bytes(2, "little")
