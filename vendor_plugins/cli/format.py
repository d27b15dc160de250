r"""Human-readable rendering for ``bmsgw``: pack tables, the vendor list and BLE scan results.

Pure functions from model objects to text (no I/O), so the command-line tool stays thin and the layout is easy
to test. Unknown values (``None``) are shown as ``-`` — never as a made-up 0.

Text a device or a nearby advertiser supplied (model, serial, BLE name, errors quoting them) goes through
:func:`printable` before it reaches the terminal: control characters (C0 incl. ESC and TAB, DEL, C1), line and
paragraph separators, bidirectional overrides and lone surrogates are shown as ``\xNN`` / ``\uNNNN`` escapes, so
a device can neither clear the screen, recolour or retitle the terminal, nor forge a ``bmsgw: error:`` line. Plain
Unicode text stays as it is. (``--json`` output is escaped by ``json.dumps`` already.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from ..model import Alarm, BmsSnapshot, DeviceInfo

UNKNOWN = "-"
LABEL_WIDTH = 17

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` safe for a terminal: every control character as a visible escape, plain text untouched."""
    return _UNSAFE.sub(_escape, text)


def number(value: float | None, unit: str, digits: int) -> str:
    if value is None:
        return UNKNOWN
    return f"{value:.{digits}f} {unit}".rstrip()


def on_off(value: bool | None) -> str:
    """``on``/``off``, or ``-`` when unknown."""
    if value is None:
        return UNKNOWN
    return "on" if value else "off"


def _alarm_list(alarms: Iterable[Alarm]) -> str:
    names = sorted(str(a) for a in alarms)
    return ", ".join(names) if names else "none"


def line(label: str, value: str) -> str:
    return f"  {label:<{LABEL_WIDTH}}{value}".rstrip()


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A plain left-aligned text table with a header rule (columns separated by two spaces); cells made printable."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines.extend(fmt(row) for row in rows)
    return "\n".join(lines)


def pack_title(address: int | None, device: DeviceInfo | None) -> str:
    """Heading line of one pack: address plus what the pack said about itself."""
    title = "Pack" if address is None else f"Pack {address}"
    if device is None:
        return title
    details = [device.vendor]
    if device.model:
        details.append(device.model)
    if device.serial_number:
        details.append(f"s/n {device.serial_number}")
    if device.software_version:
        details.append(f"sw {device.software_version}")
    if device.hardware_version and device.hardware_version != device.model:
        details.append(f"hw {device.hardware_version}")
    if device.manufacture_date is not None:
        details.append(f"made {device.manufacture_date.isoformat()}")
    if device.cell_count is not None:
        details.append(f"{device.cell_count} cells")
    return f"{title}: {printable(', '.join(details))}"


def _current_text(snapshot: BmsSnapshot) -> str:
    text = number(snapshot.current, "A", 2)
    if snapshot.charging:
        text += " (charging)"
    elif snapshot.discharging:
        text += " (discharging)"
    elif snapshot.current is not None:
        text += " (idle)"
    return text


def _balancing_text(balancing: frozenset[int] | None) -> str:
    if balancing is None:
        return UNKNOWN
    if not balancing:
        return "none"
    return "cells " + ", ".join(str(c) for c in sorted(balancing))


def _cell_lines(snapshot: BmsSnapshot) -> list[str]:
    cells = snapshot.cell_voltages
    if not cells:
        return [line("Cells", UNKNOWN)]
    low, high = min(cells), max(cells)
    delta_mv = (high - low) * 1000
    summary = (
        f"{len(cells)} cells, min {low:.3f} V (#{cells.index(low) + 1}), max {high:.3f} V (#{cells.index(high) + 1}),"
        f" avg {number(snapshot.cell_average, 'V', 3)}, delta {delta_mv:.0f} mV"
    )
    lines = [line("Cells", summary)]
    balancing = snapshot.balancing or frozenset()
    spread = len(set(cells)) > 1
    for cell, volts in enumerate(cells, 1):
        marks = []
        if spread and volts == high:
            marks.append("max")
        if spread and volts == low:
            marks.append("min")
        if cell in balancing:
            marks.append("balancing")
        lines.append(f"    {cell:>3}  {volts:.3f} V  {' '.join(marks)}".rstrip())
    return lines


def _temperature_lines(snapshot: BmsSnapshot) -> list[str]:
    if not snapshot.temperatures:
        return [line("Temperatures", UNKNOWN)]
    lines = [line("Temperatures", "")]
    names = [printable(t.name) for t in snapshot.temperatures]
    width = max(len(name) for name in names)
    for name, temp in zip(names, snapshot.temperatures, strict=True):
        lines.append(f"    {name:<{width}}  {temp.celsius:6.1f} °C  ({temp.kind})")
    return lines


def _raw_text(raw: Mapping[str, int | str]) -> str:
    return printable(", ".join(f"{k}={v}" for k, v in sorted(raw.items()))) if raw else "none"


class Quantities(Protocol):
    """What a pack and a bank both report beyond voltage and current."""

    @property
    def power(self) -> float | None: ...
    @property
    def soc(self) -> float | None: ...
    @property
    def soh(self) -> float | None: ...
    @property
    def remaining_capacity(self) -> float | None: ...
    @property
    def full_capacity(self) -> float | None: ...
    @property
    def design_capacity(self) -> float | None: ...
    @property
    def stored_energy(self) -> float | None: ...
    @property
    def cycles(self) -> int | None: ...


def quantity_lines(s: Quantities) -> list[str]:
    """Power, SoC, SoH, capacities, stored energy and cycles: the lines a pack and a bank block share."""
    return [
        line("Power", number(s.power, "W", 1)),
        line("SoC", number(s.soc, "%", 1)),
        line("SoH", number(s.soh, "%", 1)),
        line("Remaining", number(s.remaining_capacity, "Ah", 2)),
        line("Full capacity", number(s.full_capacity, "Ah", 2)),
        line("Design capacity", number(s.design_capacity, "Ah", 2)),
        line("Stored energy", number(s.stored_energy, "Wh", 1)),
        line("Cycles", UNKNOWN if s.cycles is None else str(s.cycles)),
    ]


def render_snapshot(snapshot: BmsSnapshot) -> list[str]:
    """The body lines of one pack: pack values, switches, alarms, then cells and temperatures."""
    s = snapshot
    lines = [
        line("Voltage", number(s.voltage, "V", 2)),
        line("Current", _current_text(s)),
        *quantity_lines(s),
        line("MOSFETs", f"charge {on_off(s.charge_mosfet)}, discharge {on_off(s.discharge_mosfet)}"),
        line("Balancing", _balancing_text(s.balancing)),
        line("Alarms", _alarm_list(s.alarms)),
        line("Warnings", _alarm_list(s.warnings)),
    ]
    lines.extend(_cell_lines(s))
    lines.extend(_temperature_lines(s))
    lines.append(line("Raw", _raw_text(s.raw)))
    return lines


def render_pack(address: int | None, device: DeviceInfo | None, snapshot: BmsSnapshot | None, error: str | None) -> str:
    """One pack as a readable block (a pack that did not answer shows its error)."""
    lines = [pack_title(address, device)]
    if snapshot is None:
        lines.append(line("Error", printable(error or "no answer")))
    else:
        lines.extend(render_snapshot(snapshot))
    return "\n".join(lines)
