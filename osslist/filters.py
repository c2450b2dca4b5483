"""Pure record predicates: key globs, sizes, modification times, storage classes.

Decisions (for the CLI's ``--help`` to repeat):
- Globs use ``fnmatch`` on the whole key, case-sensitive; ``*`` and ``?`` also match ``/``
  (``logs/*.gz`` matches ``logs/2024/01/a.gz``). A key passes when it matches some
  ``--include`` (or there is none) and no ``--exclude``.
- Sizes: a number with an optional suffix K, M, G, T (also KB/KiB, ...), all powers of 1024,
  case-insensitive; decimals allowed (``1.5M``), rounded down to whole bytes; at most 2**63-1. Bounds are
  inclusive: ``--min-size 10K --max-size 10K`` keeps objects of exactly 10240 bytes.
- Times: ISO 8601 (``2024-01-01``, ``2024-01-01T12:00:00Z``, ``...+08:00``; no offset means
  UTC) or a duration back from now (``90s``, ``30m``, ``12h``, ``7d``, ``2w``).
  ``--modified-after T`` keeps mtime >= T and ``--modified-before T`` keeps mtime < T, so two
  adjacent windows never both hold an object.
- Storage classes match OSS's names case-insensitively; an unknown name is a usage error.
- Restore states (``none``, ``ongoing``, ``restored``, any case) keep archive-class objects
  (Archive, ColdArchive, DeepColdArchive) only: a Standard or IA object has no restore state,
  so ``--restore-state none`` lists what would need a restore, not every unrestored object.
- Common prefixes (PrefixRecord) pass every filter untouched: they are structure, not objects.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable, Iterable

from osslist.errors import UsageError
from osslist.pages import ObjectRecord, PrefixRecord, Record

__all__ = [
    "ARCHIVE_CLASSES", "RESTORE_STATES", "STORAGE_CLASSES", "Predicate", "build_filter", "iso_utc", "keep_all",
    "parse_restore_state", "parse_size", "parse_storage_class", "parse_time", "restore_state", "sort_classes",
]

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
ARCHIVE_CLASSES = frozenset({"Archive", "ColdArchive", "DeepColdArchive"})
"""The classes whose objects must be restored before they can be read (RestoreInfo)."""
RESTORE_STATES = ("none", "ongoing", "restored")
_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*(?P<unit>[kmgt]?)(?:i?b)?", re.IGNORECASE)
MAX_SIZE = 2**63 - 1
"""The largest size accepted (OSS objects stop at about 48.8 TB)."""
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[smhdw])", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_YEAR_ONE = datetime(1, 1, 1, tzinfo=timezone.utc).timestamp()

Predicate = Callable[[Record], bool]


def keep_all(record: Record) -> bool:
    """The predicate of a run without filters; the run loop recognises it and skips the calls."""
    return True


def parse_size(text: str) -> int:
    """``"10K"`` -> 10240; a plain number is bytes. Raises UsageError on anything else."""
    match = _SIZE.fullmatch(str(text).strip())
    if match is None:
        raise UsageError(f"invalid size {str(text)[:40]!r}: use a number with K, M, G or T (1024-based)")
    # Decimal, not float: a number of any length stays exact (a float of 400 digits is inf)
    size = int(Decimal(match["number"]) * _UNITS[match["unit"].lower()])
    if size > MAX_SIZE:
        raise UsageError(f"invalid size {str(text)[:40]!r}: over {MAX_SIZE:,} bytes (8 EiB), bigger than any object")
    return size


def parse_time(text: str, *, now: float) -> float:
    """ISO 8601 or a duration before ``now`` -> epoch seconds. Raises UsageError."""
    value = str(text).strip()
    duration = _DURATION.fullmatch(value)
    if duration is not None:
        seconds = float(duration["number"]) * _SECONDS[duration["unit"].lower()]
        if not seconds <= now - _YEAR_ONE:  # also catches inf
            raise UsageError(f"invalid time {value[:40]!r}: that duration reaches back before year 1")
        return now - seconds
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read "Z"
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"invalid time {value[:40]!r}: use ISO 8601 (2024-01-01, 2024-01-01T12:00:00Z) "
            "or a duration (30m, 12h, 7d, 2w)"
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def iso_utc(epoch: float) -> str:
    """Epoch seconds as ISO 8601 UTC (``2024-01-01T00:00:00Z``), as OSS writes LastModified."""
    text = datetime.fromtimestamp(epoch, timezone.utc).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_storage_class(text: str) -> str:
    """OSS's spelling of a storage class named in any case. Raises UsageError."""
    for name in STORAGE_CLASSES:
        if name.lower() == str(text).strip().lower():
            return name
    raise UsageError(f"unknown storage class {str(text)[:40]!r}: use one of {', '.join(STORAGE_CLASSES)}")


def parse_restore_state(text: str) -> str:
    """``none``, ``ongoing`` or ``restored`` named in any case. Raises UsageError."""
    state = str(text).strip().lower()
    if state not in RESTORE_STATES:
        raise UsageError(f"unknown restore state {str(text)[:40]!r}: use one of {', '.join(RESTORE_STATES)}")
    return state


def restore_state(record: ObjectRecord) -> str:
    """An object's restore state: ``none`` (no RestoreInfo), ``ongoing`` or ``restored``."""
    restore = record.restore
    return "none" if restore is None else restore.state


def sort_classes(names: Iterable[str]) -> list[str]:
    """Storage class names in OSS's order (Standard first), unknown names after, by name."""
    order = {name: i for i, name in enumerate(STORAGE_CLASSES)}
    return sorted(set(names), key=lambda n: (order.get(n, len(order)), n))


def build_filter(
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    min_size: int | None = None,
    max_size: int | None = None,
    modified_after: float | None = None,
    modified_before: float | None = None,
    storage_classes: Iterable[str] = (),
    restore_states: Iterable[str] = (),
) -> Predicate:
    """One predicate over records; checks run cheapest first and only those asked for."""
    checks = [
        *_glob_checks(list(include), list(exclude)),
        *_size_checks(min_size, max_size),
        *_class_checks([parse_storage_class(c) for c in storage_classes]),
        *_restore_checks([parse_restore_state(s) for s in restore_states]),
        *_time_checks(modified_after, modified_before),
    ]

    def accept(record: Record) -> bool:
        if type(record) is PrefixRecord:
            return True
        return all(check(record) for check in checks)

    return accept


def _compile(globs: list[str]) -> re.Pattern[str]:
    """All globs as one regex, so a key is matched once however many globs were given."""
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs), re.DOTALL)


def _glob_checks(include: list[str], exclude: list[str]) -> list[Callable[[ObjectRecord], bool]]:
    checks: list[Callable[[ObjectRecord], bool]] = []
    if include:
        matches_include = _compile(include).match
        checks.append(lambda r: matches_include(r.key) is not None)
    if exclude:
        matches_exclude = _compile(exclude).match
        checks.append(lambda r: matches_exclude(r.key) is None)
    return checks


def _size_checks(low: int | None, high: int | None) -> list[Callable[[ObjectRecord], bool]]:
    checks: list[Callable[[ObjectRecord], bool]] = []
    if low is not None:
        checks.append(lambda r: r.size >= low)
    if high is not None:
        checks.append(lambda r: r.size <= high)
    return checks


def _class_checks(classes: list[str]) -> list[Callable[[ObjectRecord], bool]]:
    if not classes:
        return []
    wanted = {c.lower() for c in classes}
    return [lambda r: r.storage_class.lower() in wanted]


def _restore_checks(states: list[str]) -> list[Callable[[ObjectRecord], bool]]:
    if not states:
        return []
    wanted = set(states)
    return [lambda r: r.storage_class in ARCHIVE_CLASSES and restore_state(r) in wanted]


def _time_checks(after: float | None, before: float | None) -> list[Callable[[ObjectRecord], bool]]:
    checks: list[Callable[[ObjectRecord], bool]] = []
    if after is not None:
        checks.append(lambda r: r.mtime_epoch() >= after)
    if before is not None:
        checks.append(lambda r: r.mtime_epoch() < before)
    return checks
