"""Key ranges: how the key space under a prefix is cut into pieces listed independently.

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
:class:`ShardPlan` (``osslist plan`` writes it, :func:`balanced_cuts` finds its cuts, the
Job mounts it from a ConfigMap). Any cut list that is the same for every pod keeps the
shards exact; the plan's cuts only make them even.
"""

from __future__ import annotations

import bisect
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

from osslist.pages import record_name

MAX_CUT_CHARS = 256
"""Cuts become markers sent to OSS (at most 1024 bytes); ours stay far below."""

SHARD_TABLE = "-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
"""Characters after which the fixed shard rule cuts; changing it changes every shard."""

_CLASSES = ("0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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


# --- a model of key shapes, to place cuts between keys not yet seen --------------------------


def _alphabet(chars: set[str]) -> str:
    """The characters a position may hold: seen digits widened to 0-9, seen letters to the
    span between the lowest and highest seen of their case (hex stays a-f, names a-z)."""
    wide = set(chars)
    for klass in _CLASSES:
        seen = sorted(wide & set(klass))
        if seen:
            low = klass[0] if klass[0] == "0" else seen[0]
            high = klass[-1] if klass[0] == "0" else seen[-1]
            wide |= {c for c in klass if low <= c <= high}
    return "".join(sorted(wide))


class KeyModel:
    """Keys read as mixed-radix numbers, one digit per position, each over its own alphabet.

    Learned from sample keys (a page): a position holding digits counts in base 10, one
    holding hex or letters in base 36 and so on (every position also takes the classes seen
    at the positions where the samples differ, so carries have somewhere to go), so ``obj-0000999`` plus one page of
    ``999`` keys is ``obj-0001998``. Used only to guess where cuts fall; exactness never
    depends on it (callers check every cut lies inside its range)."""

    def __init__(self, samples: Sequence[str], *, width: int = 24) -> None:
        if not samples:
            raise ValueError("a key model needs at least one sample key")
        length = min(max(len(s) for s in samples), MAX_CUT_CHARS, _lcp(samples) + width)
        seen = [{s[i] for s in samples if i < len(s)} for i in range(length)]
        varying = _alphabet(set().union(*(chars for chars in seen if len(chars) > 1)))
        self._alphabets = [_alphabet(chars | set(varying)) for chars in seen]

    def to_number(self, key: str) -> int:
        """The key's value (order-preserving for keys shaped like the samples)."""
        value = 0
        for i, alphabet in enumerate(self._alphabets):
            digit = 0
            if i < len(key):
                digit = min(bisect.bisect_left(alphabet, key[i]), len(alphabet) - 1)
            value = value * len(alphabet) + digit
        return value

    def to_key(self, value: int) -> str | None:
        """The key of ``value``, or None when it overflows the model's widest key."""
        chars = []
        for alphabet in reversed(self._alphabets):
            value, digit = divmod(value, len(alphabet))
            chars.append(alphabet[digit])
        return None if value else "".join(reversed(chars))


def _lcp(keys: Sequence[str]) -> int:
    low, high = min(keys), max(keys)
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return n


def extrapolate_cuts(
    sample: Sequence[str],
    *,
    steps: int,
    within: KeyRange,
    prefix: str = "",
    delimiter: str = "",
    fill: float = 0.9,
) -> list[str]:
    """Up to ``steps`` cuts after ``sample[-1]``, a bit less than one sample's worth apart.

    ``sample`` is one page of keys in order; the page after it probably spans as much of the
    model's number line as this one did. Pieces are aimed at ``fill`` of a page so that one
    request usually lists a whole piece. Cuts are kept only if strictly increasing, inside
    ``within`` and past the last sample key."""
    if len(sample) < 2 or steps < 1:
        return []
    model = KeyModel(sample)
    first, last = model.to_number(sample[0]), model.to_number(sample[-1])
    stride = int((last - first) * fill)
    cuts: list[str] = []
    floor = sample[-1]
    for step in range(1, steps + 1) if stride > 0 else ():
        guess = model.to_key(last + stride * step)
        if guess is None:
            break
        cut = clean_cut(guess, prefix=prefix, delimiter=delimiter)
        if cut <= floor or not within.contains(cut) or not cut.startswith(prefix):
            break
        cuts.append(cut)
        floor = cut
    return cuts


def piece_cuts(
    sample: Sequence[str],
    *,
    after: str,
    within: KeyRange,
    pages: float,
    steps: int,
    prefix: str = "",
    delimiter: str = "",
) -> list[str]:
    """Up to ``steps`` cuts after ``after``, each about ``pages`` pages of keys further on.

    ``sample`` is the last page listed (in order); ``len(sample)`` keys span its first to its
    last key, so for evenly numbered keys a cut lands exactly on a page boundary and the
    piece below it ends without a wasted request. A cut is kept only if it lies inside
    ``within`` with at least half a piece left above it (no slivers: each piece costs a
    partial page), and strictly increases. Exactness never depends on these guesses."""
    if len(sample) < 2 or steps < 1:
        return []
    model = KeyModel(sample)
    first, last = model.to_number(sample[0]), model.to_number(sample[-1])
    stride = int((last - first) * pages * len(sample) / (len(sample) - 1))
    if stride <= 0:
        return []
    top = model.to_number(within.end_before) if within.end_before is not None else None
    base, floor, cuts = model.to_number(after), after, []
    for step in range(1, steps + 1):
        at = base + stride * step
        if top is not None and top - at < stride // 2:
            break
        guess = model.to_key(at)
        if guess is None:
            break
        cut = clean_cut(guess, prefix=prefix, delimiter=delimiter)
        if cut <= floor or not within.contains(cut) or not cut.startswith(prefix):
            break
        cuts.append(cut)
        floor = cut
    return cuts


# --- planning from the bucket -----------------------------------------------------------------

Probe = Callable[[str], tuple[list[str], bool]]
"""``probe(start_after) -> (keys of one page after it, is_truncated)`` within the spec."""


def plan_ranges(
    client: Any,
    spec: Any,
    *,
    target: int,
    probe: Probe | None = None,
    workers: int = 8,
) -> list[KeyRange]:
    """About ``target`` consecutive ranges covering the spec's key space, cut from samples.

    One page at the start gives the key shape; probes at exponentially growing distances find
    where the keys end; probes spread evenly in between measure the density; the cuts are the
    density's quantiles. Deterministic for the same bucket contents; a few dozen requests,
    run ``workers`` at a time. Exact whatever the samples say (see the module docstring)."""
    probe = probe or _listing_probe(client, spec)
    whole = KeyRange(spec.start_after, spec.end_before)
    keys, truncated = probe(spec.start_after)
    if not truncated or len(keys) < 2 or target <= 1:
        return [whole]
    samples = _survey(probe, keys, whole=whole, target=target, workers=workers)
    cuts = _quantile_cuts(samples, target=target, prefix=spec.prefix, delimiter=spec.delimiter)
    return ranges_from_cuts(cuts, start_after=whole.start_after, end_before=whole.end_before)


def folder_lister(client: Any, spec: Any) -> Folders:
    """``folders(prefix)`` over the real listing: one delimiter "/" page, its common prefixes."""
    from osslist.listing import iter_pages

    def folders(prefix: str) -> list[str]:
        one = replace(spec, prefix=prefix, delimiter="/", start_after="", end_before=None, max_keys=1000)
        for page, _position in iter_pages(client, one):
            return [r.prefix for r in page.records if hasattr(r, "prefix")]
        return []

    return folders


def _listing_probe(client: Any, spec: Any) -> Probe:
    """A probe over the real listing: the first page after a marker, keys and prefixes."""
    from osslist.listing import iter_pages

    def probe(start_after: str) -> tuple[list[str], bool]:
        one = replace(spec, start_after=start_after, max_keys=1000)
        for page, _position in iter_pages(client, one):
            return [record_name(r) for r in page.records], page.is_truncated
        return [], False

    return probe


@dataclass(frozen=True)
class _Sample:
    keys: list[str]
    truncated: bool


def _survey(probe: Probe, first: list[str], *, whole: KeyRange, target: int, workers: int) -> list[_Sample]:
    """Pages sampled across the key space, in key order, the first page included."""
    model = KeyModel(first)
    base = model.to_number(first[0])
    samples = [_Sample(first, True)]
    top = _find_end(probe, model, base, max(model.to_number(first[-1]) - base, 1), whole, samples)
    span = max(top - base, 1)
    markers = []
    for i in range(1, 2 * target):
        marker = model.to_key(base + span * i // (2 * target))
        if marker is not None and whole.contains(marker):
            markers.append(marker)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for keys, truncated in pool.map(probe, markers):
            samples.append(_Sample(keys, truncated))
    unique = {s.keys[0]: s for s in samples if s.keys}
    return [unique[k] for k in sorted(unique)]


def _find_end(
    probe: Probe, model: KeyModel, base: int, stride: int, whole: KeyRange, samples: list[_Sample]
) -> int:
    """The model number of (about) the last key: probes 8, 64, 512 ... pages ahead until one
    comes back empty, then bisection between the last page seen and that empty probe."""
    low, high = model.to_number(samples[0].keys[-1]), None
    jump = stride
    for _ in range(64):
        if high is not None and high - low <= stride:
            return high
        at = base + jump * 8 if high is None else (low + high) // 2
        marker = model.to_key(at)
        if marker is None or not whole.contains(marker):
            high = at  # past the model's widest key or the range's end: look below
            continue
        keys, truncated = probe(marker)
        if keys:
            samples.append(_Sample(keys, truncated))
        if keys and not truncated:
            return model.to_number(keys[-1])
        if keys:
            low, jump = model.to_number(keys[-1]), at - base
        else:
            high = at
    return low


def _quantile_cuts(samples: list[_Sample], *, target: int, prefix: str, delimiter: str) -> list[str]:
    """Cuts splitting the estimated key count evenly (see :func:`_quantile_points`)."""
    points, _total = _quantile_points(samples, target=target)
    return [clean_cut(key, prefix=prefix, delimiter=delimiter) for key, _acc in points]


def _quantile_points(samples: list[_Sample], *, target: int) -> tuple[list[tuple[str, float]], float]:
    """``target - 1`` (cut key, estimated keys up to it) and the estimated total. Each sample
    page counts its own keys, and the gap up to the next sample is estimated from the page's
    density; the cut for each quantile is the last key of the sample page whose running
    total comes closest to it."""
    model = KeyModel(sorted({k for s in samples for k in s.keys}))
    points: list[tuple[str, float]] = []
    total = 0.0
    for i, sample in enumerate(samples):
        lo, hi = model.to_number(sample.keys[0]), model.to_number(sample.keys[-1])
        total += len(sample.keys)
        points.append((sample.keys[-1], total))
        if sample.truncated and i + 1 < len(samples):
            gap = model.to_number(samples[i + 1].keys[0]) - hi
            total += len(sample.keys) / max(hi - lo, 1) * max(gap, 0)
    chosen = [min(points, key=lambda p: abs(p[1] - total * q / target)) for q in range(1, target)]
    return chosen, total


# --- planning from the folder tree (cheap, concurrent) -----------------------------------------

Folders = Callable[[str], list[str]]
"""``folders(prefix) -> the common prefixes ("sub/") directly under prefix`` (one request)."""


def plan_folder_cuts(folders: Folders, *, prefix: str, target: int, workers: int = 8, depth: int = 4) -> list[str]:
    """Cuts before each folder of the tree under ``prefix``, expanded a level at a time (each
    level's requests run concurrently) until there are ``target`` folders or no deeper ones.

    A folder is never empty, so a range starting at one always holds keys; a listing runs on
    from one folder into the next at no cost, so small folders cost nothing. The folder name
    itself is the cut: keys of the folder sort after it, everything before it at or below."""
    level, leaves = [prefix], {prefix}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for _ in range(depth):
            children: list[str] = []
            for folder, sub in zip(level, pool.map(folders, level)):
                if sub:  # a folder with subfolders is replaced by them
                    leaves.discard(folder)
                    children += sub
            leaves.update(children)
            if not children or len(leaves) >= target or len(children) > max(4 * workers, 64):
                break
            level = sorted(children)
    return sorted(f for f in leaves if f > prefix)


# --- a shard plan: cuts found once from the bucket, shared by every pod ------------------------

PLAN_VERSION = 1
LEAF_PROBES = 24
"""First pages read to weigh the leaf folders of a tree (the rest take a probed neighbour's)."""


@dataclass(frozen=True, kw_only=True)
class ShardPlan:
    """The cuts every pod of a sharded run shares, and the listing they were made for.

    Cell ``j`` between consecutive cuts goes to shard ``j % shard_count`` (as for the rule);
    ``osslist plan`` writes ``shard_count - 1`` cuts, so each shard is one contiguous range and
    the shards' outputs, concatenated in index order, are the sorted listing. The cuts are in
    the file, not in the bucket, so whatever changes in the bucket the shards stay exact."""

    bucket: str
    prefix: str = ""
    start_after: str = ""
    end_before: str | None = None
    shard_count: int
    cuts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The plan file's content."""
        return {"version": PLAN_VERSION, "bucket": self.bucket, "prefix": self.prefix,
                "start_after": self.start_after, "end_before": self.end_before,
                "shard_count": self.shard_count, "cuts": list(self.cuts)}

    @classmethod
    def from_json(cls, data: Any) -> ShardPlan:
        """Parse and check a plan file's content; ValueError says what is wrong."""
        if not isinstance(data, dict) or data.get("version") != PLAN_VERSION:
            raise ValueError(f"not a version {PLAN_VERSION} shard plan")
        texts = [data.get(name) for name in ("bucket", "prefix", "start_after")]
        end, count, cuts = data.get("end_before"), data.get("shard_count"), data.get("cuts")
        if not all(isinstance(t, str) for t in texts) or not (end is None or isinstance(end, str)):
            raise ValueError("bucket, prefix, start_after and end_before must be strings")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("shard_count must be a positive integer")
        if not isinstance(cuts, list) or not all(isinstance(c, str) and len(c) <= MAX_CUT_CHARS for c in cuts):
            raise ValueError(f"cuts must be a list of strings of at most {MAX_CUT_CHARS} characters")
        whole = KeyRange(texts[2], end)
        if cuts != sorted(set(cuts)) or not all(whole.contains(c) for c in cuts):
            raise ValueError("cuts must increase strictly and lie between start_after and end_before")
        return cls(bucket=texts[0], prefix=texts[1], start_after=texts[2], end_before=end,
                   shard_count=count, cuts=tuple(cuts))

    def ranges(self, index: int, *, delimiter: str = "") -> list[KeyRange]:
        """The ranges shard ``index`` lists. With a delimiter the cuts are cleaned first (the
        same way in every pod), so no common prefix straddles two shards."""
        cuts = [clean_cut(c, prefix=self.prefix, delimiter=delimiter) for c in self.cuts]
        return shard_ranges(index=index, count=self.shard_count, prefix=self.prefix, delimiter=delimiter,
                            start_after=self.start_after, end_before=self.end_before, cuts=cuts)


def balanced_cuts(
    client: Any, spec: Any, *, count: int, workers: int = 8,
    probe: Probe | None = None, folders: Folders | None = None,
) -> tuple[list[str], list[float]]:
    """``count - 1`` cuts splitting the spec's keys into ``count`` about equal shards, and the
    estimated keys of each shard. A tree (at least one leaf folder per shard) is cut at leaf
    folders weighed by their first pages, so a shard is at best as even as whole folders
    allow; flat keys at quantiles of sampled pages. A few dozen requests, ``workers`` at a
    time; the estimates are estimates, the cuts exact whatever they say."""
    probe = probe or _listing_probe(client, spec)
    whole = KeyRange(spec.start_after, spec.end_before)
    if count <= 1:
        return _sampled_cuts(probe, whole, count=1, workers=workers)
    leaves = plan_folder_cuts(folders or folder_lister(client, spec), prefix=spec.prefix,
                              target=4 * count, workers=workers)
    leaves = [leaf for leaf in leaves if whole.contains(leaf)]
    if len(leaves) >= count:
        return _leaf_cuts(probe, leaves, start_after=spec.start_after, count=count, workers=workers)
    return _sampled_cuts(probe, whole, count=count, workers=workers)


def _leaf_cuts(
    probe: Probe, leaves: list[str], *, start_after: str, count: int, workers: int
) -> tuple[list[str], list[float]]:
    """Cuts at leaf folders: cell 0 holds the keys before the first leaf, cell ``j`` those of
    leaf ``j - 1``. A probed leaf weighs the keys of its first page (at most one page: a
    folder bigger than a page counts as one page); the others take the nearest probed
    leaf's weight before them."""
    picks = sorted({round(i * (len(leaves) - 1) / max(LEAF_PROBES - 1, 1)) for i in range(LEAF_PROBES)})
    markers = [start_after] + [leaves[i] for i in picks]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pages = list(pool.map(probe, markers))
    first = pages[0][0]
    weights = [float(sum(1 for k in first if k <= leaves[0]))]
    measured = {i: float(sum(1 for k in keys if k.startswith(leaves[i]))) for i, (keys, _) in zip(picks, pages[1:])}
    current = 0.0
    for i in range(len(leaves)):
        current = measured.get(i, current)
        weights.append(current)
    return _weighted_cuts(leaves, weights, count=count)


def _weighted_cuts(cuts: list[str], weights: list[float], *, count: int) -> tuple[list[str], list[float]]:
    """``count - 1`` of ``cuts`` (cell ``j`` below ``cuts[j]`` weighs ``weights[j]``, the last
    cell ``weights[-1]``) whose running weight is nearest each quantile; the shards' weights."""
    running, total = [], 0.0
    for weight in weights[:-1]:
        total += weight
        running.append(total)
    total += weights[-1]
    chosen: list[int] = []
    for q in range(1, count):
        goal = total * q / count
        best = min(range(len(cuts)), key=lambda j: abs(running[j] - goal))
        chosen.append(max(best, chosen[-1] + 1 if chosen else 0))
    chosen = [j for j in chosen if j < len(cuts)]
    bounds = [0.0] + [running[j] for j in chosen] + [total]
    return [cuts[j] for j in chosen], [hi - lo for lo, hi in zip(bounds, bounds[1:])]


def _sampled_cuts(probe: Probe, whole: KeyRange, *, count: int, workers: int) -> tuple[list[str], list[float]]:
    """Flat keys: quantiles of the sampling planner; a listing of one page is cut exactly."""
    keys, truncated = probe(whole.start_after)
    if not truncated:
        picks = sorted({len(keys) * q // count for q in range(1, count)} - {0})
        bounds = [0, *picks, len(keys)]
        return [keys[i - 1] for i in picks], [float(hi - lo) for lo, hi in zip(bounds, bounds[1:])]
    samples = _survey(probe, keys, whole=whole, target=max(count, 8), workers=workers)
    points, total = _quantile_points(samples, target=count)
    upto = {key: acc for key, acc in points if whole.contains(key)}
    cuts = sorted(upto)
    bounds = [0.0, *(upto[key] for key in cuts), total]
    return cuts, [hi - lo for lo, hi in zip(bounds, bounds[1:])]
