"""Key ranges (osslist.ranges): exact coverage by construction, whatever the cuts."""

from __future__ import annotations

import random

import pytest

from osslist.ranges import KeyRange, clean_cut, ranges_from_cuts
from tests.helpers import owners

TRICKY = ["", "-", ".", "0", "0\x00", "0\x01", "00", "09", "9", "A", "Z", "_", "a", "a/", "a/b", "z", "z~", "~",
          "\x7f", "é", "日本", "😀", "k" * 300, "p/", "p/0", "p/z", "p0"]


def test_split_after_puts_the_cut_below_and_everything_after_it_above() -> None:
    low, high = KeyRange("a", "z").split_after("m")
    assert [low.contains(k) for k in ("m", "m\x00", "m0", "l")] == [True, False, False, True]
    assert [high.contains(k) for k in ("m", "m\x00", "m0", "y")] == [False, True, True, True]


def test_emptiness() -> None:
    assert KeyRange("a", "a\x00").is_empty() and not KeyRange("a", "a\x01").is_empty()
    assert KeyRange("a", "c").is_empty() is False and KeyRange("c", "a").is_empty()


def test_json_round_trip_and_validation() -> None:
    r = KeyRange("a\n", None)
    assert KeyRange.from_json(r.to_json()) == r
    with pytest.raises(ValueError):
        KeyRange.from_json(["a", 3])


@pytest.mark.parametrize("seed", range(5))
def test_ranges_from_any_cuts_cover_each_key_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "0a/-zé\x01~"
    keys = sorted({"".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(300)} | set(TRICKY) - {""})
    cuts = rng.sample(keys, 20) + ["".join(rng.choices(alphabet, k=3)) for _ in range(10)]
    for start, end in [("", None), ("0", "z"), ("a/", "a/\x00")]:
        ranges = ranges_from_cuts(cuts, start_after=start, end_before=end)
        whole = KeyRange(start, end)
        assert owners(ranges, keys) == {k: int(whole.contains(k)) for k in keys}
        assert all(a.end_before is not None and a.end_before == b.start_after + "\x00" for a, b in zip(ranges, ranges[1:]))


def test_clean_cut_drops_the_delimiter_after_the_prefix() -> None:
    assert clean_cut("a/b/c", prefix="a/", delimiter="/") == "a/b"
    assert clean_cut("ab/c", prefix="", delimiter="/") == "ab"
