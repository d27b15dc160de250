"""The asyncio protocol shared by the stream links (TCP and serial).

It forwards received chunks and the end of the connection to a :class:`~.base.ByteLink`'s ``_on_data`` and
``_on_lost`` callbacks. A link *detaches* the protocol before closing the transport itself, so the callbacks of
a connection the link already gave up (a late ``connection_lost`` after our own ``close()``) never reach the
link and are never mistaken for the failure of a newer connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class StreamProtocol(asyncio.Protocol):
    """Forward data and connection loss of one transport to a link until detached."""

    def __init__(
        self,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[BaseException | None], None],
    ) -> None:
        """Remember the callbacks of the link that owns this connection."""
        self._on_data = on_data
        self._on_lost = on_lost
        self.detached = False

    def detach(self) -> None:
        """Stop forwarding anything (the link is closing this connection on purpose)."""
        self.detached = True

    def data_received(self, data: bytes) -> None:
        """Forward a received chunk."""
        if not self.detached:
            self._on_data(data)

    def eof_received(self) -> bool:
        """The peer closed its side: let the transport close (``connection_lost`` follows)."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Forward the end of the connection once."""
        if not self.detached:
            self.detached = True
            self._on_lost(exc)
