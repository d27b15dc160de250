"""JBD settings over a session: read, write and SoC set, each inside factory mode.

The sequences follow the phone app's real traffic (PROTOCOLS.md §3.5; syssi/esphome-jbd-bms btsnoop captures):

* **read**: enter factory mode (0x00 = 5678), read each settings register, exit *without* saving (0x01 = 0000);
* **write**: enter factory mode, write each changed register (settings sharing a register are merged into the word
  the device holds), exit *and save* (0x01 = 2828). A register the device refuses (error status) ends the sequence
  with exit-without-save, so nothing is stored, and raises :class:`ControlRefused` naming the settings;
* **SoC**: register 0xE0 "remaining capacity" (10 mAh; bms-tools register map, dbus-serialbattery
  ``REG_CAP_REMAINING``, esphome-jbd-bms ``JBD_CMD_CAP_REM``) set to percent x the full capacity the pack reports in
  0x03, inside factory mode, saved. No public capture shows this write; the base class confirms it by reading the
  SoC back.

Validation, the control opt-in, device confirmation and read-back are the shared order in
:mod:`vendor_plugins.battery_settings_write` (``Session.write_settings``); this mixin only speaks the registers.
"""

from __future__ import annotations

import contextlib

from ..battery_settings import BmsSettings, SettingsTable
from ..errors import BmsError, ControlRefused, DeviceError, LinkError
from ..framing import Expect, Frame
from ..transports.base import ByteLink
from . import codec, codec_settings
from . import table as t
from . import table_settings as ts


def _expect(register: int) -> Expect:
    def is_answer(frame: Frame) -> bool:
        return frame.command == register

    return Expect(assembler=codec.JbdAssembler, match=is_answer)


class JbdSettingsMixin:
    """Settings for :class:`~.session.JbdSession` (listed first among its bases, so these override the defaults)."""

    byte_link: ByteLink
    #: The register words of the last settings read (a write starts from them: bits not modelled stay unchanged).
    _settings_words: dict[int, int] | None = None

    def settings_table(self, address: int | None = None) -> SettingsTable:
        """The JBD settings table (one family)."""
        return ts.TABLE

    async def _register(self, request: bytes, register: int) -> bytes:
        frames = await self.byte_link.exchange(request, _expect(register))
        return codec.check_response(frames[0], register)

    async def _put(self, register: int, data: bytes) -> None:
        await self._register(codec.build_write(register, data), register)

    async def _leave_factory_mode_quietly(self) -> None:
        """Exit without saving after a failure; a dead link makes this fail too, which changes nothing."""
        with contextlib.suppress(BmsError):
            await self._put(t.REG_FACTORY_EXIT, t.FACTORY_EXIT_NO_SAVE)

    async def read_settings_words(self) -> dict[int, int]:
        """Every settings register's word, read inside factory mode (left without saving)."""
        await self._put(t.REG_FACTORY_ENTER, t.FACTORY_ENTER_KEY)
        words: dict[int, int] = {}
        try:
            for register in ts.REGISTERS:
                payload = await self._register(codec_settings.build_read(register), register)
                words[register] = codec_settings.decode_word(payload, register)
        except DeviceError as err:
            await self._leave_factory_mode_quietly()
            raise DeviceError(
                f"{err} while reading settings in factory mode (a board with a password set refuses them)"
            ) from err
        except BmsError as err:
            if not isinstance(err, LinkError):
                await self._leave_factory_mode_quietly()
            raise
        await self._put(t.REG_FACTORY_EXIT, t.FACTORY_EXIT_NO_SAVE)
        self._settings_words = words
        return words

    async def _read_settings(self, address: int | None) -> BmsSettings:
        values = codec_settings.decode_settings(await self.read_settings_words())
        return BmsSettings(vendor="jbd", family="jbd", cell_count=int(values["cell_count"]), values=values)

    async def _write_settings(
        self, address: int | None, current: BmsSettings, target: BmsSettings, names: tuple[str, ...]
    ) -> None:
        words = self._settings_words if self._settings_words is not None else await self.read_settings_words()
        changes = codec_settings.encode_changes(target.values, names, words)
        await self._put(t.REG_FACTORY_ENTER, t.FACTORY_ENTER_KEY)
        for register, word in changes.items():
            try:
                await self._register(codec_settings.build_write(register, word), register)
            except DeviceError as err:
                await self._leave_factory_mode_quietly()
                refused = [name for name in names if ts.BY_NAME[name].register == register]
                raise ControlRefused(
                    f"the JBD pack refused register 0x{register:02X} ({', '.join(refused)}); left factory mode "
                    "without saving"
                ) from err
        await self._put(t.REG_FACTORY_EXIT, ts.FACTORY_EXIT_SAVE)
        self._settings_words = None

    def soc_unsupported_reason(self) -> str | None:
        """JBD sets the SoC through the documented remaining-capacity register 0xE0."""
        return None

    async def _set_soc(self, address: int | None, percent: float) -> None:
        payload = await self._register(codec.build_read(t.REG_BASIC), t.REG_BASIC)
        full = codec.decode_basic(payload).design_capacity
        if not full:
            raise ControlRefused("the JBD pack reports no full capacity: cannot turn a SoC into remaining capacity")
        word = round(full * percent / 100 / 0.01)
        await self._put(t.REG_FACTORY_ENTER, t.FACTORY_ENTER_KEY)
        try:
            await self._register(codec_settings.build_write(ts.REG_REMAINING_CAPACITY, word), ts.REG_REMAINING_CAPACITY)
        except DeviceError as err:
            await self._leave_factory_mode_quietly()
            raise ControlRefused("the JBD pack refused the remaining capacity (0xE0); nothing saved") from err
        await self._put(t.REG_FACTORY_EXIT, ts.FACTORY_EXIT_SAVE)
