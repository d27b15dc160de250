"""Long fuzz run of every codec entry point (on demand; atheris is not available for Python 3.14 here).

Run: ``.venv/bin/python -m fuzz.run [--inputs 1000000] [--target PLUGIN.TARGET ...]``. Feeds each target
``--inputs`` inputs (random bytes and mutated real frames, seeded) and reports any exception that is not a
``BmsError`` with the input that raised it. Exit status 1 when something escaped.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from vendor_plugins.errors import BmsError

from .targets import TARGETS, seeds


def inputs(rng: random.Random, pool: list[bytes]) -> bytes:
    """One input: random bytes, or a mutated real frame."""
    if rng.random() < 0.3:
        return rng.randbytes(rng.randrange(0, 300))
    data = bytearray(rng.choice(pool))
    for _ in range(rng.randrange(0, 4)):
        op = rng.randrange(3)
        if op == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1 and data:
            del data[rng.randrange(len(data))]
        else:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    return bytes(data)


def main() -> int:
    """Fuzz and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--target", action="append", choices=sorted(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pool = seeds()
    escaped = 0
    for name in args.target or sorted(TARGETS):
        rng = random.Random(f"{args.seed}:{name}")
        target, bms_errors, found, started = TARGETS[name], 0, {}, time.monotonic()
        for _ in range(args.inputs):
            data = inputs(rng, pool)
            try:
                target(data)
            except BmsError:
                bms_errors += 1
            except Exception as err:
                found.setdefault(f"{type(err).__name__}: {err}", data.hex())
        escaped += len(found)
        print(
            f"{name}: {args.inputs} inputs, {bms_errors} BmsError, {len(found)} escaping kinds,"
            f" {time.monotonic() - started:.0f} s",
            flush=True,
        )
        for text, hexdata in list(found.items())[:5]:
            print(f"  ESCAPED {text}  input={hexdata}", flush=True)
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
