"""Fixtures of the reliability tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """Allow sockets: the Home Assistant test plugin blocks them, its guard still limits them to 127.0.0.1."""
