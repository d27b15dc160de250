"""``bmsgw`` — the command-line tool: list vendors, scan BLE, read, probe, capture and switch packs, serve simulators.

One module per command (``cmd_vendors``, ``cmd_scan``, ``cmd_read``, ``cmd_probe``, ``cmd_capture``, ``cmd_set``,
``cmd_simulate``), each with its argument definitions and its handler; shared pieces: :mod:`.parser` (argparse),
:mod:`.arguments` (argument types and option groups), :mod:`.vendor_options` (the plugins' own flags),
:mod:`.transport` (transport flags → :class:`~vendor_plugins.connect.LinkSettings`, checks before opening),
:mod:`.packs` (which packs, read through :class:`~vendor_plugins.reader.PackReader`), :mod:`.format` (tables),
:mod:`.common` (exit codes, errors, signals) and :mod:`.app` (:func:`main`).

Exit codes (INTERFACES.md §4): 0 ok · 2 usage error · 3 device error (unreachable, timeout, protocol error) ·
4 control refused or not confirmed. Every error is one line on stderr (``bmsgw: error: …``); ``--debug`` adds
the traceback and debug logging. Every setting (``HOST:PORT``, serial device, BLE address, baud rate, pack address
for the vendor and link, timeouts) is checked by :mod:`vendor_plugins.settings` before anything is opened: a bad one
is a usage error naming the option, the value and what is allowed.

Examples (``bmsgw vendors`` lists the names to give ``--vendor``)::

    bmsgw vendors
    bmsgw read --tcp 192.168.1.50:8899 --vendor NAME --json --watch 5
    bmsgw probe --serial /dev/ttyUSB0 --address 1
    bmsgw capture --ble C8:47:8C:12:34:56 --vendor NAME --out capture.json
    bmsgw set --serial /dev/ttyUSB0 --vendor NAME --switch discharge --off --allow-control
    bmsgw simulate --vendor NAME --tcp 127.0.0.1:0 --profile static

Heavy imports (bleak, pymodbus, simulator servers) happen inside the commands that need them, so ``bmsgw vendors``
and argument errors stay fast.
"""

from .app import main

__all__ = ["main"]
