"""DALY smart BMS: the legacy A5 protocol and the Modbus-style D2/P81 protocols (see :mod:`.plugin`)."""
