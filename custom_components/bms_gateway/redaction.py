"""What identifies an installation — where its connection goes, the packs' serial numbers — kept out of what is shared.

Two uses: the diagnostics download (text fields and the raw traffic, secrets replaced by ``**REDACTED**``) and the
integration's log lines above debug level and its error messages (:func:`for_log`: the connection's address replaced
by the entry's title — what the user named the connection and recognises; logs are pasted into forums and issues,
raw hosts and Bluetooth addresses do not belong there; debug lines keep them).

Raw traffic is recorded in pieces as it arrives (a Bluetooth notification, a TCP segment, whatever a serial read
returned), so a serial number is often split across two pieces. Secrets are therefore searched for in each
direction's whole stream — its pieces joined — and every byte of every match is redacted in whichever piece holds
it (:func:`redact_traffic`). A piece whose start was lost (the record keeps the last runs only) and that continues
an earlier one is left out: its head may be the tail of a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .const import CONF_ADDRESS, CONF_DEVICE, CONF_HOST

REDACTED: Final = "**REDACTED**"
#: The entry data keys that say where the connection goes (a host, a serial device path, a Bluetooth address).
WHERE_KEYS: Final = (CONF_HOST, CONF_DEVICE, CONF_ADDRESS)
#: Shorter values are not searched for (they would match everywhere and identify nothing).
_MIN_SECRET = 3


@dataclass(slots=True)
class RawRun:
    """Bytes that went one way on the link without the other direction in between (a request, a reply).

    ``continued``: it continues the run before it, which reached the size limit of a run.
    """

    time: float
    direction: str
    data: bytearray = field(default_factory=bytearray)
    continued: bool = False


def secrets_of(data: Mapping[str, Any], serial_numbers: Iterable[str | None] = ()) -> list[str]:
    """The values of an entry that must not be shared: where it connects to, and its packs' serial numbers.

    Longest first, so a value containing another is replaced whole.
    """
    values = [str(data[key]) for key in WHERE_KEYS if data.get(key)]
    values += [serial for serial in serial_numbers if serial]
    return sorted({v for v in values if len(v.strip()) >= _MIN_SECRET}, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str], replacement: str = REDACTED) -> str:
    """``text`` with every secret (as written, upper or lower case) replaced by ``replacement``."""
    for secret in secrets:
        for form in dict.fromkeys((secret, secret.upper(), secret.lower())):
            text = text.replace(form, replacement)
    return text


def for_log(text: str, data: Mapping[str, Any], title: str, descriptions: Iterable[str] = ()) -> str:
    """``text`` fit for a log line above debug level or a message: where the connection goes becomes the entry title.

    ``descriptions`` say where the link goes (``tcp://host:port``, ``host:port``, ``ble://…``): replaced whole first
    (with and without their scheme); then the host, device path and Bluetooth address of ``data`` wherever they are
    left.
    """
    wheres = {form for d in descriptions if d for form in (d, d.partition("://")[2]) if len(form) >= _MIN_SECRET}
    text = scrub(text, sorted(wheres, key=len, reverse=True), title)
    return scrub(text, secrets_of(data), title)


def _forms(secret: str) -> set[bytes]:
    """Every way ``secret`` shows up in raw traffic.

    As text (any case), as hex text inside ASCII protocols, and — a Bluetooth address — as its six bytes in either
    order.
    """
    texts = {form.encode() for form in (secret, secret.upper(), secret.lower())}
    forms = set(texts)
    for text in texts:
        forms |= {text.hex().encode(), text.hex().upper().encode()}
    octets = secret.replace(":", "").replace("-", "")
    if len(octets) == 12:
        try:
            mac = bytes.fromhex(octets)
        except ValueError:
            pass
        else:
            forms |= {mac, mac[::-1]}
    return {form for form in forms if len(form) >= _MIN_SECRET}


def _mask(stream: bytes, forms: Iterable[bytes]) -> bytearray:
    """One flag per byte of ``stream``: 1 where a byte belongs to an occurrence of any of ``forms``."""
    mask = bytearray(len(stream))
    for form in forms:
        start = stream.find(form)
        while start >= 0:
            mask[start : start + len(form)] = b"\x01" * len(form)
            start = stream.find(form, start + 1)
    return mask


def _hex(data: bytes, mask: bytes) -> str:
    """``data`` as hex, each stretch of masked bytes replaced by one :data:`REDACTED`."""
    out: list[str] = []
    for index, byte in enumerate(data):
        if mask[index]:
            if not out or out[-1] != REDACTED:
                out.append(REDACTED)
        else:
            out.append(f"{byte:02x}")
    return "".join(out)


def redact_traffic(runs: Sequence[RawRun], secrets: Sequence[str]) -> list[dict[str, Any]]:
    """The runs as ``{"time", "direction", "hex"}``, every secret redacted over each direction's joined stream."""
    skip = 0
    while skip < len(runs) and runs[skip].continued:  # their beginning is gone: may start inside a secret
        skip += 1
    kept = runs[skip:]
    forms = {form for secret in secrets for form in _forms(secret)}
    masks: dict[int, bytes] = {}
    for direction in {run.direction for run in kept}:
        mine = [index for index, run in enumerate(kept) if run.direction == direction]
        stream = b"".join(bytes(kept[index].data) for index in mine)
        mask = _mask(stream, forms)
        offset = 0
        for index in mine:
            size = len(kept[index].data)
            masks[index] = bytes(mask[offset : offset + size])
            offset += size
    return [
        {"time": run.time, "direction": run.direction, "hex": _hex(bytes(run.data), masks[index])}
        for index, run in enumerate(kept)
    ]


__all__ = ["REDACTED", "WHERE_KEYS", "RawRun", "for_log", "redact_traffic", "scrub", "secrets_of"]
