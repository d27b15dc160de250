"""DALY smart BMS: families ``a5`` (legacy A5 protocol) and ``d2``/``p81`` (Modbus-style), one plugin.

A5 is the UART / RS485 / old Bluetooth dongle protocol; D2 and its P81 variant run over Bluetooth and RS485.
Modules: :mod:`.plugin` (declarations), :mod:`.session` (the session and read-only family detection) with
:mod:`.session_base` (a family's reader contract), :mod:`.session_a5` and :mod:`.session_d2` (the families' read and
control sequences); :mod:`.codec_a5`, :mod:`.codec_d2` and :mod:`.codec_faults` (sans-IO: frames, decoding, the
failure bits); :mod:`.table` (protocol facts); :mod:`.simulator` with :mod:`.simulator_state` (virtual packs);
:mod:`.fuzz` (fuzz entry points and seeds).
"""
