"""Config flow: every step and every error path, against running simulators (no mocked codecs).

The user menu, a TCP bridge, a serial port and a USB adapter; the options flow (poll interval, control, per-cell
entities) and the reconfigure flow (new connection, same entities). Bluetooth and Modbus connections have their own
files (``test_config_flow_bluetooth.py``, ``test_config_flow_modbus_tcp.py``, ``test_config_flow_modbus_rtu.py``).
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from homeassistant import config_entries
from homeassistant.components.usb import UsbServiceInfo
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.bms_gateway import config_flow, probing
from custom_components.bms_gateway.const import DOMAIN
from vendor_plugins.jbd.simulator import JbdSimulator
from vendor_plugins.plugin import SimulatorOptions
from vendor_plugins.registry import default_registry
from vendor_plugins.sim import SimServer, serve_pty, serve_tcp

from .helpers import (
    closed_port,
    entity_id_of,
    finish_reconfigure,
    jbd_state,
    serial_entry,
    setup_entry,
    silence,
    state_of,
    tcp_entry,
)


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
        "bank",
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


async def test_same_bridge_by_another_name_is_already_configured(hass: HomeAssistant, jbd_server: SimServer) -> None:
    """Issue 21 item 6: ``127.0.0.1:P`` then ``localhost:P`` are one bridge: the second flow aborts."""
    result = await _start_tcp(hass, f"127.0.0.1:{jbd_server.port}")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"vendor": "jbd"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await _start_tcp(hass, f"localhost:{jbd_server.port}")
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    await hass.config_entries.async_unload(hass.config_entries.async_entries(DOMAIN)[0].entry_id)


async def test_same_serial_port_by_another_path_is_already_configured(
    hass: HomeAssistant, tmp_path: pathlib.Path
) -> None:
    """A port by its ``by-id`` style link and by its device node are one port (compared by real path)."""
    async with await serve_pty(JbdSimulator(jbd_state(cells=8))) as server:
        serial_entry(server.path).add_to_hass(hass)
        link = tmp_path / "usb-QinHeng_USB-RS485-if00-port0"
        link.symlink_to(server.path)
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": config_entries.SOURCE_USB}, data=_usb_info(str(link))
        )
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


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


async def test_options_defaults_bounds_and_effects(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=20))
    async with await serve_tcp(sim) as server:
        entry = tcp_entry(server.host, server.port)
        await setup_entry(hass, entry)
        assert entry.runtime_data.update_interval == timedelta(seconds=15)
        registry = er.async_get(hass)
        switches = [e for e in er.async_entries_for_config_entry(registry, entry.entry_id) if e.domain == "switch"]
        assert not switches

        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "init"
        schema = result["data_schema"]
        defaults = {str(key): key.default() for key in schema.schema if hasattr(key, "default")}
        assert defaults["scan_interval"] == 15
        assert defaults["control"] is False  # off unless the user enables it
        assert defaults["cell_entities"] == "default"
        assert result["description_placeholders"] == {"default_interval": "15", "min": "5", "max": "600"}
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(
                result["flow_id"],
                {"scan_interval": 2, "control": False, "cell_entities": "default", "cell_balancing_entities": False},
            )
        # A fraction of a second passes the number box but not the library's check: a translated field error.
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"scan_interval": 7.5, "control": True, "cell_entities": "all", "cell_balancing_entities": True},
        )
        assert result["type"] is FlowResultType.FORM and result["errors"] == {"scan_interval": "bad_scan_interval"}
        assert entry.options == {}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"scan_interval": 30, "control": True, "cell_entities": "all", "cell_balancing_entities": True},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.options == {
            "scan_interval": 30,
            "control": True,
            "cell_entities": "all",
            "cell_balancing_entities": True,
        }
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.update_interval == timedelta(seconds=30)
        assert entry.runtime_data.session.options.control_enabled is True
        entries = er.async_entries_for_config_entry(registry, entry.entry_id)
        mosfets = [e for e in entries if e.domain == "switch" and "_setting_" not in e.unique_id]  # not settings
        assert sorted(e.unique_id.rsplit("_", 3)[-3] for e in mosfets) == ["charge", "discharge"]
        cell_20 = registry.async_get(entity_id_of(hass, entry.unique_id, "cell_20_voltage"))
        assert cell_20.disabled_by is None
        balancing = registry.async_get(entity_id_of(hass, entry.unique_id, "cell_3_balancing", "binary_sensor"))
        assert balancing.disabled_by is None

        # Back to defaults: control off removes the switches, cells beyond 16 are disabled again.
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"scan_interval": 15, "control": False, "cell_entities": "none", "cell_balancing_entities": False},
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.runtime_data.session.options.control_enabled is False
        entries = er.async_entries_for_config_entry(registry, entry.entry_id)
        assert not [e for e in entries if e.domain == "switch"]  # removed, not left unavailable
        assert not hass.states.async_entity_ids("switch")
        cell_1 = registry.async_get(entity_id_of(hass, entry.unique_id, "cell_1_voltage"))
        assert cell_1.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert not [w for w in sim.requests if w[1] == 0x5A], "changing options never writes to the pack"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_tcp_keeps_entities(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_tcp(sim) as old, await serve_tcp(sim) as new:
        entry = tcp_entry(old.host, old.port)
        await setup_entry(hass, entry)
        old_uid = entry.unique_id
        voltage = entity_id_of(hass, old_uid, "voltage")
        count = len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id))

        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM and result["step_id"] == "reconfigure"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "not valid::"})
        assert result["errors"] == {"host": "bad_host"}
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "127.0.0.1:0"})
        assert result["errors"] == {"host": "bad_port"}
        await finish_reconfigure(hass, result["flow_id"], old, new)

        assert entry.unique_id == f"tcp:127.0.0.1:{new.port}"
        assert entry.data["port"] == new.port
        assert entry.title == f"JBD 127.0.0.1:{new.port}"
        assert entry.state is ConfigEntryState.LOADED
        assert entity_id_of(hass, entry.unique_id, "voltage") == voltage  # same entity, history kept
        assert len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)) == count
        assert float(state_of(hass, entry.unique_id, "voltage")) == round(sum(sim.state.cell_voltages), 2)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_serial_and_already_configured(hass: HomeAssistant) -> None:
    sim = JbdSimulator(jbd_state(cells=4))
    async with await serve_pty(sim) as first, await serve_pty(JbdSimulator(jbd_state(cells=4))) as second:
        entry = serial_entry(first.path)
        await setup_entry(hass, entry)
        other = serial_entry(second.path)
        other.add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": "pts/9", "baudrate": "9700"}
        )
        assert result["errors"] == {"device": "bad_serial_device", "baudrate": "bad_baudrate"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": second.path, "baudrate": "9600"}
        )
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
        await hass.config_entries.async_remove(other.entry_id)
        cycles = entity_id_of(hass, entry.unique_id, "cycles")
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"device": second.path, "baudrate": "9600"}
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.unique_id == f"serial:{second.path}"
        assert entity_id_of(hass, entry.unique_id, "cycles") == cycles
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)
