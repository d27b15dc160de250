"""No blind writes (issue 21 item 11): a control write goes out only after a read confirmed the pack is there.

With the family given and control enabled (``bmsgw set --family d2 --allow-control``), the DALY D2 write used to go
out first, to whatever was on the link. For every vendor's control path, over a silent link: ``set_switch`` fails
and the link's ``tap`` saw no byte beyond what a plain read of that session sends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tests.vendor_plugins.sim_links import Silent
from vendor_plugins.connect import LinkSettings, open_link
from vendor_plugins.errors import BmsError
from vendor_plugins.kinds import LinkKind
from vendor_plugins.plugin import SessionOptions, VendorPlugin
from vendor_plugins.registry import default_registry
from vendor_plugins.sim.tcp import serve_tcp

pytestmark = pytest.mark.timeout(60)


def _targets() -> Iterator[tuple[VendorPlugin, SessionOptions, int | None]]:
    for plugin in default_registry():
        if not plugin.capabilities.switches or LinkKind.TCP not in plugin.link_kinds:
            continue
        for target in plugin.reliability_targets or ():
            yield plugin, target.options(), target.addresses[0]


TARGETS = list(_targets())


def test_every_control_path_is_covered() -> None:
    assert {plugin.name for plugin, _, _ in TARGETS} >= {"daly", "jbd", "pace"}
    assert any(options.family == "d2" for _, options, _ in TARGETS)


async def _traffic(plugin: VendorPlugin, options: SessionOptions, address: int | None, *, write: bool) -> list[bytes]:
    """What the session sent over a link to a device that never answers (read only, or a control write)."""
    sent: list[bytes] = []
    async with await serve_tcp(Silent()) as server:
        settings = LinkSettings.tcp(server.host, server.port, timeout=0.2)
        link = open_link(settings, plugin, options)
        link.tap = lambda direction, data: sent.append(data) if direction == "tx" else None
        try:
            session = plugin.open_session(link, dataclasses.replace(options, control_enabled=write))
            switch = sorted(plugin.capabilities.switches)[0]
            action = session.set_switch(address, switch, False) if write else session.read(address)
            with pytest.raises(BmsError):
                await action
        finally:
            await link.close()
    return sent


@pytest.mark.parametrize(
    ("plugin", "options", "address"),
    TARGETS,
    ids=[f"{plugin.name}-{options.family}" for plugin, options, _ in TARGETS],
)
async def test_a_control_write_to_a_silent_link_sends_no_write(
    plugin: VendorPlugin, options: SessionOptions, address: int | None
) -> None:
    reads = await _traffic(plugin, options, address, write=False)
    sent = await _traffic(plugin, options, address, write=True)
    assert reads, "the read sends its request"
    assert set(sent) <= set(reads), f"bytes other than the read's went out: {[b.hex() for b in sent if b not in reads]}"
