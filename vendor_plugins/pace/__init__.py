"""PACE BMS (household wall and rack LiFePO4 packs): a bus of packs on RS232/RS485 (ASCII 0-15, Modbus units 1-16).

Families: ``ascii-25`` and ``ascii-20`` (the PACE ASCII protocol, v0x25 as PACE packs speak it, v0x20 as an EG4
pack does) and ``modbus`` (PACE Modbus RTU, register map V1.3, over Modbus-TCP, a serial port or a TCP bridge).
"""
