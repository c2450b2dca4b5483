"""Key ranges: how the key space under a prefix is cut into pieces listed independently.

Where the cuts come from lives elsewhere: ``planning`` guesses them from sampled pages and
folders, ``shardplan`` shares them between pods in a file. This module only makes ranges of
cuts, exactly, whatever the cuts are.

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

Sharding (``--shard-index I --shard-count N``) must agree across pods that never talk to each
other, and a key added or deleted while they run must not move a boundary. So the shard rule
is fixed, independent of the bucket: :func:`shard_ranges` cuts the space after ``prefix + c``
for each character ``c`` of a fixed table (about one cell per leading character) and deals
the cells round-robin to the shards, so that hashed, numbered and named keys all spread
over every shard. Pods may instead share cuts computed once from the bucket: a
``shardplan.ShardPlan`` (``osslist plan`` writes it, ``shardplan.balanced_cuts`` finds its
cuts, the Job mounts it from a ConfigMap). Any cut list that is the same for every pod keeps
the shards exact; the plan's cuts only make them even.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

MAX_CUT_CHARS = 256
"""Cuts become markers sent to OSS (at most 1024 bytes); ours stay far below."""

SHARD_TABLE = "-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
"""Characters after which the fixed shard rule cuts; changing it changes every shard."""


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

    def intersect(self, other: KeyRange) -> KeyRange | None:
        """The keys in both ranges, or None when there are none."""
        start = max(self.start_after, other.start_after)
        ends = [e for e in (self.end_before, other.end_before) if e is not None]
        result = KeyRange(start, min(ends) if ends else None)
        return None if result.is_empty() else result

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


def range_spec(spec: Any, key_range: KeyRange) -> Any:
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


# --- sharding: a fixed rule every pod computes alike ----------------------------------------


def shard_cuts(*, prefix: str = "", delimiter: str = "") -> list[str]:
    """The fixed cuts of the shard rule: after ``prefix + c`` for each ``c`` of SHARD_TABLE.

    A cut that would hold the delimiter is dropped (that cell merges into its neighbour)."""
    cuts = [prefix + c for c in SHARD_TABLE]
    return [c for c in cuts if clean_cut(c, prefix=prefix, delimiter=delimiter) == c]


def shard_ranges(
    *,
    index: int,
    count: int,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
    end_before: str | None = None,
    cuts: Sequence[str] | None = None,
) -> list[KeyRange]:
    """The ranges shard ``index`` of ``count`` lists, in key order.

    The cells between consecutive cuts (``cuts`` from a shared plan, else :func:`shard_cuts`)
    are dealt round-robin: cell ``j`` goes to shard ``j % count``. Cells depend only on the
    arguments, never on the bucket, so the shards are disjoint and their union is the whole
    listing whatever is added or deleted while they run."""
    if count < 1 or not 0 <= index < count:
        raise ValueError("shard index must be in 0..count-1")
    table = shard_cuts(prefix=prefix, delimiter=delimiter) if cuts is None else cuts
    cells = ranges_from_cuts(table, start_after=start_after, end_before=end_before)
    return [cell for j, cell in enumerate(cells) if j % count == index]
