"""Fixtures shared by the Home Assistant integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _integration_environment(socket_enabled: None, enable_custom_integrations: None, mock_bluetooth: None) -> None:
    """Loopback sockets for the simulators, our custom integration, Home Assistant's bluetooth stack without radio.

    Advertisements are injected through a registered fake remote scanner (see ``helpers.py``).
    """
