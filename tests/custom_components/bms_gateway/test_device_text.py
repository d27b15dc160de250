"""Hostile text from devices: bounded, without control characters, without markup where Home Assistant renders it.

A pack may report a 240-character model full of control characters and HTML; a Bluetooth advertiser may call itself
a Markdown link. Neither reaches Home Assistant as sent: the device registry gets one bounded line of text, the
discovery title and the confirm dialog (rendered as Markdown) get no markup.
"""

from __future__ import annotations

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from custom_components.bms_gateway.const import DOMAIN
from custom_components.bms_gateway.device_text import MAX_TEXT, markdown_safe, plain, plain_or_none
from custom_components.bms_gateway.forms import pack_label
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.model import DeviceInfo

from .helpers import JBD_SERVICE, FakeRemoteScanner, jbd_over_tcp, jbd_state, service_info

#: 240 ASCII characters (what a pack's protocol carries): a clear-screen escape, a title change, a bell, a forged line
#: and a script tag.
HOSTILE_MODEL = ("\x1b[2J\x1b]0;owned\x07SP16S\r\nbmsgw: error: <script>alert(1)</script>" + "A" * 240)[:240]
#: A Bluetooth name that is a Markdown link and an image (a tracking pixel) and HTML.
HOSTILE_BLE_NAME = "[Update firmware](https://evil.example/x) ![](https://evil.example/p.png) <b>JBD</b>"

_CONTROL = [chr(c) for c in (*range(0x20), 0x7F, 0x202E, 0x200B)]


def _assert_safe(text: str | None, *, markdown: bool) -> None:
    assert text is not None
    assert len(text) <= MAX_TEXT
    assert not any(c in text for c in _CONTROL), repr(text)
    assert "<" not in text and ">" not in text
    if markdown:
        assert not any(c in text for c in "[]()!`*"), text


def test_normal_values_pass_unchanged() -> None:
    for value in ("JBD-SP16S020", "PACE-SIM-16S", "V1.2", "SIM010001", "xiaoxiang_BMS 2", "Batería 48 V"):
        assert plain(value) == value
        assert markdown_safe(value) == value
    assert plain_or_none(None) is None
    assert plain_or_none("\x00\x01") is None


def test_hostile_text_is_cleaned_and_bounded() -> None:
    cleaned = plain(HOSTILE_MODEL)
    _assert_safe(cleaned, markdown=False)
    assert cleaned.endswith("…") and len(cleaned) == MAX_TEXT
    assert "SP16S bmsgw: error:" in cleaned  # the line break became a space: still one line
    assert plain("a\u202eb\u200bc\u2028d") == "abc d"  # bidirectional override, zero-width space, line separator
    safe = markdown_safe(HOSTILE_BLE_NAME)
    _assert_safe(safe, markdown=True)
    assert safe.startswith("Update firmware")
    label = pack_label(3, DeviceInfo(vendor="x", model=HOSTILE_MODEL, serial_number="SN\x1b[31m1"))
    _assert_safe(label, markdown=False)


async def test_device_registry_gets_clean_bounded_text(hass: HomeAssistant) -> None:
    state = jbd_state(cells=4)
    state.model = HOSTILE_MODEL
    async with jbd_over_tcp(hass, JbdSimulator(state)) as (_, entry):
        assert entry.runtime_data.device_infos[None].model == HOSTILE_MODEL  # the library keeps what was sent
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        (pack,) = devices  # a single pack: no bridge device
        _assert_safe(pack.model, markdown=False)
        assert pack.model is not None and pack.model.startswith("[2J]0;owned")
        for value in (pack.name, pack.manufacturer, pack.sw_version, pack.hw_version, pack.serial_number):
            if value is not None:
                _assert_safe(value, markdown=False)
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("scanner")
async def test_ble_name_with_markdown_link_is_neutralised(hass: HomeAssistant, scanner: FakeRemoteScanner) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=service_info("A4:C1:38:AA:BB:CC", HOSTILE_BLE_NAME, [JBD_SERVICE]),
    )
    assert result["step_id"] == "bluetooth_confirm"
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    title = flow["context"]["title_placeholders"]["name"]
    _assert_safe(title, markdown=True)
    assert "](" not in title
    _assert_safe(result["description_placeholders"]["name"], markdown=True)
    assert result["description_placeholders"]["name"] == title
    hass.config_entries.flow.async_abort(result["flow_id"])
