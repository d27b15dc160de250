"""Things that hold a connection, a port or a listener: closed by ``await close()`` or by leaving ``async with``.

Links (:class:`vendor_plugins.transports.base.Link`) and simulator servers (TCP, pseudo-terminal, Modbus) share it.
"""

from __future__ import annotations

import abc
from typing import Self


class AsyncClosing(abc.ABC):
    """An async context manager whose exit is :meth:`close`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release what this holds (idempotent)."""

    async def __aenter__(self) -> Self:
        """Use as an async context manager (closed on exit)."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close on exit."""
        await self.close()
