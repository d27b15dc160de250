"""ACME demo BMS: a minimal third-party vendor plugin for the gateway (a test fixture, installed into a temp dir).

It speaks its own tiny protocol (:mod:`.codec`), reads and switches through :mod:`.session`, simulates a pack
(:mod:`.simulator`) and registers itself through the ``bms_gateway.vendors`` entry point (``acme =
acme_bms.plugin:PLUGIN``). It uses only the library's public contract: nothing in the gateway names it.
"""
