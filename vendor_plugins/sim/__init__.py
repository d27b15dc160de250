"""Simulators: virtual BMSs that speak the real protocols, and servers exposing them over TCP, a pty or fake BLE."""

from .base import Simulator

__all__ = ["Simulator"]
