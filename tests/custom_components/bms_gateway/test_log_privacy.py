"""Addresses in logs and messages: what a user needs to act, not where the connection goes.

A log line above debug level names the entry by its title — the name the user chose (or kept) and recognises —
never the raw host, Bluetooth address or serial device path: logs get pasted into forums and issues. Debug lines keep
the full detail for whoever turns debug logging on. The serial-port repair names the device path: it is the one
thing the user must fix (plug that adapter back in, or reconfigure to its new name), and a repair issue is shown to
the installation's administrators only, not written to the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.sim import serve_tcp

from .helpers import BLE_ADDRESS, ble_entry, jbd_state, serial_entry, tcp_entry, tick

TITLE = "Garage battery"


def _shared(caplog: pytest.LogCaptureFixture) -> str:
    """What the log says above debug level, from the integration and from Home Assistant about it."""
    return "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.levelno > logging.DEBUG and record.name.startswith(("custom_components.", "homeassistant"))
    )


def _debug(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


async def test_poll_failures_are_logged_by_entry_title(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sim = JbdSimulator(jbd_state())
    server = await serve_tcp(sim)
    port = server.port
    entry = tcp_entry(server.host, port)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, title=TITLE)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await server.close()
        await tick(hass)
        await tick(hass)
        server = await serve_tcp(sim, port=port)
        await tick(hass)
        shared = _shared(caplog)
        assert f"{TITLE}: pack default stopped answering" in shared
        assert f"No pack answered on {TITLE}" in shared
        assert f"{TITLE}: pack default answers again" in shared
        assert "127.0.0.1" not in shared and f":{port}" not in shared, shared
        assert f"127.0.0.1:{port}" in _debug(caplog)  # debug logging keeps the detail
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await server.close()


async def test_bluetooth_device_not_found_names_the_entry(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    entry = ble_entry(BLE_ADDRESS)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, title=TITLE)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None and TITLE in entry.reason
    for text in (entry.reason, _shared(caplog)):
        assert BLE_ADDRESS not in text.upper(), text
        assert BLE_ADDRESS.replace(":", "") not in text.upper().replace(":", ""), text


async def test_serial_port_missing_path_only_in_the_repair(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    port = str(tmp_path / "usb-FTDI_FT232R_USB_UART_A10K5ABC-if00-port0")  # a by-id path names the adapter's serial
    entry = serial_entry(port)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, title=TITLE)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"serial_port_missing_{entry.entry_id}")
    assert issue is not None and issue.translation_placeholders is not None
    assert issue.translation_placeholders["device"] == port  # what the user must fix
    assert entry.reason is not None and TITLE in entry.reason
    for text in (entry.reason, _shared(caplog)):
        assert "A10K5ABC" not in text, text
