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


class SettingsUnsupported(UnsupportedError):
    """The device's protocol family has no documented settings map (or not this setting); the message names it."""


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
    """The command was sent but reading the state back did not show the requested state.

    ``names`` lists the settings (or switches) that did not take, when the session knows them.
    """

    def __init__(self, message: str = "", names: tuple[str, ...] | list[str] = ()) -> None:
        """Keep ``message`` as the error text and ``names`` as the values that did not take."""
        super().__init__(message)
        self.names: tuple[str, ...] = tuple(names)


class SettingsRefused(ControlError):
    """A settings change failed validation before any byte was sent; ``problems`` lists every reason."""

    def __init__(self, problems: str | tuple[str, ...] | list[str]) -> None:
        """Join ``problems`` into one line (nothing was sent)."""
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("settings refused, nothing was sent: " + "; ".join(self.problems))


class SettingsPartiallyWritten(ControlNotConfirmed):
    """The link failed between the writes of a multi-write sequence.

    ``changed`` names the values a read-back found changed, ``unchanged`` those found unchanged; ``unknown`` those
    the read-back could not establish (the device could not be read again).
    """

    def __init__(
        self, message: str, changed: tuple[str, ...], unchanged: tuple[str, ...], unknown: tuple[str, ...]
    ) -> None:
        """Record what the read-back after the failure established."""
        super().__init__(message, names=(*unchanged, *unknown))
        self.changed = changed
        self.unchanged = unchanged
        self.unknown = unknown


class ConfigError(BmsError):
    """User-supplied configuration is invalid (bad host:port, unknown vendor, bad address...)."""


def one_line(err: BaseException) -> str:
    """An error as a single line of text (the class name when the error carries no message)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__
