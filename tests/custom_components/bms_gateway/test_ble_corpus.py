"""The real advert corpus through Home Assistant's own Bluetooth matching and then the config flow's identification.

Home Assistant's index (``homeassistant.components.bluetooth.match.BluetoothMatcherIndex``, the code that starts
discovery flows) runs over the generated manifest; an advert it forwards goes to ``probing.advertised_vendors``
(what ``async_step_bluetooth`` uses to name the vendor or abort ``not_supported``). Every JBD/DALY/PACE advert must
reach its plugin; no other BMS's advert may end with a vendor offered.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from habluetooth import BluetoothServiceInfoBleak
from homeassistant.components.bluetooth.match import BluetoothMatcherIndex
from homeassistant.core import HomeAssistant

from custom_components.bms_gateway import probing
from custom_components.bms_gateway.const import DOMAIN
from tests.vendor_plugins.ble_corpus import ALL_ADVERTS, CorpusAdvert

from .helpers import FakeRemoteScanner

MANIFEST = Path(__file__).resolve().parents[3] / "custom_components" / "bms_gateway" / "manifest.json"


def _index() -> BluetoothMatcherIndex:
    index = BluetoothMatcherIndex()
    for matcher in json.loads(MANIFEST.read_text(encoding="utf-8"))["bluetooth"]:
        index.add({"domain": "bms_gateway", **matcher})  # type: ignore[typeddict-item]
    index.build()
    return index


INDEX = _index()


def service_info(advert: CorpusAdvert) -> BluetoothServiceInfoBleak:
    """The service info Home Assistant builds for ``advert`` (its name falls back to the address)."""
    adv = advert.advertisement()
    name = adv.local_name or adv.address
    data = AdvertisementData(
        local_name=adv.local_name,
        manufacturer_data=dict(adv.manufacturer_data),
        service_data=dict(adv.service_data),
        service_uuids=list(adv.service_uuids),
        tx_power=-127,
        rssi=-60,
        platform_data=(),
    )
    return BluetoothServiceInfoBleak(
        name=name,
        address=adv.address,
        rssi=-60,
        manufacturer_data=dict(adv.manufacturer_data),
        service_data=dict(adv.service_data),
        service_uuids=list(adv.service_uuids),
        source="corpus",
        device=BLEDevice(adv.address, name, {}),
        advertisement=data,
        connectable=True,
        time=time.monotonic(),
        tx_power=None,
    )


def offered(advert: CorpusAdvert) -> list[str] | None:
    """``None`` when Home Assistant does not start our flow, else the vendors the flow offers (empty: aborts)."""
    info = service_info(advert)
    if not INDEX.match(info):
        return None
    return [plugin.name for plugin in probing.advertised_vendors(info)]


@pytest.mark.parametrize("advert", ALL_ADVERTS, ids=lambda a: f"{a.bms_type}:{a.local_name}")
def test_home_assistant_discovers_and_the_flow_identifies(advert: CorpusAdvert) -> None:
    result = offered(advert)
    if advert.expected_plugin is None:
        assert not result, advert.source  # not forwarded, or forwarded and aborted as not supported
    else:
        assert result == [advert.expected_plugin], advert.source


def _pick(bms_type: str, name: str | None, address: str | None = None) -> CorpusAdvert:
    return next(
        a
        for a in ALL_ADVERTS
        if a.bms_type == bms_type and a.local_name == name and (address is None or a.address == address)
    )


#: Real adverts a name pattern cannot catch (Home Assistant's manifest pre-filters; the flow identifies), one
#: foreign advert with the JBD service UUID, each given its own address for the stack.
THROUGH_THE_STACK = [
    (_pick("jbd_bms", None, "70:3E:97:00:00:00"), "70:3E:97:00:00:41", "JBD"),
    (_pick("daly_bms", "Randomname"), "C0:DA:17:00:00:42", "DALY"),
    (_pick("daly_bms", "DL-40160901534C"), "C0:DA:17:00:00:43", "DALY"),
    (_pick("pace_bms", "PC-9662"), "C0:DA:17:00:00:44", "PACE"),
    # A name pattern the manifest cannot carry (fewer than 3 literal leading characters): the ff00 pre-filter forwards.
    (_pick("jbd_bms", "12150BLH1805"), "C0:DA:17:00:00:46", "JBD"),
    (_pick("pace_bms", "LLM_UNAZAY_000EY4"), "C0:DA:17:00:00:47", "PACE"),
]


@pytest.mark.parametrize(("advert", "address", "vendor"), THROUGH_THE_STACK, ids=lambda v: getattr(v, "bms_type", v))
async def test_real_advert_through_home_assistant_starts_a_flow_naming_its_vendor(
    hass: HomeAssistant, scanner: FakeRemoteScanner, advert: CorpusAdvert, address: str, vendor: str
) -> None:
    """The advert, reported by a (fake) proxy to the real bluetooth manager, ends in a confirm form for its vendor."""
    _report(scanner, advert, address)
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["step_id"] for f in flows] == ["bluetooth_confirm"]
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"])
    assert vendor in result["description_placeholders"]["vendor"]


async def test_foreign_advert_with_the_jbd_service_starts_no_flow(
    hass: HomeAssistant, scanner: FakeRemoteScanner
) -> None:
    """A BMS of another type advertising service ff00: forwarded by the pre-filter, refused by the flow."""
    foreign = next(a for a in ALL_ADVERTS if a.expected_plugin is None and offered(a) == [])
    _report(scanner, foreign, "C0:DA:17:00:00:45")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


def _report(scanner: FakeRemoteScanner, advert: CorpusAdvert, address: str) -> None:
    adv = advert.advertisement()
    scanner._async_on_advertisement(  # the proxy API the fake scanner wraps (helpers.FakeRemoteScanner.inject)
        address,
        -60,
        adv.local_name or "",
        list(adv.service_uuids),
        dict(adv.service_data),
        dict(adv.manufacturer_data),
        None,
        {"source": scanner.source},
        time.monotonic(),
    )
