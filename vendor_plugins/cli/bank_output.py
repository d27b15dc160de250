"""``bmsgw read --address all --bank``: the packs of one bus seen as one battery bank, after the packs.

The flags (``--bank``, ``--bank-mode parallel|series``, ``--bank-policy all|available``), the check that there is a
bus to make a bank of (else a usage error, exit 2), the bank of one read round (every pack read in the round is
fresh; a pack that did not answer is missing) and its rendering: a text block after the pack tables, and the
``bank`` object of the ``--json`` document (INTERFACES.md §5). The rules are :mod:`vendor_plugins.bank`'s.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence

from ..bank import BankConfig, BankMode, BankSnapshot, CellRef, FreshnessPolicy, MemberReading, build_bank
from ..bank_freshness import MemberId
from ..errors import ConfigError
from ..model import Alarm
from ..plugin import VendorPlugin
from ..reader import PackResult
from .format import UNKNOWN, line, number, on_off, quantity_lines

#: The time of a round's readings: they are all taken in the round, so all fresh (only silence makes a pack missing).
_ROUND = 0.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bank flags of ``read``."""
    group = parser.add_argument_group("bank (the packs of one bus as one battery; with --address all)")
    group.add_argument("--bank", action="store_true", help="also show the packs aggregated as one battery bank")
    group.add_argument(
        "--bank-mode",
        choices=[str(m) for m in BankMode],
        help="how the packs are wired (default parallel): parallel sums currents and capacities, series voltages",
    )
    group.add_argument(
        "--bank-policy",
        choices=[str(p) for p in FreshnessPolicy],
        help="with a pack not answering: all = no bank values (default), available = from the packs that answered",
    )


def config_for(args: argparse.Namespace, plugin: VendorPlugin) -> BankConfig | None:
    """The bank to build each round (``None`` without ``--bank``); a usage error when there is no bus."""
    mode: str | None = args.bank_mode
    policy: str | None = args.bank_policy
    if not args.bank:
        if mode is not None or policy is not None:
            raise ConfigError("--bank-mode and --bank-policy need --bank")
        return None
    if not plugin.capabilities.multi_address:
        raise ConfigError(f"--bank needs a bus of packs, and vendor {plugin.name!r} has one pack per connection")
    if args.address != "all":
        raise ConfigError("--bank needs the packs of a bus: add --address all")
    return BankConfig(
        mode=BankMode(mode or BankMode.PARALLEL), policy=FreshnessPolicy(policy or FreshnessPolicy.ALL), max_age=1.0
    )


def bank_of(results: Sequence[PackResult], config: BankConfig) -> BankSnapshot:
    """The bank of one read round: the packs that answered are its fresh members."""
    readings = [MemberReading(p.address, p.snapshot, _ROUND) for p in results if p.address is not None]
    return build_bank(readings, config, now=_ROUND)


# --- text ------------------------------------------------------------------------------------------------------------
def _packs(members: Iterable[MemberId]) -> str:
    return ", ".join(str(m) for m in members)


def _cell(value: float | None, at: CellRef | None) -> str:
    if value is None or at is None:
        return UNKNOWN
    return f"{value:.3f} V (pack {at.pack} #{at.cell})"


def _title(bank: BankSnapshot) -> str:
    title = f"Bank ({bank.mode}): packs {_packs(bank.members)}"
    if bank.missing:
        title += f"; missing {_packs(bank.missing)}" + ("" if bank.available else ", no bank values")
    return title


def _alarms(raised: Mapping[Alarm, tuple[MemberId, ...]]) -> str:
    if not raised:
        return "none"
    return ", ".join(f"{a} (pack {_packs(p)})" for a, p in sorted(raised.items()))


def _mosfets(bank: BankSnapshot) -> str:
    text = f"charge {on_off(bank.charge_mosfet)}, discharge {on_off(bank.discharge_mosfet)}"
    off = [
        f"{name} off: pack {_packs(packs)}"
        for name, packs in (("charge", bank.charge_mosfet_off), ("discharge", bank.discharge_mosfet_off))
        if packs
    ]
    return text + (f" ({'; '.join(off)})" if off else "")


def _cells(bank: BankSnapshot) -> str:
    if bank.cell_min is None:
        return UNKNOWN
    delta = UNKNOWN if bank.cell_delta is None else f"{bank.cell_delta * 1000:.0f} mV"
    return (
        f"min {_cell(bank.cell_min, bank.cell_min_at)}, max {_cell(bank.cell_max, bank.cell_max_at)},"
        f" avg {number(bank.cell_average, 'V', 3)}, delta {delta}"
    )


def _temperatures(bank: BankSnapshot) -> str:
    low, high = bank.temperature_min_at, bank.temperature_max_at
    if bank.temperature_min is None or bank.temperature_max is None or low is None or high is None:
        return UNKNOWN
    return (
        f"min {bank.temperature_min:.1f} °C (pack {low.pack} {low.name}),"
        f" max {bank.temperature_max:.1f} °C (pack {high.pack} {high.name})"
    )


def _voltage(bank: BankSnapshot) -> str:
    text = number(bank.voltage, "V", 2)
    if bank.voltage is not None and bank.voltage_spread is not None and len(bank.members) > 1:
        text += f" (spread {bank.voltage_spread:.2f} V)"
    return text


def _current(bank: BankSnapshot) -> str:
    text = number(bank.current, "A", 2)
    if bank.current_mismatch:
        text += " (the packs disagree: not one current?)"
    return text


def _balancing(balancing: frozenset[CellRef] | None) -> str:
    """``pack 1 cells 5, 6; pack 3 cells 2`` (members in id order)."""
    if balancing is None:
        return UNKNOWN
    by_pack: dict[MemberId, list[int]] = {}
    for ref in sorted(balancing):
        by_pack.setdefault(ref.pack, []).append(ref.cell)
    return "; ".join(f"pack {p} cells {', '.join(map(str, c))}" for p, c in by_pack.items()) or "none"


def render_bank(bank: BankSnapshot) -> str:
    """The bank as a readable block, like a pack's (bank-wide cells and temperatures instead of lists)."""
    lines = [_title(bank)]
    if bank.available:
        lines += [
            line("Voltage", _voltage(bank)),
            line("Current", _current(bank)),
            *quantity_lines(bank),
            line("MOSFETs", _mosfets(bank)),
            line("Balancing", _balancing(bank.balancing)),
            line("Alarms", _alarms(bank.alarm_packs)),
            line("Warnings", _alarms(bank.warning_packs)),
            line("Cells", _cells(bank)),
            line("Temperatures", _temperatures(bank)),
        ]
    return "\n".join(lines)
