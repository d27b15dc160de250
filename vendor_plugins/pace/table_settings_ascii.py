"""The declared PACE ASCII v0x25 settings table: PbmsTools' "Parameter Setting" commands, one group per frame.

Source: real PbmsTools 2.4 traffic at ADR 00, recorded in nkinnan/esphome-pace-bms@2ba4bc65
``components/pace_bms/pace_bms_protocol_v25.h`` and syssi/esphome-pace-bms@db83caac
``docs/pbmstools-communication.md`` (PROTOCOLS.md §4.2): each group is read with one CID2 (no INFO) and written
whole with another, whose INFO is the read INFO with the new values; a write is answered ``RTN 00`` without INFO.
Bytes nobody has decoded (the leading ``01``/``00`` of most groups, the byte after the sleep voltage, the three
trailing bytes of the E3 reply that PbmsTools does not send back) are written back as read. The discharge
over-current 1 group reads its currents as negative int16 but is written with positive values (nkinnan:
"returned as the negative two's complement, but is STORED (written back) as the normal positive value").
Temperatures are 0.1 K with offset 2730. Ranges: PbmsTools' (:mod:`.table_settings`). v0x20 variants document none
of these commands. There is no documented SoC command and no balancer on/off switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..battery_settings import SettingSpec, SettingsTable
from .table_settings import LIMITS

FAMILY: Final = "ascii-25"
TEMP_OFFSET: Final = 2730


@dataclass(frozen=True, slots=True)
class AsciiGroup:
    """One PbmsTools parameter frame: read with ``read_cid2``, written with ``write_cid2``."""

    label: str
    read_cid2: int
    write_cid2: int
    #: INFO bytes of the read reply, and how many of them the write sends back (E3: 3 of 6).
    length: int
    write_length: int


@dataclass(frozen=True, slots=True)
class AsciiSettingSpec(SettingSpec):
    """One value at byte ``at`` (``width`` 1 or 2) of its group's INFO: ``value = (raw - offset) * scale``."""

    group: str = ""
    at: int = 0
    width: int = 2
    scale: float = 1.0
    offset: int = 0
    #: Read as negative int16, written positive (discharge over-current 1).
    negative_read: bool = False


GROUPS: Final[tuple[AsciiGroup, ...]] = (
    AsciiGroup("cell over-voltage", 0xD1, 0xD0, 8, 8),
    AsciiGroup("pack over-voltage", 0xD5, 0xD4, 8, 8),
    AsciiGroup("cell under-voltage", 0xD3, 0xD2, 8, 8),
    AsciiGroup("pack under-voltage", 0xD7, 0xD6, 8, 8),
    AsciiGroup("charge over-current", 0xD9, 0xD8, 6, 6),
    AsciiGroup("discharge over-current 1", 0xDB, 0xDA, 6, 6),
    AsciiGroup("discharge over-current 2", 0xE3, 0xE2, 6, 3),
    AsciiGroup("short circuit", 0xE5, 0xE4, 1, 1),
    AsciiGroup("cell balancing", 0xB6, 0xB5, 4, 4),
    AsciiGroup("sleep", 0xA0, 0xA8, 4, 4),
    AsciiGroup("full charge / low charge", 0xAF, 0xAE, 5, 5),
    AsciiGroup("charge/discharge over-temperature", 0xDD, 0xDC, 13, 13),
    AsciiGroup("charge/discharge under-temperature", 0xDF, 0xDE, 13, 13),
    AsciiGroup("MOSFET over-temperature", 0xE1, 0xE0, 7, 7),
    AsciiGroup("ambient over/under-temperature", 0xE7, 0xE6, 13, 13),
)
GROUP_BY_LABEL: Final = {g.label: g for g in GROUPS}


def _row(
    name: str, group: str, at: int, scale: float, *, width: int = 2, offset: int = 0, negative_read: bool = False
) -> AsciiSettingSpec:
    low, high, step = LIMITS[name]
    high = min(high, (0xFF if width == 1 else 0xFFFF) * scale - offset * scale)  # what the wire field can hold
    return AsciiSettingSpec(
        name,
        low,
        high,
        max(step, scale),
        group=group,
        at=at,
        width=width,
        scale=scale,
        offset=offset,
        negative_read=negative_read,
    )


def _voltage_group(prefix: str, group: str) -> list[AsciiSettingSpec]:
    return [
        _row(f"{prefix}_alarm", group, 1, 0.001),
        _row(f"{prefix}_protect", group, 3, 0.001),
        _row(f"{prefix}_release", group, 5, 0.001),
        _row(f"{prefix}_delay", group, 7, 0.1, width=1),
    ]


def _temps(prefixes: tuple[str, ...], group: str) -> list[AsciiSettingSpec]:
    rows = []
    for n, prefix in enumerate(prefixes):
        for k, kind in enumerate(("alarm", "protect", "release")):
            rows.append(_row(f"{prefix}_{kind}", group, 1 + 6 * n + 2 * k, 0.1, offset=TEMP_OFFSET))
    return rows


ASCII_SETTINGS: Final[tuple[AsciiSettingSpec, ...]] = (
    *_voltage_group("cell_overvoltage", "cell over-voltage"),
    *_voltage_group("pack_overvoltage", "pack over-voltage"),
    *_voltage_group("cell_undervoltage", "cell under-voltage"),
    *_voltage_group("pack_undervoltage", "pack under-voltage"),
    _row("charge_overcurrent_alarm", "charge over-current", 1, 1.0),
    _row("charge_overcurrent_protect", "charge over-current", 3, 1.0),
    _row("charge_overcurrent_delay", "charge over-current", 5, 0.1, width=1),
    _row("discharge_overcurrent_alarm", "discharge over-current 1", 1, 1.0, negative_read=True),
    _row("discharge_overcurrent_protect", "discharge over-current 1", 3, 1.0, negative_read=True),
    _row("discharge_overcurrent_delay", "discharge over-current 1", 5, 0.1, width=1),
    _row("discharge_overcurrent2_protect", "discharge over-current 2", 1, 1.0, width=1),
    _row("discharge_overcurrent2_delay", "discharge over-current 2", 2, 0.025, width=1),
    _row("short_circuit_delay", "short circuit", 0, 0.000025, width=1),
    _row("balance_start_voltage", "cell balancing", 0, 0.001),
    _row("balance_delta_voltage", "cell balancing", 2, 0.001),
    _row("sleep_cell_voltage", "sleep", 0, 0.001),
    _row("sleep_delay", "sleep", 3, 60.0, width=1),
    _row("charge_full_voltage", "full charge / low charge", 0, 0.001),
    _row("charge_full_current", "full charge / low charge", 2, 0.001),
    _row("soc_low_alarm", "full charge / low charge", 4, 1.0, width=1),
    *_temps(("charge_overtemp", "discharge_overtemp"), "charge/discharge over-temperature"),
    *_temps(("charge_undertemp", "discharge_undertemp"), "charge/discharge under-temperature"),
    *_temps(("mosfet_overtemp",), "MOSFET over-temperature"),
    *_temps(("ambient_undertemp", "ambient_overtemp"), "ambient over/under-temperature"),
)

TABLE: Final = SettingsTable(family=FAMILY, specs=ASCII_SETTINGS)
BY_NAME: Final = {spec.name: spec for spec in ASCII_SETTINGS}


def specs_of(group: AsciiGroup) -> tuple[AsciiSettingSpec, ...]:
    """The rows of ``group``."""
    return tuple(spec for spec in ASCII_SETTINGS if spec.group == group.label)
