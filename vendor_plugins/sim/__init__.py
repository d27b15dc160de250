"""Simulators: virtual BMSs that speak the real protocols, and servers exposing them over TCP, a pty or fake BLE."""

from .base import Simulator
from .pty import PtyServer, serve_pty
from .serving import SimEndpoint
from .tcp import SimServer, serve_tcp

__all__ = ["PtyServer", "SimEndpoint", "SimServer", "Simulator", "serve_pty", "serve_tcp"]
