"""Config flow: every step and every error path, against running simulators (no mocked codecs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant import config_entries
from homeassistant.components.usb import UsbServiceInfo
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr

from custom_components.bms_gateway import config_flow, probing
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import SimServer, serve_pty, serve_tcp

from .helpers import closed_port, jbd_state, silence, tcp_entry


@pytest.fixture
async def jbd_server() -> AsyncIterator[SimServer]:
    """A JBD pack behind a TCP bridge."""
    async with await serve_tcp(JbdSimulator(jbd_state())) as server:
        yield server


@pytest.fixture
async def pace_bus() -> AsyncIterator[SimServer]:
    """Three PACE packs (addresses 1, 2, 4) on one bus behind a TCP bridge."""
    plugin = default_registry().get("pace")
    sims = [plugin.create_simulator(SimulatorOptions(profile="static", seed=a, address=a)) for a in (1, 2, 4)]
    async with await serve_tcp(sims) as server:
        yield server


@pytest.fixture(autouse=True)
def _short_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short scan and probe timeouts (absent addresses cost the timeout each)."""
    monkeypatch.setattr(probing, "SCAN_TIMEOUT", 0.2)
    monkeypatch.setattr(probing, "FLOW_TIMEOUT", 0.3)


async def _start_tcp(hass: HomeAssistant, where: str) -> dict:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "bluetooth_device",
        "serial",
        "tcp",
        "modbus_tcp",
        "modbus_serial",
        "modbus_rtu_tcp",
    ]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "tcp"})
    assert result["step_id"] == "tcp"
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"host": where})


async def test_tcp_with_explicit_vendor_creates_entry(hass: HomeAssistant, jbd_server: SimServer) -> None:
    result = await _start_tcp(hass, f"{jbd_server.host}:{jbd_server.port}")
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "vendor"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "link": "tcp",
        "host": "127.0.0.1",
        "port": jbd_server.port,
        "vendor": "jbd",
        "family": "jbd",
        "packs": [None],
    }
    assert result["result"].unique_id == f"tcp:127.0.0.1:{jbd_server.port}"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("not a host:port:x", "bad_host"),
        ("", "bad_host"),
        ("tcp://127.0.0.1:4196", "bad_host"),  # no scheme
        ("bridge name:4196", "bad_host"),  # spaces
        ("a" * 64 + ".lan:4196", "bad_host"),  # a DNS label is at most 63 characters
        ("300.1.1.1:4196", "bad_host"),
        ("::1:4196", "bad_host"),  # IPv6 needs brackets
        ("127.0.0.1", "bad_port"),  # a raw bridge has no default port
        ("127.0.0.1:99999", "bad_port"),
        ("127.0.0.1:0", "bad_port"),
    ],
)
async def test_tcp_bad_host_then_fixed(hass: HomeAssistant, jbd_server: SimServer, typed: str, error: str) -> None:
    result = await _start_tcp(hass, typed)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "tcp"
    assert result["errors"] == {"host": error}
    assert jbd_server.connections == 0  # a refused value never reaches the network
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": f" 127.0.0.1:{jbd_server.port} "}
    )
    assert result["step_id"] == "vendor"
    assert result["description_placeholders"]["where"] == f"127.0.0.1:{jbd_server.port}"


async def test_auto_detection_finds_the_vendor(hass: HomeAssistant, jbd_server: SimServer) -> None:
    result = await _start_tcp(hass, f"127.0.0.1:{jbd_server.port}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "auto"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["vendor"] == "jbd"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(("vendor", "family"), [("daly", "d2"), ("daly", "a5"), ("hiximi", "daly-d2")])
async def test_auto_detection_of_each_family(hass: HomeAssistant, vendor: str, family: str) -> None:
    """The library's detection: DALY families are found as DALY; a HiXiMi unit is found as the protocol it speaks."""
    simulator = default_registry().get(vendor).create_simulator(SimulatorOptions(family=family, profile="static"))
    async with await serve_tcp(simulator) as server:
        result = await _start_tcp(hass, f"127.0.0.1:{server.port}")
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "auto"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["vendor"] == "daly"  # the owner of the protocol wins over HiXiMi's generic probe
        assert result["data"]["family"] == family.removeprefix("daly-")
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_unreachable(hass: HomeAssistant) -> None:
    result = await _start_tcp(hass, f"127.0.0.1:{await closed_port()}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert "connection refused" in result["description_placeholders"]["error"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "auto"})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_wrong_vendor_names_the_one_that_answered(hass: HomeAssistant, jbd_server: SimServer) -> None:
    result = await _start_tcp(hass, f"127.0.0.1:{jbd_server.port}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "daly"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "wrong_vendor"}
    assert result["description_placeholders"]["detected"] == default_registry().get("jbd").title
    # The user corrects the choice: the entry is created.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_nothing_answers(hass: HomeAssistant) -> None:
    """A bridge that accepts connections but where no BMS answers: no_answer / cannot_detect."""
    silent = JbdSimulator()
    silence(silent)
    async with await serve_tcp(silent) as server:
        result = await _start_tcp(hass, f"127.0.0.1:{server.port}")
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
        assert result["errors"] == {"base": "no_answer"}
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "auto"})
        assert result["errors"] == {"base": "cannot_detect"}


async def test_already_configured(hass: HomeAssistant, jbd_server: SimServer) -> None:
    tcp_entry("127.0.0.1", jbd_server.port).add_to_hass(hass)
    result = await _start_tcp(hass, f"127.0.0.1:{jbd_server.port}")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_bus_scan_lists_packs_and_creates_entry(hass: HomeAssistant, pace_bus: SimServer) -> None:
    result = await _start_tcp(hass, f"127.0.0.1:{pace_bus.port}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "pace"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "packs"
    assert result["description_placeholders"]["count"] == "3"
    choices = result["data_schema"].schema["packs"].options
    assert sorted(choices) == ["1", "2", "4"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": []})
    assert result["errors"] == {"base": "no_packs_selected"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"packs": ["4", "1"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["packs"] == [1, 4]
    assert result["data"]["vendor"] == "pace"
    await hass.async_block_till_done()
    entry = result["result"]
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    packs = [d for d in devices if (DOMAIN, f"{entry.unique_id}_4") in d.identifiers]
    assert len(packs) == 1 and packs[0].via_device_id is not None
    assert len(devices) == 3  # the bus and two packs
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_bus_scan_no_packs_found(hass: HomeAssistant, jbd_server: SimServer) -> None:
    result = await _start_tcp(hass, f"127.0.0.1:{jbd_server.port}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "pace"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "vendor"
    assert result["errors"] == {"base": "no_packs_found"}


async def test_bus_scan_unreachable(hass: HomeAssistant) -> None:
    result = await _start_tcp(hass, f"127.0.0.1:{await closed_port()}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "pace"})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_serial_port(hass: HomeAssistant) -> None:
    async with await serve_pty(JbdSimulator(jbd_state(cells=8))) as server:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "serial"})
        assert result["step_id"] == "serial"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": server.path, "baudrate": "9600"}
        )
        assert result["step_id"] == "vendor"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["device"] == server.path
        assert result["result"].unique_id == f"serial:{server.path}"
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_serial_port_missing(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "serial"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"device": "/dev/does-not-exist", "baudrate": "9600"}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["errors"] == {"base": "cannot_connect"}
    assert "no such serial port" in result["description_placeholders"]["error"]


def _usb_info(device: str) -> UsbServiceInfo:
    return UsbServiceInfo(
        device=device, vid="1A86", pid="55D3", serial_number="1234", manufacturer="QinHeng", description="USB-RS485"
    )


async def test_usb_discovery(hass: HomeAssistant) -> None:
    async with await serve_pty(JbdSimulator(jbd_state(cells=8))) as server:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(server.path)
        )
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "usb_confirm"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"baudrate": "9600"})
        assert result["step_id"] == "vendor"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "auto"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["vendor"] == "jbd"
        await hass.async_block_till_done()
        # The same adapter again: already configured.
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(server.path)
        )
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"device": "ttyUSB0", "baudrate": "9600"}, {"device": "bad_serial_device"}),  # not an absolute path
        ({"device": "  ", "baudrate": "9600"}, {"device": "bad_serial_device"}),
        ({"device": "/dev/ttyUSB0", "baudrate": "9601"}, {"baudrate": "bad_baudrate"}),
        ({"device": "/dev/ttyUSB0", "baudrate": "fast"}, {"baudrate": "bad_baudrate"}),
        ({"device": "COM3", "baudrate": "0"}, {"device": "bad_serial_device", "baudrate": "bad_baudrate"}),
    ],
)
async def test_serial_bad_settings_are_shown_per_field(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "serial"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "serial"
    assert result["errors"] == errors


async def test_serial_bad_baud_then_fixed_reads_the_pack(hass: HomeAssistant) -> None:
    async with await serve_pty(JbdSimulator(jbd_state(cells=8)), baud=19200) as server:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "serial"})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": server.path, "baudrate": "19201"}
        )
        assert result["errors"] == {"baudrate": "bad_baudrate"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": server.path, "baudrate": "19200"}
        )
        assert result["step_id"] == "vendor"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["baudrate"] == 19200
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_usb_confirm_refuses_a_bad_baud_rate(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info("/dev/ttyUSB7")
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"baudrate": "12345"})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "usb_confirm"
    assert result["errors"] == {"baudrate": "bad_baudrate"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"baudrate": "115200"})
    assert result["step_id"] == "vendor"


def test_every_settings_key_is_a_translated_flow_error() -> None:
    """Each key the library's validators report for a config-flow field is in FIELD_ERRORS (and so translated)."""
    from vendor_plugins import settings

    keys = {settings.KEY_HOST, settings.KEY_PORT, settings.KEY_SERIAL_DEVICE, settings.KEY_BAUDRATE}
    assert keys | {settings.KEY_ADDRESS} == set(config_flow.FIELD_ERRORS)
