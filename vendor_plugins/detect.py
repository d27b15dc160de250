"""Generic, read-only vendor detection: which registered plugins answer on a link, and what the winner reads.

:func:`probe_all` runs every plugin's read-only :meth:`~vendor_plugins.plugin.VendorPlugin.probe` against one
device and returns the answers in probe order; :func:`detect` does the same and then reads the winner's snapshot
(the first answer wins). ``bmsgw probe`` and Home Assistant's "detect automatically" both use them.

Keeping a full probe short (a few seconds at 9600 baud when the address is given):

* every request on a byte link gets a short per-request timeout (:data:`PROBE_TIMEOUT`; BLE:
  :data:`PROBE_TIMEOUT_BLE`) — a device that answers at all answers a read within it;
* a request that got no answer is not sent again in the same probe (a rebrand plugin's reads are often the very
  requests the protocol's owner already sent);
* plugins that speak no protocol of their own but detect another plugin's (``probe_last = True``) come
  last, so the plugin that owns the protocol wins.

* the winner's snapshot is read as soon as it answered, while its link is open (no extra connection).

Measured with ``benchmarks/bench_probe.py``: nothing answering on a 9600-baud pseudo-terminal, address given,
7 requests in all — 3.5 s in-process, 3.9 s for the whole ``bmsgw probe`` process.

Links: pass one link (serial, TCP: every plugin talks through it; the caller closes it) or a factory
``plugin -> Link`` (BLE: each plugin needs its own GATT profile; each link is closed after its probe). A shared link
that fails at the transport level (refused, port gone) ends the probe with that error.

Home Assistant's "detect automatically"::

    found = await detect(link, candidates, stop_at_first=True)  # serial/TCP: one link, closed by the caller
    found = await detect(lambda p: BleLink(ble_device, p.ble_profile, ...), candidates, stop_at_first=True)
    # store found.plugin.name, found.options.family and found.winner.address; DeviceTimeout: nothing answered,
    # TransportError: cannot connect
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import BmsError, ConfigError, DeviceTimeout, TransportError
from .framing import Expect, Frame
from .plugin import BleProfile, LinkKind, ProbeResult, SessionOptions, VendorPlugin
from .transports.base import ByteLink, Link

if TYPE_CHECKING:
    from .model import BmsSnapshot

_LOGGER = logging.getLogger(__name__)

#: Per-request timeout while probing serial and TCP links (s): a D2 status answer takes 0.14 s at 9600 baud.
PROBE_TIMEOUT = 0.5
#: Per-request timeout while probing over BLE (s): answers arrive in notifications spread over connection events.
PROBE_TIMEOUT_BLE = 1.5

#: Creates the link one plugin is probed through (BLE: with that plugin's GATT profile).
LinkFactory = Callable[[VendorPlugin], Link]
#: ``None``: each plugin's default pack; an int: that address; a sequence: every address on bus vendors.
Addresses = int | Sequence[int] | None


def probe_timeout(kind: LinkKind) -> float:
    """The default per-request probe timeout for a link kind."""
    return PROBE_TIMEOUT_BLE if kind is LinkKind.BLE else PROBE_TIMEOUT


@dataclass(slots=True)
class ProbeLog:
    """What one probe did: every request sent (by plugin), the ones nobody answered, transport failures."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)
    unanswered: set[bytes] = field(default_factory=set)
    transport_errors: list[TransportError] = field(default_factory=list)
    #: Where the probe went (the first link's description).
    where: str = ""


class ProbeLink(ByteLink):
    """A byte link as one plugin's probe sees it: short timeouts, every request logged, no question asked twice.

    A wrapped BLE link's :attr:`profile` stays reachable, so a session may choose the GATT service (a plugin
    whose units differ in their GATT profile).
    """

    def __init__(self, inner: ByteLink, plugin: str, timeout: float, log: ProbeLog) -> None:
        """Wrap ``inner`` for ``plugin``'s probe, recording into the shared ``log``."""
        self.inner = inner
        self.kind = inner.kind
        self.plugin = plugin
        self.timeout = timeout
        self.log = log
        if not log.where:
            log.where = inner.description

    @property
    def description(self) -> str:
        """The wrapped link's description."""
        return self.inner.description

    @property
    def connected(self) -> bool:
        """Whether the wrapped link is connected."""
        return self.inner.connected

    @property
    def profile(self) -> BleProfile:
        """The wrapped BLE link's profile (``AttributeError`` on other links)."""
        profile = getattr(self.inner, "profile", None)
        if not isinstance(profile, BleProfile):
            raise AttributeError(f"{self.description} has no BLE profile")
        return profile

    @profile.setter
    def profile(self, value: BleProfile) -> None:
        if not isinstance(getattr(self.inner, "profile", None), BleProfile):
            raise AttributeError(f"{self.description} has no BLE profile")
        setattr(self.inner, "profile", value)  # noqa: B010 - Link declares no profile; BLE links have one

    async def exchange(self, request: bytes, expect: Expect) -> list[Frame]:
        """Send ``request`` unless it already went unanswered in this probe, with the probe's timeout."""
        if request in self.log.unanswered:
            raise DeviceTimeout(f"{self.description}: {request[:8].hex()}… went unanswered earlier in this probe")
        self.log.sent.append((self.plugin, request))
        limit = self.timeout if expect.timeout is None else min(expect.timeout, self.timeout)
        try:
            return await self.inner.exchange(request, dataclasses.replace(expect, timeout=limit))
        except DeviceTimeout:
            self.log.unanswered.add(request)
            raise
        except TransportError as err:
            self.log.transport_errors.append(err)
            raise

    async def close(self) -> None:
        """Close the wrapped link."""
        await self.inner.close()


def probe_order(plugins: Iterable[VendorPlugin]) -> list[VendorPlugin]:
    """Plugins in probe order: as given, those with ``probe_last`` after the others."""
    return sorted(plugins, key=lambda p: p.probe_last)


def _addresses(plugin: VendorPlugin, address: Addresses) -> list[int | None]:
    if address is None or isinstance(address, int):
        return [address]
    return list(address) if plugin.capabilities.multi_address else [None]


async def _close_quietly(link: Link) -> None:
    with contextlib.suppress(BmsError, OSError):
        await link.close()


#: Called with each answer while its link is still open: ``(plugin, result, link) -> stop probing?``.
OnAnswer = Callable[[VendorPlugin, ProbeResult, Link], Awaitable[bool]]


async def _probe_one(
    link: Link | LinkFactory,
    plugin: VendorPlugin,
    address: int | None,
    options: SessionOptions | None,
    request_timeout: float | None,
    log: ProbeLog,
    on_answer: OnAnswer | None,
) -> tuple[ProbeResult | None, bool, bool]:
    """One plugin at one address: its answer, whether the link failed at the transport level, whether to stop."""
    shared = isinstance(link, Link)
    target = link if isinstance(link, Link) else link(plugin)
    limit = request_timeout if request_timeout is not None else probe_timeout(target.kind)
    probed = ProbeLink(target, plugin.name, limit, log) if isinstance(target, ByteLink) else target
    log.where = log.where or target.description
    failures = len(log.transport_errors)
    stop = False
    try:
        try:
            if options is None:
                result = await plugin.probe(probed, address)
            else:
                result = await plugin.probe(probed, address, options=options)
        except ConfigError:
            raise
        except TransportError as err:
            log.transport_errors.append(err)
            result = None
        except (BmsError, OSError) as err:
            _LOGGER.debug("probing %s at %s failed: %s", plugin.name, address, err, exc_info=True)
            result = None
        _LOGGER.debug("probe %s address %s: %s", plugin.name, address, result)
        if result is not None and on_answer is not None:
            stop = await on_answer(plugin, result, target)
    finally:
        if not shared:
            await _close_quietly(target)
    return result, result is None and len(log.transport_errors) > failures, stop


async def probe_all(
    link: Link | LinkFactory,
    plugins: Iterable[VendorPlugin],
    address: Addresses = None,
    *,
    options: Mapping[str, SessionOptions] | None = None,
    request_timeout: float | None = None,
    log: ProbeLog | None = None,
    on_answer: OnAnswer | None = None,
) -> list[ProbeResult]:
    """Every plugin's read-only probe against one device; the answers, in probe order (the first is the winner).

    ``plugins`` may be a :class:`~vendor_plugins.registry.Registry`; ``options`` maps a plugin name to the options
    its probe gets (a family, a host address); ``request_timeout`` overrides the per-request probe timeout of byte
    links (default :func:`probe_timeout`; Modbus links keep their own); ``on_answer`` sees each answer while its
    link is open (returning ``True`` ends the probe there).
    Raises :class:`TransportError` when the link itself fails (a shared link at once; with a factory, only when
    every plugin's link failed) and :class:`~vendor_plugins.errors.ConfigError` for options a plugin refuses.
    """
    log = log if log is not None else ProbeLog()
    found: list[ProbeResult] = []
    attempts = unreachable = 0
    for plugin in probe_order(plugins):
        for addr in _addresses(plugin, address):
            plugin_options = None if options is None else options.get(plugin.name)
            result, failed, stop = await _probe_one(link, plugin, addr, plugin_options, request_timeout, log, on_answer)
            attempts += 1
            if result is not None:
                found.append(result)
                if stop:
                    return found
            elif failed:
                unreachable += 1
                if isinstance(link, Link):
                    raise log.transport_errors[-1]
    if not found and attempts and unreachable == attempts:
        raise log.transport_errors[0]
    return found


@dataclass(frozen=True, slots=True)
class Detection:
    """What :func:`detect` found: every answer, the winning plugin and what it read."""

    results: tuple[ProbeResult, ...]
    plugin: VendorPlugin
    #: Options to open the winner's sessions with from now on (store them: later sessions skip probing).
    options: SessionOptions
    snapshot: BmsSnapshot | None
    #: Why reading the winner's snapshot failed (``None`` when it did not).
    error: str | None = None

    @property
    def winner(self) -> ProbeResult:
        """The first answer."""
        return self.results[0]


@dataclass(slots=True)
class _WinnerRead:
    """The first answer's plugin, options and snapshot, read as soon as it answered."""

    options: Mapping[str, SessionOptions]
    stop_at_first: bool
    plugin: VendorPlugin | None = None
    chosen: SessionOptions = field(default_factory=SessionOptions)
    snapshot: BmsSnapshot | None = None
    error: str | None = None

    async def __call__(self, plugin: VendorPlugin, result: ProbeResult, link: Link) -> bool:
        if self.plugin is not None:
            return False
        given = self.options.get(plugin.name) or SessionOptions()
        self.plugin, self.chosen = plugin, SessionOptions(family=result.family, extra=dict(given.extra))
        try:  # right away, on the probe's link at its normal timeout: the device just answered
            self.snapshot = await plugin.open_session(link, self.chosen).read(result.address)
        except (BmsError, OSError) as err:
            self.error = " ".join(str(err).split()) or type(err).__name__
        return self.stop_at_first


async def detect(
    link: Link | LinkFactory,
    plugins: Iterable[VendorPlugin],
    address: Addresses = None,
    *,
    options: Mapping[str, SessionOptions] | None = None,
    request_timeout: float | None = None,
    log: ProbeLog | None = None,
    stop_at_first: bool = False,
) -> Detection:
    """Probe every plugin (:func:`probe_all`) and read the winner's snapshot as soon as it answered.

    With ``stop_at_first`` the probe ends at the winner (Home Assistant's "detect automatically" needs no more).
    Raises :class:`DeviceTimeout` naming what was tried when nothing answered (and what :func:`probe_all`
    raises). A winner whose read then fails still wins: :attr:`Detection.error` says why.
    """
    ordered = probe_order(plugins)
    log = log if log is not None else ProbeLog()
    winner = _WinnerRead(options or {}, stop_at_first)
    results = await probe_all(
        link, ordered, address, options=options, request_timeout=request_timeout, log=log, on_answer=winner
    )
    if not results or winner.plugin is None:
        at = "" if address is None or not isinstance(address, int) else f" at address {address}"
        names = ", ".join(p.name for p in ordered) or "no plugin"
        raise DeviceTimeout(f"no BMS answered on {log.where or 'the link'}{at} (tried, read-only: {names})")
    return Detection(tuple(results), winner.plugin, winner.chosen, winner.snapshot, winner.error)
