"""PACE settings over both protocols: Modbus registers 60-114 and the ASCII v0x25 PbmsTools parameter frames.

The shared order (validate before any byte, read back, :class:`~vendor_plugins.errors.ControlNotConfirmed` naming
what did not take) is ``Session.write_settings``; these are the PACE parts it calls.

* Modbus: read 55 registers from 60 in one request (as esphome-pace-bms issue #17's real request does); write one
  FC 0x10 request spanning the changed registers, so the pack takes the whole change at once (no intermediate state
  a link drop could leave behind). An exception answer means nothing was taken: :class:`ControlRefused`.
* ASCII v0x25: read the 15 groups (one frame each); write each group holding a changed value as one parameter frame
  (the group's read INFO with the new values), in table order unless the rules need another (:func:`group_order`:
  no intermediate state breaks a rule the target keeps); RTN 0x09 stops the sequence and says which groups were
  already written. v0x20 documents no parameter commands: refused before any I/O.

Neither protocol documents a SoC command or a balancer on/off switch: refused with the reason.
"""

from __future__ import annotations

from typing import Protocol

from ..battery_settings import BmsSettings, Number, SettingsTable
from ..errors import ControlRefused, DeviceError, SettingsUnsupported
from ..transports.base import RegisterLink
from . import codec_settings as codec
from . import table_settings_ascii as ta
from . import table_settings_modbus as tm

VENDOR = "PACE"
NO_SOC = (
    "PACE {family}: no documented way to set the SoC (neither the Modbus map V1.3 nor the PbmsTools traffic has one)"
)


class ModbusSettingsIO:
    """Registers 60-114 of the units on one register link."""

    def __init__(self, link: RegisterLink) -> None:
        """Talk over ``link``."""
        self.link = link
        self.raws: dict[int, list[int]] = {}

    async def read(self, unit: int, cell_count: int | None) -> BmsSettings:
        """The 55 settings registers of ``unit``."""
        raws = await self.link.read_registers(unit, tm.FIRST, tm.COUNT)
        self.raws[unit] = list(raws)
        values = codec.decode_registers(raws)
        return BmsSettings(vendor=VENDOR, family=tm.FAMILY, cell_count=cell_count, values=values)

    async def write(self, unit: int, target: BmsSettings, names: tuple[str, ...]) -> None:
        """One FC 0x10 write of the span holding ``names``."""
        raws = self.raws.get(unit)
        if raws is None:
            raws = list(await self.link.read_registers(unit, tm.FIRST, tm.COUNT))
        first, values = codec.write_span(raws, target.values, names)
        try:
            await self.link.write_registers(unit, first, values)
        except DeviceError as err:
            raise ControlRefused(
                f"PACE unit {unit} refused the settings write (registers {first}-{first + len(values) - 1}: "
                f"{', '.join(names)}): {err}; nothing was taken"
            ) from err


def ascii_table(family: str | None) -> SettingsTable:
    """The v0x25 table; v0x20 has no documented parameter commands."""
    if family != ta.FAMILY:
        raise SettingsUnsupported(
            f"PACE {family}: no documented settings map (the parameter commands are documented for v0x25 only)"
        )
    return ta.TABLE


def group_order(current: BmsSettings, target: BmsSettings, names: tuple[str, ...]) -> list[ta.AsciiGroup]:
    """The groups holding ``names``, in table order unless another order keeps every rule in between.

    No intermediate state breaks a rule the target keeps: raising discharge over-current 1 above the old level 2
    writes level 2 first.
    """
    left = [g for g in ta.GROUPS if any(spec.name in names for spec in ta.specs_of(g))]
    state = dict(current.values)
    order: list[ta.AsciiGroup] = []
    while left:
        for group in left:
            trial = state | {s.name: target.values[s.name] for s in ta.specs_of(group) if s.name in names}
            if all(rule.holds(trial) or not rule.holds(target.values) for rule in ta.TABLE.rules):
                break
        else:
            group = left[0]
        left.remove(group)
        order.append(group)
        state |= {s.name: target.values[s.name] for s in ta.specs_of(group) if s.name in names}
    return order


class AsciiRequester(Protocol):
    """What :class:`AsciiSettingsIO` needs of a session (the ASCII session is one)."""

    async def request(self, address: int, request: bytes, what: str) -> bytes:
        """Send ``request`` and return the INFO of a normal answer (:class:`DeviceError` on an RTN error)."""


class AsciiSettingsIO:
    """The PbmsTools parameter groups of the packs of one ASCII session."""

    def __init__(self, session: AsciiRequester) -> None:
        """Send through ``session.request`` (address matching, echo handling, RTN checks)."""
        self.session = session
        self.infos: dict[tuple[int, int], bytes] = {}

    async def read(self, address: int, cell_count: int | None) -> BmsSettings:
        """Every group of the pack at ``address``."""
        values: dict[str, Number] = {}
        for group in ta.GROUPS:
            what = f"the {group.label} parameters (0x{group.read_cid2:02X})"
            info = await self.session.request(address, codec.read_request(address, group), what)
            self.infos[(address, group.read_cid2)] = info
            values |= codec.decode_group(group, info)
        return BmsSettings(vendor=VENDOR, family=ta.FAMILY, cell_count=cell_count, values=values)

    async def write(self, address: int, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]) -> None:
        """One parameter frame per group holding a changed name, in :func:`group_order`."""
        done: list[str] = []
        for group in group_order(current, target, names):
            info = self.infos.get((address, group.read_cid2))
            if info is None:
                info = await self.session.request(address, codec.read_request(address, group), group.label)
            request = codec.write_request(address, group, codec.encode_group(group, info, target.values))
            what = f"the {group.label} parameters (0x{group.write_cid2:02X})"
            try:
                await self.session.request(address, request, what)
            except DeviceError as err:
                already = f"; already written: {', '.join(done)}" if done else "; nothing was written before it"
                raise ControlRefused(f"{err}{already}") from err
            done.append(group.label)
