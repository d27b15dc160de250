"""Every real JBD/DALY/PACE advert of the public corpus is matched by the right plugin, no other BMS's advert by any.

The corpus (tests/vendor_plugins/ble_corpus.py) holds adverts users of real units published; each is a fact with
its source. A miss means a real unit is not discovered; a foreign claim means we would talk our protocol to someone
else's device.
"""

from __future__ import annotations

from collections import Counter

import pytest

from vendor_plugins.registry import load_registry

from .ble_corpus import ALL_ADVERTS, OUR_PLUGIN, CorpusAdvert

REGISTRY = load_registry(include_third_party=False)


def _claims(advert: CorpusAdvert) -> list[str]:
    return [plugin.name for plugin in REGISTRY.match_advertisement(advert.advertisement())]


@pytest.mark.parametrize("advert", ALL_ADVERTS, ids=lambda a: f"{a.bms_type}:{a.local_name}")
def test_each_advert_is_claimed_by_its_plugin_only(advert: CorpusAdvert) -> None:
    expected = [advert.expected_plugin] if advert.expected_plugin else []
    assert _claims(advert) == expected, advert.source


def test_corpus_counts() -> None:
    """The corpus has every type we match, and other BMS types to refuse (numbers in the issue note)."""
    per_type = Counter(a.expected_plugin or "other" for a in ALL_ADVERTS)
    assert set(per_type) == {*OUR_PLUGIN.values(), "other"}
    assert per_type["jbd"] >= 51 and per_type["daly"] >= 9 and per_type["pace"] >= 2 and per_type["other"] >= 118
    matched = Counter(a.expected_plugin for a in ALL_ADVERTS if a.expected_plugin and _claims(a) == [a.expected_plugin])
    foreign = [a for a in ALL_ADVERTS if a.expected_plugin is None and _claims(a)]
    assert matched == Counter(a.expected_plugin for a in ALL_ADVERTS if a.expected_plugin)
    assert foreign == []
