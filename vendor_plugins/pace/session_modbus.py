"""The PACE Modbus RTU session (register map V1.3): read-only, same snapshot fields as the ASCII protocol.

It needs a :class:`~vendor_plugins.transports.base.RegisterLink` (Modbus-TCP, RTU over serial, or RTU through a
TCP bridge). Registers 0-7, 9-12 and 15-36 are read per unit (1-16); a unit that rejects a block with exception 2
(a real Revov R100 rejects 0-7, PROTOCOLS.md §4.7) has that block read register by register from then on. V1.3 has
no MOSFET register, so control is refused.
"""

from __future__ import annotations

from ..battery_settings import BmsSettings, SettingsTable
from ..errors import ConfigError, ControlRefused, DeviceError, UnsupportedError
from ..model import BmsSnapshot, DeviceInfo, Switch
from ..plugin import Session, SessionOptions
from ..transports.base import Link, RegisterLink, as_register_link
from . import codec_modbus as codec
from . import table as t
from . import table_settings_modbus as tm
from .session_settings import NO_SOC, ModbusSettingsIO


def _register_link(link: Link) -> RegisterLink:
    """``link`` as a register link, or a :class:`ConfigError` that says which options give one."""
    try:
        return as_register_link(link)
    except UnsupportedError as err:
        raise ConfigError(
            f"PACE Modbus needs a Modbus link (--modbus-tcp, or --serial/--tcp with --protocol modbus),"
            f" not {link.description}"
        ) from err


class PaceModbusSession(Session):
    """Reads PACE packs over Modbus."""

    family = "modbus"
    default_address = 1
    writes_control = False  # V1.3 has no MOSFET register: control is refused without I/O

    def __init__(self, link: Link, options: SessionOptions) -> None:
        """Bind to a register (Modbus) link; any other link is a :class:`ConfigError`."""
        super().__init__(link, options)
        self.register_link = _register_link(link)
        #: (unit, first register) of blocks a unit refused as a whole: read one register at a time from then on.
        self.split_blocks: set[tuple[int, int]] = set()
        self._settings = ModbusSettingsIO(self.register_link)

    def _unit(self, address: int | None) -> int:
        unit = self.default_address if address is None else address
        if not 1 <= unit <= t.MODBUS_MAX_UNIT:
            raise ConfigError(f"PACE Modbus unit must be 1-{t.MODBUS_MAX_UNIT}, got {unit}")
        return unit

    async def _block(self, unit: int, first: int, count: int) -> list[int]:
        if (unit, first) not in self.split_blocks:
            try:
                return await self.register_link.read_registers(unit, first, count)
            except DeviceError as err:
                if "exception 2" not in str(err) or count == 1:
                    raise
                self.split_blocks.add((unit, first))
        return [(await self.register_link.read_registers(unit, first + n, 1))[0] for n in range(count)]

    async def read_registers(self, unit: int) -> codec.PackRegisters:
        """Registers 0-36 of ``unit`` (the reserved ones read as 0)."""
        blocks = {first: await self._block(unit, first, count) for first, count in t.MODBUS_READ_BLOCKS}
        return codec.decode_registers(codec.image_of(blocks))

    async def read(self, address: int | None = None) -> BmsSnapshot:
        """One pack's snapshot."""
        return codec.to_snapshot(await self.read_registers(self._unit(address)))

    async def device_info(self, address: int | None = None) -> DeviceInfo:
        """Version, model and pack serial (registers 150-179) and the cell count."""
        unit = self._unit(address)
        first, count = t.MODBUS_INFO_BLOCK
        info = await self.register_link.read_registers(unit, first, count)
        cells = await self._block(unit, *t.MODBUS_CELLS_BLOCK)
        cell_count = sum(1 for mv in cells[: t.MODBUS_CELLS] if mv)
        return codec.to_device_info(info, unit, cell_count)

    async def _set_switch(self, address: int | None, switch: Switch, on: bool) -> BmsSnapshot:
        raise ControlRefused("PACE Modbus (register map V1.3) has no MOSFET register; use the ASCII protocol")

    # --- battery settings: registers 60-114 (session_settings) -------------------------------------------------
    def settings_table(self, address: int | None = None) -> SettingsTable:
        """The V1.3 settings registers 60-114."""
        return tm.TABLE

    async def _read_settings(self, address: int | None) -> BmsSettings:
        unit = self._unit(address)
        cells = await self._block(unit, *t.MODBUS_CELLS_BLOCK)
        return await self._settings.read(unit, sum(1 for mv in cells[: t.MODBUS_CELLS] if mv) or None)

    async def _write_settings(
        self, address: int | None, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]
    ) -> None:
        await self._settings.write(self._unit(address), target, names)

    def soc_unsupported_reason(self) -> str | None:
        """The V1.3 map has no SoC register."""
        return NO_SOC.format(family=self.family)
