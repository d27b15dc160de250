"""The library's error hierarchy: every failure a caller can meet derives from :class:`BmsError`.

Protocol errors (bad checksum, truncated frame, wrong address, unsupported command) come from codecs and never
leave a half-decoded snapshot behind; link errors (timeout, transport) come from transports; control errors
come from sessions when a write is not allowed or could not be confirmed by reading the state back.
"""


class BmsError(Exception):
    """Base class of every error raised by ``vendor_plugins``."""


class ProtocolError(BmsError):
    """The bytes received do not form a valid answer."""


class ChecksumError(ProtocolError):
    """A frame's checksum/CRC does not match its contents."""


class FrameError(ProtocolError):
    """A frame is truncated, malformed, or carries an inconsistent length or value."""


class ImplausibleValueError(FrameError):
    """A decoded value is physically impossible (a corrupt frame that passed a weak checksum): never shown."""


class AddressError(ProtocolError):
    """A frame answers a different address or command than the one asked."""


class UnsupportedError(BmsError):
    """The device (or plugin) does not support the requested command or transport."""


class DeviceError(BmsError):
    """The device answered with an error status."""


class LinkError(BmsError):
    """Base class of errors raised by links (transports)."""


class DeviceTimeout(LinkError):
    """No complete answer arrived within the timeout."""


class TransportError(LinkError):
    """The transport failed: connection refused or lost, port missing, write failed."""


class ControlError(BmsError):
    """Base class of errors raised by control (write) commands."""


class ControlRefused(ControlError):
    """Control is not enabled for this device, or the device refused the command."""


class ControlNotConfirmed(ControlError):
    """The command was sent but reading the state back did not show the requested state."""


class ConfigError(BmsError):
    """User-supplied configuration is invalid (bad host:port, unknown vendor, bad address...)."""


def one_line(err: BaseException) -> str:
    """An error as a single line of text (the class name when the error carries no message)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__
