"""The gateway's state file: what must survive a restart — the energy meters of every pack, what it announced.

JSON,
``{"version": 1, "packs": {"<pack>": {"energy": {...}}}, "discovery": {"<pack>": ["<topic>", ...]}}`` with each pack's
:meth:`~vendor_plugins.energy.EnergyState.to_dict` and the retained discovery topics the gateway published (``""``:
the gateway's own device), so that a pack or entity gone from the config is removed from Home Assistant at the next
start (its retained discovery cleared) instead of lingering as unavailable. Written atomically (a temporary file in
the same directory, flushed to disk, then renamed over the old one), readable by its owner only. A missing file is a
first start; a file that cannot be read or parsed is logged and set aside (``.bad``), never fatal: the meters then
start at zero rather than the gateway not starting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ..energy import EnergyState

_LOGGER = logging.getLogger(__name__)

VERSION: Final = 1


class StateFile:
    """Load and save the energy meters of the gateway's packs."""

    def __init__(self, path: Path) -> None:
        """The state lives in ``path``."""
        self.path = path
        #: Pack -> the discovery topics announced for it, as :meth:`load` found them.
        self.discovery: dict[str, set[str]] = {}

    def load(self) -> dict[str, EnergyState]:
        """Every pack's saved meters (empty on a first start or when the file is unusable)."""
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            self._set_aside(f"cannot read it ({err})")
            return {}
        packs = data.get("packs") if isinstance(data, dict) and data.get("version") == VERSION else None
        if not isinstance(packs, dict):
            self._set_aside("unknown format")
            return {}
        announced = data.get("discovery")
        if isinstance(announced, dict):
            self.discovery = {
                str(pack): {str(t) for t in topics} for pack, topics in announced.items() if isinstance(topics, list)
            }
        out: dict[str, EnergyState] = {}
        for pack, saved in packs.items():
            try:
                out[str(pack)] = EnergyState.from_dict(saved["energy"])
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.warning("state file %s: energy of %s ignored: %s", self.path, pack, err)
        return out

    def _set_aside(self, why: str) -> None:
        bad = self.path.with_name(self.path.name + ".bad")
        _LOGGER.warning("state file %s: %s; energy meters start at zero (old file kept as %s)", self.path, why, bad)
        with contextlib.suppress(OSError):
            os.replace(self.path, bad)

    def save(self, energy: Mapping[str, EnergyState], discovery: Mapping[str, set[str]] | None = None) -> None:
        """Write every pack's meters (and the announced discovery topics) atomically; ``OSError`` if not writable."""
        document: dict[str, Any] = {
            "version": VERSION,
            "packs": {pack: {"energy": s.to_dict()} for pack, s in sorted(energy.items())},
        }
        if discovery is not None:
            document["discovery"] = {pack: sorted(topics) for pack, topics in sorted(discovery.items()) if topics}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(document, stream, indent=1)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # the rename is durable once the directory is
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
