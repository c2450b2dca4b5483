"""Synthetic buckets: many realistic objects, fast, deterministic from a seed.

Keys are generated already in byte order (a sorted list of prefixes, then zero-padded
sequence numbers under each), so seeding a million objects needs no sort and builds the
bucket's compact columns directly.
"""

from __future__ import annotations

import calendar
import random
import time
from array import array

from osslist.emulator.state import OBJECT_TYPES, STORAGE_CLASSES

# (top-level prefix, file stem, extension, median size in bytes)
_LAYOUT = (
    ("backups/db", "dump", ".sql.gz", 200_000_000),
    ("data/events", "part", ".parquet", 8_000_000),
    ("images/products", "img", ".jpg", 300_000),
    ("logs/app", "app", ".log.gz", 50_000),
    ("raw/uploads", "upload", ".bin", 2_000_000),
)
_CLASS_WEIGHTS = (70, 15, 8, 5, 2)
_TYPE_WEIGHTS = (88, 9, 3, 0)
BASE_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
_TABLE = 4096
_MASK = _TABLE - 1


def _prefixes(rng: random.Random, days: int) -> list[tuple[str, str, str, int]]:
    """Every leaf prefix (``logs/app/2024-03-07/``) with its stem, extension and median size."""
    leaves = []
    for top, stem, ext, median in _LAYOUT:
        start = rng.randrange(0, 300)
        for d in range(days):
            day = BASE_EPOCH + (start + d) * 86400
            leaves.append((f"{top}/{time.strftime('%Y-%m-%d', time.gmtime(day))}/", stem, ext, median))
    leaves.sort(key=lambda leaf: leaf[0])
    return leaves


def synthetic_objects(n: int, *, seed: int = 0, prefix: str = "") -> tuple[list[str], array[int], array[int], bytearray, bytearray]:
    """``n`` objects as sorted keys plus size, mtime, storage class and type columns.

    Sizes are log-normal around each prefix's median, mtimes fall on the prefix's day, and
    storage classes/types follow a realistic mix; the same seed gives the same bucket.
    """
    rng = random.Random(seed)
    days = max(1, min(60, n // 2000))
    leaves = _prefixes(rng, days)
    per_leaf, extra = divmod(n, len(leaves))
    # Draws come from per-seed tables indexed by random bytes: a million rng calls per column
    # would dominate seeding time.
    spread = [rng.lognormvariate(0.0, 1.0) for _ in range(_TABLE)]
    offsets = array("H", rng.randbytes(2 * n))
    seconds = array("I", rng.randbytes(4 * n))
    keys: list[str] = []
    sizes = array("q")
    mtimes = array("q")
    done = 0
    for index, (leaf, stem, ext, median) in enumerate(leaves):
        count = per_leaf + (1 if index < extra else 0)
        base = prefix + leaf
        keys.extend([f"{base}{stem}-{j:07d}{ext}" for j in range(count)])
        sizes.extend([int(median * spread[o & _MASK]) for o in offsets[done : done + count]])
        day = _day_of(leaf)
        mtimes.extend([day + s % 86400 for s in seconds[done : done + count]])
        done += count
    classes = bytearray(rng.choices(range(len(STORAGE_CLASSES)), _CLASS_WEIGHTS, k=n))
    types = bytearray(rng.choices(range(len(OBJECT_TYPES)), _TYPE_WEIGHTS, k=n))
    return keys, sizes, mtimes, classes, types


def _day_of(leaf: str) -> int:
    """Epoch of midnight UTC of the ``YYYY-MM-DD`` component of a leaf prefix."""
    return calendar.timegm(time.strptime(leaf.rstrip("/").rsplit("/", 1)[-1], "%Y-%m-%d"))
