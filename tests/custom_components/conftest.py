"""Fixtures shared by the Home Assistant integration tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _integration_environment(
    async_setup_recorder_instance: Any,
    socket_enabled: None,
    enable_custom_integrations: None,
    mock_bluetooth: None,
) -> None:
    """Loopback sockets for the simulators, our custom integration, Home Assistant's bluetooth stack without radio.

    Advertisements are injected through a registered fake remote scanner (see ``helpers.py``). The recorder's
    set-up fixture comes first so that a test asking for ``recorder_mock`` gets it before ``hass`` (the energy
    validation test); the others do not start a recorder.
    """
