"""The HiXiMi vendor plugin: a board of unknown protocol family, detected read-only and served by JBD / DALY code.

Users pick "HiXiMi"; device info says HiXiMi with the family found (``jbd``, ``daly-d2``, ``daly-a5``), which
Home Assistant stores as ``SessionOptions.family`` so later sessions skip probing (:mod:`.session`).

Bluetooth: no matcher is claimed (real units' names are unknown) — a unit is added by address, or found through
the JBD / DALY matchers and then chosen as HiXiMi. :attr:`HiximiPlugin.ble_profile` is JBD's (service ff00), the
family probed first; a session switches the link to DALY's (fff0) when it probes or uses a DALY family
(:mod:`.session_ble`), so callers build the BLE link with this profile and need to know nothing else.

No fuzz targets are declared: HiXiMi has no codec of its own (the JBD and DALY plugins declare theirs).
"""

from __future__ import annotations

from ..daly.plugin import HOST_ADDRESS_OPTION
from ..daly.plugin import PLUGIN as DALY
from ..jbd.plugin import PLUGIN as JBD
from ..model import Switch
from ..plugin import Capabilities, LinkKind, SessionOptions, SimulatorOptions, VendorPlugin
from ..transports.base import Link
from .session import HiximiSession
from .session_families import FAMILIES, FAMILY_NAMES, PROBE_ORDER
from .simulator import HiximiSimulator, create_simulator


class HiximiPlugin(VendorPlugin):
    """HiXiMi smart BMS (JBD- or DALY-based; the family is detected)."""

    name = "hiximi"
    title = "HiXiMi"
    link_kinds = frozenset({LinkKind.BLE, LinkKind.SERIAL, LinkKind.TCP})
    ble_matchers = ()
    ble_profile = PROBE_ORDER[0].ble_profile
    capabilities = Capabilities(switches=frozenset({Switch.CHARGE, Switch.DISCHARGE}), multi_address=False)
    families = FAMILY_NAMES
    reported_alarms = JBD.reported_alarms | DALY.reported_alarms
    #: Speaks no protocol of its own: a generic probe tries it after the plugins that own JBD and DALY.
    probe_last = True
    options = (HOST_ADDRESS_OPTION,)

    def open_session(self, link: Link, options: SessionOptions | None = None) -> HiximiSession:
        """A session over ``link`` (:class:`~vendor_plugins.errors.ConfigError` for an unknown family)."""
        return HiximiSession(link, options or SessionOptions())

    def create_simulator(self, options: SimulatorOptions) -> HiximiSimulator:
        """A simulated 4S unit speaking ``options.family`` (default ``jbd``); profiles "live" and "static"."""
        return create_simulator(options.family, options.profile, options.seed)


PLUGIN = HiximiPlugin()

__all__ = ["FAMILIES", "PLUGIN", "HiximiPlugin"]
