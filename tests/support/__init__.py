"""Test support: fault injection, truth recording and reliability rigs — test machinery, never shipped in the wheel.

The product serves simulators (``vendor_plugins.sim``: ``bmsgw simulate``); what tortures them lives here:

* :mod:`.faults` — a seeded, logged misbehaving wire (:class:`~.faults.FaultPlan`, :class:`~.faults.FaultInjector`)
  and the faulty TCP bridge, pty and fake BLE peripheral built on it;
* :mod:`.truth` — what a simulator served during a poll, and which snapshots that allows (:func:`~.truth.is_allowed`,
  :class:`~.truth.TruthReplayLink`);
* :mod:`.mbap` and :mod:`.modbus_replay` — a Modbus-TCP face for RTU simulators, and the register-level replay;
* :mod:`.rigs` — any plugin's reliability targets behind a faulty transport, polled and checked against the truth
  (:meth:`~.rigs.Rig.for_plugin` builds one for any plugin instance);
* :mod:`.bus_outage` — a full bus of a multi-address plugin polled through link outages.

Everything here is vendor-neutral: plugins come from the registry (or are handed in), never imported by name.
"""
