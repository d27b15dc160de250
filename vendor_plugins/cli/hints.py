"""What a read that got no answer tells the user: what was asked, whether anything answered, what to try next.

The link's own error ("no complete answer to 7e3235… within 2 s") is exact but says nothing to someone who picked
the wrong vendor. When no pack answered and the link itself worked (no :class:`~vendor_plugins.errors.TransportError`
such as a refused connection, which is already clear), :func:`no_answer_line` says which vendor, family and address
were asked, whether nothing came back or bytes that are not that vendor's protocol, and suggests ``bmsgw probe`` on
the same link. The original error is logged at debug level.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from collections.abc import Sequence

from ..errors import BmsError, DeviceTimeout, ProtocolError
from ..plugin import VendorPlugin
from ..transports.base import Link
from . import common

_LOGGER = logging.getLogger(__name__)

#: The transport flags a ``probe`` suggestion repeats (with their values), in this order.
_PROBE_FLAGS = ("tcp", "serial", "ble", "modbus_tcp", "baud", "timeout", "address")


def probe_command(args: argparse.Namespace) -> str:
    """``bmsgw probe --tcp HOST:PORT`` for the link of this command line (quoted for a shell)."""
    words = [common.PROG, "probe"]
    for name in _PROBE_FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(words)


def _vendor(plugin: VendorPlugin) -> str:
    """The vendor as a user names it: the plugin's title without its parenthesised details."""
    return plugin.title.split(" (")[0]


def _asked(plugin: VendorPlugin, family: str | None, addresses: Sequence[object]) -> str:
    """``a <vendor> pack (family <f>, address 1)``."""
    details = [f"family {family}"] if family else []
    shown = [str(a) for a in addresses if a is not None]
    if len(shown) == 1:
        details.append(f"address {shown[0]}")
    elif shown:
        details.append(f"addresses {', '.join(shown)}")
    what = f"a {_vendor(plugin)} pack"
    return f"{what} ({', '.join(details)})" if details else what


def no_answer_line(
    args: argparse.Namespace,
    plugin: VendorPlugin,
    family: str | None,
    link: Link,
    errors: Sequence[tuple[object, BmsError | None]],
) -> str | None:
    """One line for a read no pack answered, or ``None`` when the errors are not "no valid answer".

    ``errors``: ``(address, exception)`` of every pack asked. Only timeouts and protocol errors qualify: a link
    that could not be opened or a device that answered with an error status keep their own message.
    """
    causes = [err for _, err in errors]
    if not causes or not all(isinstance(err, DeviceTimeout | ProtocolError) for err in causes):
        return None
    for address, err in errors:
        _LOGGER.debug("pack %s: %s", address, err)
    vendor = _vendor(plugin)
    received = link.bytes_received
    if received == 0:
        answer = f"nothing answered within {link.timeout:g} s"
    else:
        answer = f"{received} byte(s) came back but no valid {vendor} answer (another protocol, or another baud rate?)"
    asked = _asked(plugin, family, [address for address, _ in errors])
    return (
        f"asked {link.description} for {asked}: {answer} — another vendor, address or baud rate?"
        f" '{probe_command(args)}' shows which vendor answers"
    )
