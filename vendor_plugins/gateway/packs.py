"""One connection of the gateway: its link, session and pack reader, polled on its own interval.

:class:`ConnectionRunner` opens the link through :func:`vendor_plugins.connect.open_link` and reads through
:class:`vendor_plugins.reader.PackReader` (the library's one way to do both). Each round, per pack:

* first answer → its entities (:mod:`vendor_plugins.entity_catalog`; with control also its battery settings,
  :mod:`.settings`) are announced by discovery, and whatever it announced last time but no longer offers is cleared;
* an answer → its states (only changed ones go out: :class:`~.publisher.Publisher`), ``online``, alarm/warning
  transitions as events, its power into its energy meter;
* no answer → ``offline`` and the energy meter's run ends (a gap is never bridged); the other packs go on.

After the round, battery settings are read for packs whose copy is older than its ``settings_interval``.

Commands (:meth:`ConnectionRunner.command`) go through the library's verified paths —
:meth:`~vendor_plugins.plugin.Session.set_switch`, :meth:`~vendor_plugins.plugin.Session.write_settings`,
:meth:`~vendor_plugins.plugin.Session.set_soc`: refused unless control is enabled for this connection, validated
before a byte is sent, confirmed by read-back — serialised with polling; the state read back is published, a refusal
or failure is logged and published on ``…/<pack>/command_error`` (after a failed settings write the settings are read
again); nothing is retried.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import entity_catalog as catalog
from ..battery_settings import BmsSettings
from ..connect import open_link
from ..detect import detect
from ..energy import EnergyIntegrator, EnergyState
from ..entity_names import EVENT
from ..errors import BmsError, ControlRefused, SettingsRefused, SettingsUnsupported, one_line
from ..model import Alarm, BmsSnapshot, Switch
from ..plausibility import power_limit
from ..plugin import LinkKind, Session, SessionOptions, VendorPlugin
from ..reader import PackAddress, PackReader, PackResult
from ..settings import allowed_addresses
from ..transports.base import Link
from .config import ConnectionConfig
from .discovery import OFF, ON, PackIdentity, discovery_messages, state_text
from .publisher import Publisher
from .settings import (
    PREFIX,
    SET_SOC_LIMITS,
    SET_SOC_SPEC,
    SETTINGS_RETRY,
    PackSettings,
    pack_settings,
    parse_number,
    parse_setting,
    published,
)
from .topics import OFFLINE, ONLINE, Topics, pack_id

_LOGGER = logging.getLogger(__name__)

#: Intervals longer than this many poll intervals are not integrated into the energy meters (as in the integration).
ENERGY_MAX_GAP_POLLS = 4
#: Energy meters publish kWh with this many decimals (1 Wh).
ENERGY_DECIMALS = 3
_SWITCHES = {catalog.switch_spec(s).key: s for s in Switch}


@dataclass
class PackState:
    """What the gateway knows about one pack."""

    pack: str
    address: PackAddress
    energy: EnergyIntegrator
    specs: list[catalog.EntitySpec] | None = None
    online: bool | None = None
    alarms: frozenset[Alarm] = frozenset()
    warnings: frozenset[Alarm] = frozenset()
    error: str | None = None
    states: dict[str, str] = field(default_factory=dict)
    settings: PackSettings | None = None


def pack_specs(snapshot: BmsSnapshot, plugin: VendorPlugin, *, control: bool) -> list[catalog.EntitySpec]:
    """Every entity of a pack whose first reading is ``snapshot`` — the set the Home Assistant integration creates."""
    specs = catalog.sensor_specs(snapshot)
    if snapshot.power is not None:
        specs += catalog.ENERGY_SPECS
    specs += catalog.binary_sensor_specs(snapshot, catalog.reported_alarms(plugin.reported_alarms))
    if control:
        specs += catalog.switch_specs(snapshot, plugin.capabilities.switches)
    specs.append(catalog.EVENT_SPEC)
    return specs


class ConnectionRunner:
    """Polls one connection's packs and publishes them (see the module docstring)."""

    def __init__(
        self,
        config: ConnectionConfig,
        publisher: Publisher,
        topics: Topics,
        energy: dict[str, EnergyState],
        *,
        on_announce: Callable[[], None] | None = None,
    ) -> None:
        """Nothing is opened until :meth:`run`.

        ``energy``: the saved meters, by pack; ``on_announce``: called after a pack announced its entities (the
        gateway then saves what was announced).
        """
        self.config = config
        self.on_announce = on_announce
        self.publisher = publisher
        self.topics = topics
        self._saved_energy = energy
        self.plugin: VendorPlugin | None = None
        self.link: Link | None = None
        self.session: Session | None = None
        self.reader: PackReader | None = None
        if config.plugin is not None:
            self._open(config.plugin, config.options, config.addresses)
        self.packs: dict[PackAddress, PackState] = {}
        self.lock = asyncio.Lock()
        self.rounds = 0
        #: Settings reads (of every pack) since start.
        self.settings_reads = 0
        self._round_failed: str | None = None
        #: Pack -> the discovery topics it announced (this run, or as the state file remembers from the last one).
        self.announced: dict[str, set[str]] = {}

    def _open(self, plugin: VendorPlugin, options: SessionOptions, addresses: list[PackAddress] | None) -> None:
        self.plugin = plugin
        self.link = open_link(self.config.settings, plugin, options)
        self.session = plugin.open_session(self.link, options)
        if addresses is None:
            candidates = allowed_addresses(plugin, self.config.settings.kind, options)
            self.reader = PackReader.scanning(self.session, candidates)
        else:
            self.reader = PackReader(self.session, addresses)

    async def _detect(self) -> PackReader:
        """``vendor: auto``: probe (read-only) until a plugin answers, then read through it."""
        settings, config = self.config.settings, self.config
        address = config.addresses[0] if config.addresses else None
        if settings.kind is LinkKind.BLE:
            found = await detect(lambda p: open_link(settings, p), config.candidates, address, stop_at_first=True)
        else:
            link = open_link(settings, config.candidates[0])
            try:
                found = await detect(link, config.candidates, address, stop_at_first=True)
            finally:
                await link.close()
        options = dataclasses.replace(found.options, control_enabled=config.control)
        _LOGGER.info("%s: detected %s (%s) at address %s", config.name, found.plugin.title, options.family, address)
        self._open(found.plugin, options, [found.winner.address if address is not None else None])
        assert self.reader is not None
        return self.reader

    @property
    def max_gap(self) -> float:
        """Longest interval integrated into the energy meters (seconds)."""
        return ENERGY_MAX_GAP_POLLS * self.config.poll_interval

    def _pack(self, address: PackAddress) -> PackState:
        state = self.packs.get(address)
        if state is None:
            name = pack_id(self.config.name, address)
            saved = self._saved_energy.get(name)
            # Totals only: the restart itself is a gap (nothing is integrated across it).
            meter = EnergyIntegrator(
                self.max_gap, None if saved is None else EnergyState(saved.charged_wh, saved.discharged_wh)
            )
            state = self.packs[address] = PackState(name, address, meter)
        return state

    async def run(self) -> None:
        """Poll every ``poll_interval`` seconds until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.poll_once()
            except Exception:  # a bug in a plugin must not stop the other connections (nor this one for good)
                _LOGGER.exception("%s: the poll failed unexpectedly; trying again next interval", self.config.name)
                self._whole_round_failed("internal error (see the log)")
            await asyncio.sleep(max(0.0, self.config.poll_interval - (loop.time() - started)))

    async def poll_once(self) -> None:
        """One round over every pack of the connection."""
        async with self.lock:
            try:
                reader = self.reader if self.reader is not None else await self._detect()
                results = await reader.read_round()
            except (BmsError, OSError) as err:  # a scan found no pack at all
                self._whole_round_failed(one_line(err))
                return
            finally:
                self.rounds += 1
        if self._round_failed is not None:
            _LOGGER.info("%s: answering again", self.config.name)
            self._round_failed = None
        now = time.time()
        for result in results:
            self._publish(result, now)
        await self.refresh_settings()

    def _whole_round_failed(self, error: str) -> None:
        if self._round_failed != error:
            _LOGGER.warning("%s: %s", self.config.name, error)
        self._round_failed = error
        for state in self.packs.values():
            self._offline(state, error)

    def _offline(self, state: PackState, error: str) -> None:
        state.energy.gap()
        if state.online is not False:
            _LOGGER.warning("%s: pack %s unavailable: %s", self.config.name, state.pack, error)
        state.online = False
        state.error = error
        self.publisher.set(self.topics.availability(state.pack), OFFLINE, important=True)

    def _publish(self, result: PackResult, now: float) -> None:
        state = self._pack(result.address)
        snapshot = result.snapshot
        if snapshot is None:
            self._offline(state, result.error or "no answer")
            return
        if state.specs is None:
            self._announce(state, result, snapshot)
        elif state.online is False:
            _LOGGER.info("%s: pack %s answering again", self.config.name, state.pack)
            self._events(state, snapshot)
        else:
            self._events(state, snapshot)
        state.online = True
        state.error = None
        state.energy.add(now, snapshot.power, power_limit(snapshot))
        self._states(state, snapshot)
        self.publisher.set(self.topics.availability(state.pack), ONLINE, important=True)

    def _announce(self, state: PackState, result: PackResult, snapshot: BmsSnapshot) -> None:
        plugin = self.plugin
        assert plugin is not None
        specs = pack_specs(snapshot, plugin, control=self.config.control)
        extras: dict[str, dict[str, object]] = {}
        if self.config.control:
            state.settings = self._settings_of(result.address)
            if self.session is not None and self.session.soc_unsupported_reason() is None and snapshot.soc is not None:
                specs.append(SET_SOC_SPEC)
                extras[SET_SOC_SPEC.key] = SET_SOC_LIMITS
        state.specs = specs
        state.alarms, state.warnings = snapshot.alarms, snapshot.warnings
        name = self.config.name if result.address is None else f"{self.config.name} {result.address}"
        identity = PackIdentity(state.pack, name, plugin.title, result.device, via=self.topics.node_id)
        settings = state.settings
        announced = specs + (settings.specs if settings is not None else [])
        extras.update(settings.extras if settings is not None else {})
        messages = discovery_messages(self.topics, identity, announced, extras)
        for topic in sorted(self.announced.get(state.pack, set()) - messages.keys()):
            self.publisher.set(topic, "")  # announced before, no longer offered (control turned off...): removed
        for topic, payload in messages.items():
            self.publisher.set(topic, payload)
        self.announced[state.pack] = set(messages)
        if self.on_announce is not None:
            self.on_announce()

    def _settings_of(self, address: PackAddress) -> PackSettings:
        assert self.session is not None
        try:
            return pack_settings(self.session.settings_table(address))
        except SettingsUnsupported:
            return pack_settings(None)

    async def refresh_settings(self) -> None:
        """Read each answering pack's settings if older than ``settings_interval`` (never every poll)."""
        loop = asyncio.get_running_loop()
        for state in list(self.packs.values()):
            settings = state.settings
            if settings is None or not state.online or not settings.due(loop.time()):
                continue
            assert self.session is not None
            try:
                async with self.lock:
                    values = await self.session.read_settings(state.address)
            except BmsError as err:
                error = one_line(err)
                if settings.failing != error:
                    _LOGGER.warning("%s: pack %s: cannot read its settings: %s", self.config.name, state.pack, error)
                settings.failing = error
                settings.due_at = loop.time() + SETTINGS_RETRY
                continue
            self._settings_read(state, values)

    def _settings_read(self, state: PackState, values: BmsSettings) -> None:
        settings = state.settings
        assert settings is not None
        settings.values = values
        settings.failing = None
        settings.due_at = asyncio.get_running_loop().time() + self.config.settings_interval
        self.settings_reads += 1
        for key, name in settings.names.items():
            text = state_text(published(settings, key, values.values.get(name)))
            state.states[key] = text
            self.publisher.set(self.topics.state(state.pack, key), text)

    def _states(self, state: PackState, snapshot: BmsSnapshot) -> None:
        assert state.specs is not None
        for spec in state.specs:
            if spec.platform == EVENT:
                continue
            if spec.value_fn is not None:
                text = state_text(spec.value_fn(snapshot))
            else:  # an energy meter
                wh = state.energy.charged_wh if spec.key == "energy_charged" else state.energy.discharged_wh
                text = state_text(round(wh / 1000.0, ENERGY_DECIMALS))
            state.states[spec.key] = text
            self.publisher.set(self.topics.state(state.pack, spec.key), text)

    def _events(self, state: PackState, snapshot: BmsSnapshot) -> None:
        for old, new, raised, cleared in (
            (state.alarms, snapshot.alarms, catalog.ALARM_RAISED, catalog.ALARM_CLEARED),
            (state.warnings, snapshot.warnings, catalog.WARNING_RAISED, catalog.WARNING_CLEARED),
        ):
            for alarm in sorted(new - old):
                self.publisher.event(self.topics.events(state.pack), json.dumps({"event_type": raised, "alarm": alarm}))
            for alarm in sorted(old - new):
                self.publisher.event(
                    self.topics.events(state.pack), json.dumps({"event_type": cleared, "alarm": alarm})
                )
        state.alarms, state.warnings = snapshot.alarms, snapshot.warnings

    def pack_by_id(self, pack: str) -> PackState | None:
        """The pack whose topic level is ``pack`` (``None``: not one of this connection's)."""
        return next((state for state in self.packs.values() if state.pack == pack), None)

    async def command(self, state: PackState, key: str, payload: bytes) -> None:
        """Run one command through the verified path (see the module docstring); never raises for a refusal."""
        text = payload.decode("utf-8", "replace").strip()
        snapshot: BmsSnapshot | None = None
        try:
            assert self.session is not None  # a pack is known: the session exists
            switch = _SWITCHES.get(key)
            if key.startswith(PREFIX):
                await self._write_setting(state, key[len(PREFIX) :], text)
            elif key == SET_SOC_SPEC.key:
                self.session.require_control()
                percent = parse_number(key, text)
                async with self.lock:
                    snapshot = await self.session.set_soc(state.address, percent)
            elif switch is None:
                raise ControlRefused(f"{key!r} is not a command of this gateway")
            else:
                if text not in (ON, OFF):
                    raise ControlRefused(f"payload must be {ON} or {OFF}, not {text[:20]!r}")
                async with self.lock:
                    snapshot = await self.session.set_switch(state.address, switch, text == ON)
        except BmsError as err:
            message = f"{key} {text[:20]}: {one_line(err)}"
            _LOGGER.warning("%s: pack %s: command refused or failed: %s", self.config.name, state.pack, message)
            self.publisher.event(self.topics.command_error(state.pack), message)
            return
        _LOGGER.info("%s: pack %s: %s %s confirmed", self.config.name, state.pack, key, text)
        if state.specs is not None and snapshot is not None:
            self._states(state, snapshot)

    async def _write_setting(self, state: PackState, name: str, text: str) -> None:
        """One setting through the library's verified write; the settings read back are published."""
        assert self.session is not None
        self.session.require_control()  # before anything else: without control, not a byte
        scale = state.settings.scales.get(f"{PREFIX}{name}", 1.0) if state.settings is not None else 1.0
        value = parse_setting(name, text, scale)
        async with self.lock:
            try:
                values = await self.session.write_settings(state.address, {name: value})
            except SettingsRefused:
                raise  # refused before any write: nothing changed on the pack
            except BmsError:
                if state.settings is not None:  # show what the pack holds now
                    try:
                        again = await self.session.read_settings(state.address)
                    except BmsError:
                        state.settings.due_at = 0.0
                    else:
                        self._settings_read(state, again)
                raise
        if state.settings is not None:
            self._settings_read(state, values)

    def energy_states(self) -> dict[str, EnergyState]:
        """Every pack's energy meters (for the state file), including saved ones of packs not seen yet."""
        out = dict(self._saved_energy)
        out.update({state.pack: state.energy.state() for state in self.packs.values()})
        return out

    async def close(self) -> None:
        """Close the link (a failure to close is only logged)."""
        if self.link is None:
            return
        try:
            await self.link.close()
        except (BmsError, OSError) as err:
            _LOGGER.debug("closing %s failed: %s", self.link.description, err)
