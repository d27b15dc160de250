"""HiXiMi smart BMS boards: no public protocol, so the family (``jbd``, ``daly-d2`` or ``daly-a5``) is detected.

HiXiMi is a rebrand built on JBD or DALY boards: it speaks their protocols through their own sessions, so it has no
codec (and no fuzz targets) of its own. :mod:`.plugin` declares it; :mod:`.session_families` lists the candidate
families and how each is probed (read-only) and served; :mod:`.session` detects and delegates to the JBD / DALY
sessions; :mod:`.session_ble` chooses the GATT service of a BLE link per family; :mod:`.simulator` is a simulated
unit of a chosen family.
"""
