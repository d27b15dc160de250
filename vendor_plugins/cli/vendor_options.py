"""Vendor-specific options on the command line, declared by the plugins themselves (:class:`VendorOption`).

Every registered plugin's options are offered, each flag once (plugins may share one). While the command line is
parsed a value must be one that a plugin declaring the flag accepts (its ``parse``; a ``ValueError`` is a usage
error with its message); the chosen vendor's session then gets its own parse of the flags it declares, in
:attr:`SessionOptions.extra` under each option's ``key``. A flag the chosen vendor does not declare is ignored, as
it always was — except that it still says what the link carries: when a plugin declaring it reads registers with
that value (:meth:`VendorPlugin.needs_register_link`, e.g. a ``modbus`` protocol), ``--serial``/``--tcp`` carry
Modbus RTU whichever vendor was chosen, and a vendor without Modbus refuses the link.

``--family`` is generic: it is checked against the chosen plugin's ``families`` (or ``auto``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, one_line
from ..plugin import SessionOptions, VendorOption, VendorPlugin
from ..registry import Registry

_LOGGER = logging.getLogger(__name__)

#: Where the parsed command line keeps the vendor flags given: ``{flag: text}``.
DEST = "vendor_flags"


def declared(registry: Registry) -> dict[str, list[tuple[VendorPlugin, VendorOption]]]:
    """Every vendor flag of the registered plugins, with the plugins (and options) that declare it."""
    flags: dict[str, list[tuple[VendorPlugin, VendorOption]]] = {}
    for plugin in registry:
        for option in plugin.options:
            flags.setdefault(option.flag, []).append((plugin, option))
    return flags


class _StoreText(argparse.Action):
    """Keep a vendor flag's text in ``args.vendor_flags`` (the chosen vendor parses it later)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = dict(getattr(namespace, DEST, None) or {})
        given[self.option_strings[0]] = values
        setattr(namespace, DEST, given)


def _accepted(options: Sequence[VendorOption]) -> Callable[[str], str]:
    """An argparse ``type``: the text, when a plugin declaring the flag accepts it (else its message)."""

    def check(text: str) -> str:
        problems: list[str] = []
        for option in options:
            try:
                option.parse(text)
            except ValueError as err:
                problems.append(one_line(err))
            else:
                return text
        raise argparse.ArgumentTypeError(problems[0])

    return check


@dataclass(frozen=True, slots=True)
class Offer:
    """What the command lines offer: the registry's plugins and their vendor flags (:meth:`of`)."""

    registry: Registry
    #: Flag -> the plugins (and options) that declare it.
    flags: Mapping[str, Sequence[tuple[VendorPlugin, VendorOption]]]

    @classmethod
    def of(cls, registry: Registry, reserved: Collection[str] = ()) -> Offer:
        """Every vendor flag of ``registry``'s plugins but those that are no long option or one of ``reserved``.

        A flag left out is logged once: ``bmsgw``'s own flags (``reserved``) always win.
        """
        flags = declared(registry)
        for flag in list(flags):
            if flag in reserved or not flag.startswith("--") or len(flag) < 3:
                names = ", ".join(plugin.name for plugin, _ in flags.pop(flag))
                why = "an option of bmsgw itself" if flag in reserved else "not a long option (--name)"
                _LOGGER.warning("vendor option %r of %s is not offered: %s", flag, names, why)
        return cls(registry, flags)


def add_flags(group: argparse._ArgumentGroup, offer: Offer) -> None:
    """Offer the vendor flags of ``offer`` in ``group``, each once."""
    for flag, declarers in offer.flags.items():
        options = [option for _, option in declarers]
        helps = dict.fromkeys(option.help for option in options)
        group.add_argument(
            flag,
            action=_StoreText,
            dest=DEST,
            default=argparse.SUPPRESS,
            type=_accepted(options),
            metavar=options[0].metavar,
            help="; ".join(helps),
        )


def given(args: argparse.Namespace) -> dict[str, str]:
    """The vendor flags on the command line: ``{flag: text}``."""
    texts: dict[str, str] = getattr(args, DEST, None) or {}
    return dict(texts)


def session_options(args: argparse.Namespace, plugin: VendorPlugin, *, control: bool = False) -> SessionOptions:
    """``plugin``'s session options: ``--family`` and its own vendor flags, parsed by the plugin."""
    texts = given(args)
    extra: dict[str, str | int] = {}
    for option in plugin.options:
        text = texts.get(option.flag)
        if text is None:
            continue
        try:
            extra[option.key] = option.parse(text)
        except ValueError as err:
            raise ConfigError(f"argument {option.flag}: {one_line(err)}") from None
    family: str | None = args.family
    return SessionOptions(control_enabled=control, family=family, extra=extra)


def check_family(plugin: VendorPlugin, family: str | None) -> None:
    """Refuse (usage error) a ``--family`` that ``plugin`` does not know."""
    if family is not None and plugin.families and family not in (*plugin.families, "auto"):
        raise ConfigError(
            f"unknown family {family!r} for vendor {plugin.name!r} (known: {', '.join(plugin.families)}, auto)"
        )


@dataclass(frozen=True, slots=True)
class RegisterRequest:
    """A vendor flag whose value asks for a register (Modbus) link, as typed."""

    flag: str
    text: str

    def __str__(self) -> str:
        """``--flag value``."""
        return f"{self.flag} {self.text}"


def register_request(args: argparse.Namespace, registry: Registry) -> RegisterRequest | None:
    """The vendor flag given that asks for Modbus: a plugin declaring it reads registers with that value."""
    flags = declared(registry)
    for flag, text in given(args).items():
        for plugin, option in flags.get(flag, ()):
            try:
                value = option.parse(text)
            except ValueError:
                continue
            if plugin.needs_register_link(SessionOptions(extra={option.key: value})):
                return RegisterRequest(flag, text)
    return None


def needing_vendor(args: argparse.Namespace, request: RegisterRequest | None) -> list[str]:
    """Flags given that mean something for one vendor only: ``--family``, vendor flags that do not choose the link."""
    flags = [] if args.family is None else ["--family"]
    return flags + [flag for flag in given(args) if request is None or flag != request.flag]
