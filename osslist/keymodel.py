"""Keys read as numbers, to guess where cuts fall between keys not yet seen.

A :class:`KeyModel` learns the shape of keys from one page (digits count in base 10, hex and
names over the letters seen) so that ``piece_cuts`` can place a cut a few pages past the last
key listed (the parallel lister splitting a range while it runs) and the sharding module can
turn sampled pages into quantiles. The guesses only make ranges even; exactness never
depends on them, because any cuts make consecutive ranges that cover the key space (see
``ranges``).
"""

from __future__ import annotations

import bisect
from typing import Sequence

from osslist.ranges import MAX_CUT_CHARS, KeyRange, clean_cut

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
