"""Where to cut: guesses of cut keys from a few sampled pages or from the folder tree.

The guesses only make ranges even; exactness never depends on them, because any cuts make
consecutive ranges that cover the key space (see ``ranges``). A :class:`KeyModel` reads keys
as numbers so that cuts can be placed between keys not yet seen (``piece_cuts`` for the
parallel lister, ``extrapolate_cuts``); ``plan_ranges`` surveys the bucket with a few probes
and cuts at the density's quantiles; ``plan_folder_cuts`` cuts before the folders of a tree.
"""

from __future__ import annotations

import bisect
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from osslist.pages import record_name
from osslist.ranges import MAX_CUT_CHARS, KeyRange, clean_cut, ranges_from_cuts

_CLASSES = ("0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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
    if stride <= 0:
        return []
    numbers = [last + stride * step for step in range(1, steps + 1)]
    return _stepped_cuts(model, numbers, floor=sample[-1], within=within, prefix=prefix, delimiter=delimiter)


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
    base = model.to_number(after)
    numbers = [base + stride * step for step in range(1, steps + 1)]
    if top is not None:  # numbers increase, so this drops a tail: no sliver below the top
        numbers = [at for at in numbers if top - at >= stride // 2]
    return _stepped_cuts(model, numbers, floor=after, within=within, prefix=prefix, delimiter=delimiter)


def _stepped_cuts(
    model: KeyModel, numbers: Sequence[int], *, floor: str, within: KeyRange, prefix: str, delimiter: str
) -> list[str]:
    """The cleaned keys of the model's ``numbers``, in order, up to the first that overflows the
    model, leaves ``within`` or the prefix, or does not increase: past such a guess the model
    no longer describes the keys, so later guesses would be no better."""
    cuts: list[str] = []
    for at in numbers:
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
    probe = probe or listing_probe(client, spec)
    whole = KeyRange(spec.start_after, spec.end_before)
    keys, truncated = probe(spec.start_after)
    if not truncated or len(keys) < 2 or target <= 1:
        return [whole]
    samples = survey(probe, keys, whole=whole, target=target, workers=workers)
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


def listing_probe(client: Any, spec: Any) -> Probe:
    """A probe over the real listing: the first page after a marker, keys and prefixes."""
    from osslist.listing import iter_pages

    def probe(start_after: str) -> tuple[list[str], bool]:
        one = replace(spec, start_after=start_after, max_keys=1000)
        for page, _position in iter_pages(client, one):
            return [record_name(r) for r in page.records], page.is_truncated
        return [], False

    return probe


@dataclass(frozen=True)
class Sample:
    keys: list[str]
    truncated: bool


def survey(probe: Probe, first: list[str], *, whole: KeyRange, target: int, workers: int) -> list[Sample]:
    """Pages sampled across the key space, in key order, the first page included."""
    model = KeyModel(first)
    base = model.to_number(first[0])
    samples = [Sample(first, True)]
    top = _find_end(probe, model, base, max(model.to_number(first[-1]) - base, 1), whole, samples)
    span = max(top - base, 1)
    markers = []
    for i in range(1, 2 * target):
        marker = model.to_key(base + span * i // (2 * target))
        if marker is not None and whole.contains(marker):
            markers.append(marker)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for keys, truncated in pool.map(probe, markers):
            samples.append(Sample(keys, truncated))
    unique = {s.keys[0]: s for s in samples if s.keys}
    return [unique[k] for k in sorted(unique)]


def _find_end(
    probe: Probe, model: KeyModel, base: int, stride: int, whole: KeyRange, samples: list[Sample]
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
            samples.append(Sample(keys, truncated))
        if keys and not truncated:
            return model.to_number(keys[-1])
        if keys:
            low, jump = model.to_number(keys[-1]), at - base
        else:
            high = at
    return low


def _quantile_cuts(samples: list[Sample], *, target: int, prefix: str, delimiter: str) -> list[str]:
    """Cuts splitting the estimated key count evenly (see :func:`quantile_points`)."""
    points, _total = quantile_points(samples, target=target)
    return [clean_cut(key, prefix=prefix, delimiter=delimiter) for key, _acc in points]


def quantile_points(samples: list[Sample], *, target: int) -> tuple[list[tuple[str, float]], float]:
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
