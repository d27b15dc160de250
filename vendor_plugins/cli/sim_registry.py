"""Where running ``bmsgw simulate`` processes listen, so ``bmsgw capture`` can label simulator traffic as such.

Nothing in the bytes tells a simulator from a real pack (that is the point of a simulator), but a simulator can say
where it is: while it serves, ``bmsgw simulate`` keeps a small file in a per-user directory
(``$XDG_RUNTIME_DIR/bmsgw-simulators``, else ``<tmp>/bmsgw-simulators-<uid>``; ``BMSGW_SIMULATORS_DIR``
overrides) naming its process and endpoint, and removes it when it stops. :func:`serves` answers "is this link's
endpoint a running simulator of this machine?"; a file left by a process that no longer runs is ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

#: Environment variable naming the directory (tests point it at a temporary one).
DIR_VARIABLE = "BMSGW_SIMULATORS_DIR"
#: Hosts a TCP simulator may listen on that a local client reaches as a loopback address.
_ANY_HOSTS = frozenset({"", "0.0.0.0", "::", "localhost", "127.0.0.1", "::1"})


def directory() -> Path:
    """The per-user directory of simulator files."""
    override = os.environ.get(DIR_VARIABLE)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "bmsgw-simulators"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"bmsgw-simulators-{uid}"


def endpoint(description: str) -> tuple[str, str, str]:
    """``(kind, host, rest)`` of a link description or listen URL: ``tcp://[::1]:5`` → ``("tcp", "::1", "5")``.

    Serial and pty paths (``/dev/pts/3``, ``serial:///dev/pts/3@9600``) are ``("serial", "", "/dev/pts/3")``.
    """
    scheme, sep, rest = description.partition("://")
    if not sep:
        return ("serial", "", description)
    if scheme == "serial":  # serial:///dev/pts/3@9600: the device, without the baud rate
        return ("serial", "", rest.rpartition("@")[0] if "@" in rest else rest)
    if scheme != "tcp":
        return (scheme, "", rest)
    host, _, port = rest.rstrip("/").rpartition(":")
    return ("tcp", host.strip("[]").lower(), port)


def _same(listening: str, target: str) -> bool:
    kind, host, rest = endpoint(listening)
    other_kind, other_host, other_rest = endpoint(target)
    if kind != other_kind or rest != other_rest:
        return False
    return kind != "tcp" or host == other_host or (host in _ANY_HOSTS and other_host in _ANY_HOSTS)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _announcements(folder: Path) -> Iterator[tuple[Path, str, int]]:
    """``(file, where, pid)`` of every readable announcement in ``folder``."""
    if not folder.is_dir():
        return
    for path in folder.glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            yield path, str(data["where"]), int(data["pid"])
        except OSError, ValueError, KeyError, TypeError:
            continue


def serves(description: str) -> bool:
    """Whether a running ``bmsgw simulate`` of this machine serves the link ``description`` goes to."""
    return any(_running(pid) and _same(where, description) for _, where, pid in _announcements(directory()))


@contextlib.contextmanager
def announced(where: str, vendor: str) -> Iterator[None]:
    """Keep a file saying that this process serves a ``vendor`` simulator at ``where`` while the block runs.

    A directory that cannot be written only costs the label (logged at debug level).
    """
    path = directory() / f"{os.getpid()}-{abs(hash(where)) % 10**8}.json"
    for stale, _, pid in _announcements(path.parent):  # left by a simulator that was killed
        if not _running(pid):
            with contextlib.suppress(OSError):
                stale.unlink()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(json.dumps({"where": where, "pid": os.getpid(), "vendor": vendor}), encoding="utf-8")
    except OSError as err:
        _LOGGER.debug("cannot announce the simulator at %s: %s", where, err)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
