"""Bluetooth for HiXiMi: the GATT service depends on the family the board is built on.

A JBD-based board talks through service ``ff00`` (write ``ff02``, notify ``ff01``), a DALY-based one through
``fff0`` (write ``fff2``, notify ``fff1``); nothing public says which a HiXiMi unit has. A HiXiMi session over BLE
therefore switches the link's :class:`~vendor_plugins.plugin.BleProfile` to the family it is about to probe or
use (closing the link, so the next exchange reconnects and subscribes to the right characteristic). A link that
cannot subscribe to a family's characteristic lacks that service: every family on it is skipped.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..plugin import BleProfile, LinkKind
from ..transports.base import Link


@runtime_checkable
class ProfiledLink(Protocol):
    """A link whose GATT characteristics can change between connections (``BleLink`` and probe wrappers of one)."""

    profile: BleProfile


def switchable(link: Link) -> bool:
    """Whether ``link`` is a BLE link whose profile a session may switch."""
    return link.kind is LinkKind.BLE and isinstance(link, ProfiledLink)


async def select_profile(link: Link, profile: BleProfile) -> None:
    """Make a BLE ``link`` use ``profile`` (reconnecting on the next exchange); other links are left alone."""
    if link.kind is not LinkKind.BLE or not isinstance(link, ProfiledLink) or link.profile == profile:
        return
    await link.close()
    link.profile = profile
