"""JBD (Jiabaida, "Xiaoxiang", Overkill and many rebrands) smart BMS: one pack per link, family ``jbd``.

The JBD general protocol (``DD … 77`` frames, registers 0x03 basic info, 0x04 cell voltages, 0x05 hardware, 0xE1
MOSFET control) over BLE (service ff00), UART-TTL, RS485 or a TCP bridge.
"""
