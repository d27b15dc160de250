"""The fuzz part of the conformance suite: a plugin's declared codec entry points fed seeds and mutations of them."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from vendor_plugins.errors import BmsError
from vendor_plugins.plugin import VendorPlugin


def mutations(rng: random.Random, seeds: Sequence[bytes], count: int) -> Iterable[bytes]:
    """``count`` inputs: random bytes, and seeds with bytes changed, cut, inserted, dropped, appended or joined."""
    for _ in range(count):
        kind = rng.randrange(6)
        if kind == 0 or not seeds:
            yield rng.randbytes(rng.randrange(0, 300))
            continue
        data = bytearray(rng.choice(seeds))
        if kind == 1 and data:
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 2:
            data = data[: rng.randrange(len(data) + 1)]
        elif kind == 3:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif kind == 4 and data:
            del data[rng.randrange(len(data))]
        else:
            data += rng.choice(seeds) if rng.random() < 0.5 else rng.randbytes(rng.randrange(1, 9))
        yield bytes(data)


def _returns(run: Any, data: bytes) -> bool:
    try:
        run(data)
    except BmsError:
        return False
    return True


def check_fuzz(plugin: VendorPlugin, examples: int = 300) -> int:
    """Every fuzz entry point fed every seed and ``examples`` random or mutated inputs raises nothing but ``BmsError``.

    Entry points come with seeds, and every seed is a valid input of at least one entry point. Returns how many
    calls were made (0: the plugin declares no entry point — it decodes no bytes itself).
    """
    targets, seeds = plugin.fuzz_targets(), plugin.fuzz_seeds()
    if not targets:
        assert not seeds, f"{plugin.name} declares fuzz seeds but no entry point to feed them"
        return 0
    assert seeds, f"{plugin.name} declares fuzz entry points but no seeds"
    names = [t.name for t in targets]
    assert len(set(names)) == len(names), names
    for seed in seeds:
        assert any(_returns(t.run, seed) for t in targets), f"no entry point accepts the seed {seed.hex()}"
    inputs = [*seeds, *mutations(random.Random(plugin.name), seeds, examples)]
    calls = 0
    for target in targets:
        for data in inputs:
            try:
                target.run(data)
            except BmsError:
                pass
            except Exception as err:
                raise AssertionError(f"{plugin.name}.{target.name}({data.hex()}) raised {err!r}") from err
            calls += 1
    return calls
