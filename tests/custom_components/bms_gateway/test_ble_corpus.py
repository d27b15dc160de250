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

from custom_components.bms_gateway import probing
from tests.vendor_plugins.ble_corpus import ALL_ADVERTS, CorpusAdvert

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
