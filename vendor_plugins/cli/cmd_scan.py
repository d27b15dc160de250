"""``bmsgw scan``: BLE devices nearby, each with the plugins whose matchers accept its advertisement."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from ..errors import TransportError, one_line
from ..plugin import Advertisement
from ..registry import Registry
from . import arguments, common, progress
from .format import table
from .vendor_options import Offer

DEFAULT_SCAN_SECONDS = 5.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``scan`` command line."""
    p = sub.add_parser("scan", help="scan for BLE devices and show which plugins match them")
    p.add_argument(
        "--timeout", type=arguments.timeout, default=DEFAULT_SCAN_SECONDS, metavar="S", help="scan duration (default 5)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    arguments.add_debug(p)
    p.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One device seen during a BLE scan."""

    advertisement: Advertisement
    rssi: int | None
    vendors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        adv = self.advertisement
        return {
            "address": adv.address,
            "name": adv.local_name,
            "rssi": self.rssi,
            "service_uuids": list(adv.service_uuids),
            "manufacturer_ids": sorted(adv.manufacturer_data),
            "vendors": list(self.vendors),
        }


async def ble_scan(seconds: float, registry: Registry) -> list[ScanResult]:
    """Scan for ``seconds`` with bleak; :class:`TransportError` when there is no adapter or bleak fails."""
    try:
        from bleak import BleakScanner  # bleak is slow to import: only for scanning

        found = await BleakScanner.discover(timeout=seconds, return_adv=True)
    except Exception as err:  # bleak raises BleakError, D-Bus and OS errors for a missing adapter
        from ..transports.ble import no_bluez_hint

        raise TransportError(f"BLE scan failed: {one_line(err)}{no_bluez_hint(err)}") from err
    results = []
    for device, data in found.values():
        adv = Advertisement(
            address=device.address,
            local_name=data.local_name or device.name,
            service_uuids=tuple(data.service_uuids),
            manufacturer_data=dict(data.manufacturer_data),
            service_data=dict(data.service_data),
        )
        vendors = tuple(p.name for p in registry.match_advertisement(adv))
        results.append(ScanResult(adv, data.rssi, vendors))
    results.sort(key=lambda r: (not r.vendors, -(r.rssi if r.rssi is not None else -999), r.advertisement.address))
    return results


async def _scan(seconds: float, *, as_json: bool) -> list[ScanResult]:
    with progress.ticker(lambda: f"scanning for BLE devices ({seconds:g} s)", enabled=not as_json):
        return await ble_scan(seconds, common.registry())


def run(args: argparse.Namespace) -> int:
    """Scan and list what was seen."""
    seconds: float = args.timeout
    results = common.run(_scan(seconds, as_json=args.json))
    if args.json:
        print(json.dumps([r.to_dict() for r in results]))
        return common.EXIT_OK
    if not results:
        print(f"no BLE devices seen in {seconds:g} s")
        return common.EXIT_OK
    rows = [
        [
            r.advertisement.address,
            "-" if r.rssi is None else str(r.rssi),
            r.advertisement.local_name or "-",
            ", ".join(r.vendors) or "-",
        ]
        for r in results
    ]
    print(table(rows, ["ADDRESS", "RSSI", "NAME", "VENDORS"]))
    return common.EXIT_OK
