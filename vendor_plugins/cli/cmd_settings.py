"""``bmsgw settings``: read, change, back up and restore a pack's settings (docs/settings.md).

``get`` prints a table (``--json``: one flat object name → value in the model's units). ``set NAME=VALUE…`` and
``restore FILE`` need ``--allow-control`` (refused before anything is opened, exit 4), show each change as
``old -> new`` and ask on a terminal; ``--yes`` skips the question, and without a terminal they refuse unless
``--yes`` is given. Every write goes through the library's verified path: validated before a byte is sent, read
back after (a value that did not take: exit 4). ``backup --out FILE`` writes a JSON document that ``restore``
accepts only for the same vendor, family and cell count.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from ..battery_settings import VOCABULARY, BmsSettings, Number, SettingsTable, format_value
from ..battery_settings_backup import diff_lines, dumps, loads, restore_changes
from ..battery_settings_write import precheck
from ..errors import ConfigError, ControlRefused
from ..plugin import Session
from . import arguments, common, packs, transport
from .format import table
from .vendor_options import Offer

_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def _common(p: argparse.ArgumentParser, offer: Offer) -> None:
    arguments.add_transport(p)
    arguments.add_vendor(p, offer, vendor_required=True)
    arguments.add_debug(p)


def _control(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-control", action="store_true", help="required: confirm that settings may be written")
    p.add_argument("--yes", action="store_true", help="do not ask before writing (needed without a terminal)")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], offer: Offer) -> None:
    """The ``settings`` command line and its four actions."""
    p = sub.add_parser("settings", help="read, change, back up or restore BMS settings (writes need --allow-control)")
    actions = p.add_subparsers(dest="settings_action", metavar="ACTION", required=True)
    get = actions.add_parser("get", help="print the pack's settings")
    _common(get, offer)
    get.add_argument("--json", action="store_true", help="one flat JSON object: setting name -> value")
    put = actions.add_parser("set", help="change settings: NAME=VALUE ... (needs --allow-control)")
    put.add_argument("assignments", nargs="+", metavar="NAME=VALUE", help="e.g. charge_overcurrent_protect=80")
    _common(put, offer)
    _control(put)
    backup = actions.add_parser("backup", help="save the pack's settings to a JSON file")
    backup.add_argument("--out", required=True, metavar="FILE", help="where to write the backup")
    _common(backup, offer)
    restore = actions.add_parser("restore", help="write a backup back (needs --allow-control)")
    restore.add_argument("file", metavar="FILE", help="a backup written by 'bmsgw settings backup'")
    _common(restore, offer)
    _control(restore)
    p.set_defaults(handler=run)


def parse_assignments(texts: list[str]) -> dict[str, Number]:
    """``NAME=VALUE`` words into a change set (values: on/off/true/false or a number); ConfigError otherwise."""
    changes: dict[str, Number] = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise ConfigError(f"expected NAME=VALUE, got {text!r}")
        word = VOCABULARY.get(name)
        lowered = raw.lower()
        if lowered in _TRUE | _FALSE and (word is None or word.kind == "bool"):
            changes[name] = lowered in _TRUE
            continue
        try:
            changes[name] = int(raw) if word is not None and word.kind == "int" else float(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a number (or on/off)") from None
    return changes


def _ask(lines: list[str], yes: bool) -> None:
    """Show the changes and ask; ControlRefused when declined or when nobody can be asked."""
    print("Changes:")
    for text in lines:
        print(text)
    if yes:
        return
    if not sys.stdin.isatty():
        raise ControlRefused("not writing: stdin is not a terminal to confirm on (add --yes to write without asking)")
    answer = input("Write these settings to the BMS? [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise ControlRefused("not writing: declined, nothing was sent")


def _print_settings(settings: BmsSettings, tab: SettingsTable) -> None:
    rows = []
    for spec in tab.specs:
        if spec.name not in settings.values:
            continue
        unit = spec.word.unit if spec.word.kind != "bool" else ""
        rows.append([spec.name, format_value(settings.values[spec.name]), unit, "" if spec.writable else "read-only"])
    print(f"vendor {settings.vendor}, family {settings.family}, {settings.cell_count} cells")
    print(table(rows, ["setting", "value", "unit", ""]))


async def _write(session: Session, address: int | None, changes: Mapping[str, Number], yes: bool) -> int:
    tab = session.settings_table(address)
    precheck(tab, changes)
    current = await session.read_settings(address)
    target = tab.validate(current, changes)
    names = tab.changed(current, target)
    if not names:
        print("nothing to change: the pack already holds these values")
        return common.EXIT_OK
    _ask(diff_lines(current, {n: target.values[n] for n in names}, tab), yes)
    after = await session.write_settings(address, changes)
    print(f"written and confirmed by read-back: {', '.join(f'{n}={format_value(after.values[n])}' for n in names)}")
    return common.EXIT_OK


async def _action(
    args: argparse.Namespace, target: transport.Target, backup: BmsSettings | None
) -> tuple[BmsSettings, SettingsTable] | int:
    """Run the action: an exit code for writes, the settings read (and their table) for ``get`` and ``backup``."""
    link = target.open_link()
    try:
        session = target.plugin.open_session(link, target.options)
        address = packs.pack_address(session, args.address)
        if args.settings_action == "set":
            return await _write(session, address, parse_assignments(args.assignments), args.yes)
        if backup is not None:
            current = await session.read_settings(address)
            changes = restore_changes(session.settings_table(address), backup, current)
            if not changes:
                print("nothing to restore: the pack already holds the backup's values")
                return common.EXIT_OK
            return await _write(session, address, changes, args.yes)
        return await session.read_settings(address), session.settings_table(address)
    finally:
        await common.close_quietly(link)


def _output(args: argparse.Namespace, settings: BmsSettings, tab: SettingsTable) -> int:
    if args.settings_action == "backup":
        Path(args.out).write_text(dumps(settings), encoding="utf-8")
        print(f"{len(settings.values)} settings of {settings.vendor} {settings.family} written to {args.out}")
    elif args.json:
        print(json.dumps(settings.to_dict()))
    else:
        _print_settings(settings, tab)
    return common.EXIT_OK


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from err


def run(args: argparse.Namespace) -> int:
    """Check the command line (writes need ``--allow-control`` before anything opens), then run the action."""
    action = args.settings_action
    writes = action in {"set", "restore"}
    if writes and not args.allow_control:
        raise ControlRefused(
            f"refusing 'settings {action}' without --allow-control (a wrong threshold can damage cells)"
        )
    if action == "set":
        parse_assignments(args.assignments)  # a malformed word is a usage error before anything opens
    backup = loads(_read_file(args.file)) if action == "restore" else None
    if args.address == "all":
        raise ConfigError(f"settings {action} needs one pack address, not 'all'")
    plugin = common.registry().get(args.vendor)
    target = transport.target(args, plugin, control=writes)
    outcome = common.run(_action(args, target, backup))
    if isinstance(outcome, int):
        return outcome
    return _output(args, *outcome)
