"""Fixtures of the conformance suite: loopback sockets, and the minimal third-party plugin installed in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vendor_plugins.plugin import VendorPlugin

from . import acme


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """Allow sockets: the Home Assistant test plugin blocks them, its guard still limits them to 127.0.0.1."""


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory with the ACME package and its distribution metadata (not on ``sys.path`` by itself)."""
    return acme.install(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def acme_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VendorPlugin]:
    """The ACME plugin as the registry loads it from its entry point, installed for the module's tests."""
    with acme.installed(tmp_path_factory.mktemp("site")) as plugin:
        yield plugin
