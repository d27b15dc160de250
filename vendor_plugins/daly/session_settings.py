"""DALY settings over D2: read the 0x80-0xA8 block and 0xCF, write with function 06, set the SoC through 0xA7.

The shared order (validate before any byte, read back, :class:`~vendor_plugins.errors.ControlNotConfirmed` naming
what did not take) is :func:`vendor_plugins.battery_settings_write.verified_write`, run by
``Session.write_settings``; this module is the D2 part: one function-06 write per register, each checked against the
device's echo, in an order that keeps every intermediate state within the rules where one exists (raising an
over-voltage pair writes the protection before the warning, lowering it the warning first), so a link drop between
two writes never leaves a rule-breaking pair behind. A device exception on one write stops the sequence and says
which registers were already written. A5 and P81 have no documented settings map: refused before any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..battery_settings import BmsSettings, Number, SettingsTable
from ..errors import ControlNotConfirmed, ControlRefused, DeviceError, FrameError, SettingsUnsupported
from . import codec_d2 as d2
from . import codec_settings as codec
from . import table_settings as ts
from .session_d2 import ModbusReader

VENDOR = "DALY"

UNSUPPORTED: dict[str, str] = {
    "a5": "DALY family A5 (legacy UART/RS485): its settings commands are not in the vendor's protocol PDFs "
    "(V1.0, V1.2); no documented settings map",
    "p81": "DALY family P81: its settings block (0x100+) is mapped only by analogy with D2 in esphome-daly-bms and "
    "decoded by no public source or capture; no documented settings map",
}


def table_for(family: str | None) -> SettingsTable:
    """The settings table of ``family``; :class:`SettingsUnsupported` (naming the family and why) otherwise."""
    if family == ts.FAMILY:
        return ts.TABLE
    if family in UNSUPPORTED:
        raise SettingsUnsupported(UNSUPPORTED[family])
    # "auto" before detection: D2 is assumed for the checks; the read after detection refuses any other family.
    return ts.TABLE


def safe_order(
    table: SettingsTable, current: Mapping[str, Number], target: Mapping[str, Number], names: tuple[str, ...]
) -> list[str]:
    """``names`` in an order where each intermediate state keeps every rule the start and the end both keep."""
    state = dict(current)
    left = list(names)
    order: list[str] = []
    while left:
        for name in left:
            trial = {**state, name: target[name]}
            if all(
                rule.holds(trial) or not rule.holds(target) for rule in table.rules if name in (rule.lower, rule.upper)
            ):
                break
        else:
            name = left[0]
        left.remove(name)
        order.append(name)
        state[name] = target[name]
    return order


class D2SettingsIO:
    """The D2 settings requests of one reader."""

    def __init__(self, reader: ModbusReader) -> None:
        """Use ``reader``'s link and device byte (D2 only: :class:`SettingsUnsupported` otherwise)."""
        if reader.variant is not d2.D2:
            raise SettingsUnsupported(UNSUPPORTED.get(reader.family, f"DALY {reader.family}: no settings map"))
        self.reader = reader
        self.raws: dict[int, int] = {}

    async def read(self) -> BmsSettings:
        """The 41-register block and the balancer switch, in vocabulary units."""
        block = await self.reader.read_registers(ts.SETTINGS_START, ts.SETTINGS_REGS, "the settings block")
        balancer = await self.reader.read_registers(ts.REG_BALANCER, 1, "the balancer switch")
        values, self.raws = codec.decode_block(block, int.from_bytes(balancer, "big"))
        return BmsSettings(vendor=VENDOR, family=ts.FAMILY, cell_count=codec.cell_count(block), values=values)

    async def write(self, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]) -> None:
        """One function-06 write per setting, in :func:`safe_order`, each checked against the echo."""
        if not self.raws:
            await self.read()
        order = safe_order(ts.TABLE, current.values, target.values, names)
        done: list[str] = []
        for name in order:
            spec = ts.BY_NAME[name]
            raw = codec.encode_raw(spec, target.values[name], self.raws.get(spec.register))
            what = f"{name} (register 0x{spec.register:02X})"
            try:
                await self.reader.write_register(spec.register, raw, what)
            except DeviceError as err:
                already = f"; already written: {', '.join(done)}" if done else "; nothing was written before it"
                raise ControlRefused(f"{err}{already}") from err
            except FrameError as err:
                raise ControlNotConfirmed(f"DALY {what}: {err}", names=(name,)) from err
            done.append(name)

    async def set_soc(self, percent: float) -> None:
        """Write 0xA7 (0.1 %); the caller confirms it through the status SoC (0xA7 is write-only)."""
        try:
            await self.reader.write_register(ts.REG_SOC, codec.soc_raw(percent), "the SoC (register 0xA7)")
        except DeviceError as err:
            raise ControlRefused(f"DALY refused the SoC {percent:g} %: {err}") from err
        except FrameError as err:
            raise ControlNotConfirmed(f"DALY SoC write: {err}", names=("soc",)) from err


def soc_unsupported(family: str | None) -> str | None:
    """Why ``family`` cannot set the SoC, or ``None`` (D2, and "auto" until detection says otherwise)."""
    if family in UNSUPPORTED:
        return UNSUPPORTED[family].replace("settings map", "way to set the SoC")
    return None
