"""The one door from the conformance suite to the test machinery that is moving out of the product.

:func:`rig_for` builds a reliability rig for any plugin object; :func:`fault_plan` is the faults it injects;
:class:`MbapBridge` (re-exported for :mod:`.serving`) puts Modbus RTU simulators behind Modbus-TCP framing.

SWITCH WHEN THE RIGS BRANCH LANDS (fault injection, rigs and the MBAP bridge move from ``vendor_plugins.sim`` to
``tests/support``, with ``Rig.for_plugin`` for any plugin instance) — only this file changes:

* imports: ``from tests.support.faults import REPLY_FAULTS, FaultPlan``, ``from tests.support.mbap import
  MbapBridge``, ``from tests.support.rigs import Rig``;
* the body of :func:`rig_for` becomes ``return Rig.for_plugin(plugin, spec, transport, plan, seed=seed,
  timeout=timeout)``, and :class:`_PluginTarget` goes.

Until then the rig is today's ``vendor_plugins.sim.reliability.Rig``, whose ``Target`` finds its plugin by a built-in
name: :class:`_PluginTarget` hands it the plugin object instead, so a plugin the rig module does not know (a
third-party one) runs too.
"""

from __future__ import annotations

from dataclasses import dataclass

from vendor_plugins.plugin import RigTarget, VendorPlugin
from vendor_plugins.sim.faults import REPLY_FAULTS, FaultPlan
from vendor_plugins.sim.modbus import MbapBridge
from vendor_plugins.sim.reliability import Rig, Target

__all__ = ["MbapBridge", "Rig", "fault_plan", "rig_for"]


def fault_plan(timeout: float) -> FaultPlan:
    """Single faults of every kind (each faulty reply followed by clean ones), as the reliability tests inject."""
    return FaultPlan.uniform(
        0.4, kinds=(*REPLY_FAULTS, "split"), delay_seconds=timeout * 1.5, refuse_seconds=timeout, clean_after=10
    )


@dataclass(frozen=True, slots=True)
class _PluginTarget(Target):
    """Today's rig target, bound to a plugin object rather than to a built-in plugin name."""

    bound: VendorPlugin | None = None

    def plugin(self) -> VendorPlugin:
        """The plugin it was made for."""
        assert self.bound is not None
        return self.bound

    @property
    def modbus(self) -> bool:
        """Whether the session reads registers (the plugin says, for the target's options)."""
        return self.plugin().needs_register_link(self.options())


def rig_for(
    plugin: VendorPlugin, spec: RigTarget, transport: str, plan: FaultPlan, *, seed: int, timeout: float
) -> Rig:
    """A reliability rig running ``spec`` of ``plugin`` over ``transport`` with faults drawn from ``plan``."""
    target = _PluginTarget(spec.name, plugin.name, spec.family, spec.addresses, tuple(spec.extra.items()), bound=plugin)
    return Rig(target, transport, plan, seed=seed, timeout=timeout)
