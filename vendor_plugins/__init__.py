"""bms-gateway: one model for many battery-management systems.

The package turns each vendor's wire protocol into the common :class:`~vendor_plugins.model.BmsSnapshot`.
It has no Home Assistant imports; the integration in ``custom_components/bms_gateway`` builds on it.
"""

from .errors import BmsError
from .model import Alarm, BmsSnapshot, DeviceInfo, Temperature, TemperatureKind

__all__ = ["Alarm", "BmsError", "BmsSnapshot", "DeviceInfo", "Temperature", "TemperatureKind"]
__version__ = "0.1.0"
