"""The MQTT side of the gateway: one broker connection, change-only publishing, reconnects with back-off.

:class:`Publisher` keeps the **current value of every retained topic** (discovery, states, availability) and a set of
topics still to send. :meth:`Publisher.set` with the value a topic already has does nothing, so an unchanged poll
publishes nothing. While the broker is away nothing piles up: a topic's newer value replaces the older one in the
pending set (latest value per topic, so the queue is bounded by the number of entities) and events (not retained)
go to a bounded deque whose oldest entries are dropped. On every (re)connect the gateway's status goes ``online`` and
every retained topic is sent again (the broker may have restarted without persistence), then only changes.

Commands: the publisher subscribes to the gateway's own command topics only (:attr:`Topics.command_filter`) and hands
each message to the ``on_command`` callback (which runs it as its own task: a slow write never blocks publishing). A
*retained* command is never run: the broker would replay it on every reconnect, a write nobody asked for then.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Callable
from typing import Final

import aiomqtt

from ..errors import one_line
from .config import BrokerConfig
from .topics import OFFLINE, ONLINE, Topics

_LOGGER = logging.getLogger(__name__)

#: Events kept while the broker is away (the oldest are dropped beyond this).
MAX_PENDING_EVENTS: Final = 1000
#: Reconnect back-off, seconds: first wait and the cap.
BACKOFF_START: Final = 0.5
BACKOFF_MAX: Final = 10.0

type CommandCallback = Callable[[str, bytes], None]


def tls_context(broker: BrokerConfig) -> ssl.SSLContext | None:
    """The TLS context for ``broker`` (``None``: plain TCP)."""
    tls = broker.tls
    if tls is None:
        return None
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Publisher:
    """Publishes the gateway's topics to one broker (see the module docstring)."""

    def __init__(
        self,
        broker: BrokerConfig,
        topics: Topics,
        on_command: CommandCallback | None = None,
        *,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        """Publish to ``broker``; ``on_command(topic, payload)`` for messages on the gateway's command topics."""
        self.broker = broker
        self.topics = topics
        self.on_command = on_command
        self.backoff_max = backoff_max
        #: Topic -> the current payload of every retained topic (what a reconnect republishes).
        self.retained: dict[str, str] = {}
        self._pending: dict[str, None] = {}
        self._events: deque[tuple[str, str]] = deque(maxlen=MAX_PENDING_EVENTS)
        self._wake = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        #: Messages handed to the broker since start (statistics, tests, the benchmark).
        self.sent = 0
        #: Successful connections to the broker since start.
        self.connections = 0
        self.connected = asyncio.Event()
        self._qos1: set[str] = {topics.status}

    # --- what to publish ---------------------------------------------------------------------------------------
    def set(self, topic: str, payload: str, *, important: bool = False) -> None:
        """Make ``payload`` the retained value of ``topic`` (sent only when it differs from the current one).

        ``important``: sent with QoS 1 (availability); states and discovery go with QoS 0 and are republished on
        every reconnect anyway.
        """
        if important:
            self._qos1.add(topic)
        if self.retained.get(topic) == payload:
            return
        self.retained[topic] = payload
        self._pending[topic] = None
        self._wake.set()

    def event(self, topic: str, payload: str) -> None:
        """Send a non-retained message (an event, a command error); kept in a bounded queue while offline."""
        self._events.append((topic, payload))
        self._wake.set()

    @property
    def pending(self) -> int:
        """Messages waiting to be sent."""
        return len(self._pending) + len(self._events)

    # --- the connection ----------------------------------------------------------------------------------------
    def _client_for(self) -> aiomqtt.Client:
        broker = self.broker
        return aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=broker.client_id or self.topics.node_id,
            keepalive=broker.keepalive,
            will=aiomqtt.Will(self.topics.status, OFFLINE, qos=1, retain=True),
            tls_context=tls_context(broker),
            logger=_LOGGER,
            timeout=10,
        )

    async def run(self) -> None:
        """Stay connected (reconnecting with back-off) and publish; runs until cancelled."""
        backoff = BACKOFF_START
        last_error: str | None = None
        while True:
            try:
                async with self._client_for() as client:
                    backoff = BACKOFF_START
                    last_error = None
                    await self._session(client)
            except aiomqtt.MqttError as err:
                broker = f"{self.broker.host}:{self.broker.port}"
                error = one_line(err)
                # the same failure again (a broker down for hours) is not worth a warning every few seconds
                level = logging.DEBUG if error == last_error else logging.WARNING
                _LOGGER.log(level, "MQTT broker %s: %s; retrying in %.1f s", broker, error, backoff)
                last_error = error
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _session(self, client: aiomqtt.Client) -> None:
        self._client = client
        self.connections += 1
        _LOGGER.info("connected to the MQTT broker %s:%s", self.broker.host, self.broker.port)
        await client.publish(self.topics.status, ONLINE, qos=1, retain=True)
        self.sent += 1
        if self.on_command is not None:
            await client.subscribe(self.topics.command_filter, qos=1)
        # Everything again: the broker may have lost its retained messages.
        self._pending = dict.fromkeys(self.retained)
        self._wake.set()
        self.connected.set()
        tasks = [asyncio.create_task(self._send(client))]
        if self.on_command is not None:
            tasks.append(asyncio.create_task(self._receive(client)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()  # the connection's error (MqttError) ends this session

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                topic = next(iter(self._pending))
                payload = self.retained[topic]
                await client.publish(topic, payload, qos=1 if topic in self._qos1 else 0, retain=True)
                if self.retained.get(topic) == payload:  # unchanged while sending: done with it
                    self._pending.pop(topic, None)
                self.sent += 1
            while self._events:
                topic, payload = self._events[0]
                await client.publish(topic, payload, qos=1, retain=False)
                self._events.popleft()
                self.sent += 1

    async def _receive(self, client: aiomqtt.Client) -> None:
        assert self.on_command is not None
        async for message in client.messages:
            topic = str(message.topic)
            if self.topics.parse_command(topic) is None:  # not one of ours: ignored
                continue
            if message.retain:  # a stored command would replay on every reconnect: never act on one
                _LOGGER.warning("retained command on %s ignored (commands must not be retained)", topic)
                continue
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            self.on_command(topic, payload)

    async def goodbye(self, offline_topics: list[str]) -> None:
        """Clean shutdown: ``offline_topics`` (the packs' availability) and the gateway status go ``offline``."""
        client = self._client
        if client is None:
            return
        try:
            for topic in [*offline_topics, self.topics.status]:
                self.retained[topic] = OFFLINE
                await client.publish(topic, OFFLINE, qos=1, retain=True, timeout=2)
                self.sent += 1
        except (aiomqtt.MqttError, TimeoutError) as err:
            _LOGGER.warning("could not say goodbye to the broker: %s", one_line(err))
