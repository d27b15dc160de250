"""The conformance suite's door to the test machinery in ``tests/support``: rigs, fault plans, the MBAP bridge.

:func:`rig_for` builds a reliability rig for any plugin object (``Rig.for_plugin``: registered or not, a third-party
one too); :func:`fault_plan` is the faults it injects; :class:`MbapBridge` (re-exported for :mod:`.serving`) puts
Modbus RTU simulators behind Modbus-TCP framing. The transports are the suite's routes, which carry the rig's own
transport names (``tcp``, ``pty``, ``ble``, ``modbus-rtu-tcp``, ``modbus-tcp``, ``modbus-rtu``) and are chosen the
same way, from the plugin's declarations (a test pins that they agree).
"""

from __future__ import annotations

from tests.support.faults import REPLY_FAULTS, FaultPlan
from tests.support.mbap import MbapBridge
from tests.support.rigs import Rig, transports_for
from vendor_plugins.plugin import RigTarget, VendorPlugin

__all__ = ["MbapBridge", "Rig", "fault_plan", "rig_for", "transports_for"]


def fault_plan(timeout: float) -> FaultPlan:
    """Single faults of every kind (each faulty reply followed by clean ones), as the reliability tests inject."""
    return FaultPlan.uniform(
        0.4, kinds=(*REPLY_FAULTS, "split"), delay_seconds=timeout * 1.5, refuse_seconds=timeout, clean_after=10
    )


def rig_for(
    plugin: VendorPlugin, spec: RigTarget, transport: str, plan: FaultPlan, *, seed: int, timeout: float
) -> Rig:
    """A reliability rig running ``spec`` of ``plugin`` over ``transport`` with faults drawn from ``plan``."""
    return Rig.for_plugin(plugin, spec, transport, plan, seed=seed, timeout=timeout)
