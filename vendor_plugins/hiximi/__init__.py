"""HiXiMi smart BMS boards: no public protocol, so the family (JBD or DALY) is detected by read-only probing.

:mod:`.families` lists the candidate families and how each is probed and served; :mod:`.session` detects and
delegates to the JBD / DALY sessions; :mod:`.simulator` is a simulated unit of a chosen family; :mod:`.ble`
chooses the GATT service of a BLE link per family.
"""
