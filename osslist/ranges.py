"""Key ranges: how the key space under a prefix is cut into pieces listed independently.

Where the cuts come from lives elsewhere: ``sharding`` decides a run's ranges (the fixed shard
rule, a shard plan, folders), ``keymodel`` guesses cuts from sampled keys, the parallel lister
splits ranges while they run. This module only makes ranges of cuts, exactly, whatever the
cuts are.

A :class:`KeyRange` is the set of keys ``k`` with ``start_after < k < end_before`` in UTF-8
byte order (``end_before=None``: no upper bound) -- exactly the bounds of a ``ListingSpec``, so
a range is listed with ``marker``/``start-after`` = ``start_after`` and stops at the first key
``>= end_before``. Python compares ``str`` by code point, which is the same order as UTF-8
bytes, so plain ``<`` is byte order here.

Ranges are made from *cuts*. A cut ``t`` splits a range in two: keys ``<= t`` below, keys
``> t`` above. The upper part starts after ``t`` (the marker OSS understands); the lower part
ends before ``successor(t) = t + "\\x00"``, the smallest string greater than ``t``, so no key
can fall between the two parts and none can be in both. Any strings can be cuts, whether or
not a key equals them: consecutive ranges cover the space by construction, which is what
makes every parallel, sharded or resumed listing exact whatever the bucket holds.

With a delimiter, a cut must not contain the delimiter after the prefix: then no group of
keys that OSS rolls up into one common prefix can straddle it, and no common prefix is
reported by two ranges (:func:`clean_cut`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from osslist.listing import ListingSpec

MAX_CUT_CHARS = 256
"""Cuts become markers sent to OSS (at most 1024 bytes); ours stay far below."""


def successor(key: str) -> str:
    """The smallest string greater than ``key`` in byte order."""
    return key + "\x00"


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Keys ``k`` with ``start_after < k < end_before`` (byte order; None = unbounded)."""

    start_after: str = ""
    end_before: str | None = None

    def contains(self, key: str) -> bool:
        """True when ``key`` belongs to this range."""
        return key > self.start_after and (self.end_before is None or key < self.end_before)

    def is_empty(self) -> bool:
        """True when no string at all fits between the bounds."""
        return self.end_before is not None and self.end_before <= successor(self.start_after)

    def split_after(self, cut: str) -> tuple[KeyRange, KeyRange]:
        """(keys <= cut, keys > cut); ``cut`` must lie inside the range."""
        if not self.contains(cut):
            raise ValueError("cut outside the range")
        return KeyRange(self.start_after, successor(cut)), KeyRange(cut, self.end_before)

    def to_json(self) -> list[Any]:
        """``[start_after, end_before]`` for plan and checkpoint files."""
        return [self.start_after, self.end_before]

    @classmethod
    def from_json(cls, value: Any) -> KeyRange:
        """Inverse of :meth:`to_json`; raises ValueError on anything else."""
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)):
            raise ValueError("a key range is [start_after, end_before]")
        if value[1] is not None and not isinstance(value[1], str):
            raise ValueError("a key range is [start_after, end_before]")
        return cls(value[0], value[1])


def range_spec(spec: ListingSpec, key_range: KeyRange) -> ListingSpec:
    """The listing spec that lists exactly ``key_range`` (other fields kept)."""
    return replace(spec, start_after=key_range.start_after, end_before=key_range.end_before)


def clean_cut(cut: str, *, prefix: str = "", delimiter: str = "") -> str:
    """``cut`` shortened so that it holds no delimiter after ``prefix`` (nor too many chars).

    The result may sort before ``cut``; callers check it still lies where they want it."""
    cut = cut[:MAX_CUT_CHARS]
    if delimiter:
        found = cut.find(delimiter, max(0, len(prefix) - len(delimiter) + 1))
        if found != -1:
            cut = cut[:found]
    return cut


def ranges_from_cuts(
    cuts: Iterable[str], *, start_after: str = "", end_before: str | None = None
) -> list[KeyRange]:
    """Consecutive ranges covering (start_after, end_before), cut after each usable cut.

    Cuts outside the bounds are ignored, so the union is always exactly the whole space."""
    whole = KeyRange(start_after, end_before)
    if whole.is_empty():
        return []
    result: list[KeyRange] = []
    rest = whole
    for cut in sorted(set(cuts)):
        if rest.contains(cut):
            low, rest = rest.split_after(cut)
            result.append(low)
    result.append(rest)
    return [r for r in result if not r.is_empty()]

