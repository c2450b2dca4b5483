"""``osslist diff``: two listings in key order, merged in one pass, one record per difference.

Both sides are streams of ``reports.ReportRecord`` in key order (a report read back, or a live
listing), so the diff is a merge-join holding one key at a time: memory does not grow with
the listings. A key only in the new listing is ``added``, only in the old one ``removed``; a
key in both is ``modified`` when one of the compared fields differs (by default size, etag
and storage_class, see ``DEFAULT_COMPARE`` for why not last_modified), else ``unchanged``
(written only when asked). In all-versions listings a key's versions are matched by version
id: the join is on (key, version id), a key's versions held together while they are matched.
The two sides must be listings of the same kind: a plain listing (no version ids) against an
all-versions one would come out as every key removed and added, so the first record of each
side decides its kind and a mixed pair is a ReportError before any change is written.

Writers (``make_change_writer``): jsonl (one object per change), csv, text (``+ key``,
``- key``, ``~ key`` with what changed). ``DiffSummary`` counts changes and bytes, per change
and per storage class, as text for stderr and as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from osslist.errors import ReportError
from osslist.output import Stream, human_size

if TYPE_CHECKING:
    from osslist.reports import ReportRecord

FORMATS = ("jsonl", "csv", "text")
FIELDS = ("size", "etag", "last_modified", "storage_class")
DEFAULT_COMPARE = ("size", "etag", "storage_class")
"""What makes a key "modified". last_modified is left out by default: rewriting an object with
the same bytes (a re-upload, a copy onto itself, a restore) moves it without changing the
object, and a report's time is only as fine as its format (seconds in an inventory). It is
still named in ``fields`` when it differs, and ``--compare last_modified`` counts it."""
ADDED, REMOVED, MODIFIED, UNCHANGED = "added", "removed", "modified", "unchanged"
CHANGES = (ADDED, REMOVED, MODIFIED, UNCHANGED)
CSV_HEADER = ["change", "key", "version_id", "fields", *(f"{side}_{name}" for name in FIELDS for side in ("old", "new"))]


@dataclass(frozen=True, slots=True)
class Change:
    """One key (or key version) and how it differs: ``old``/``new`` None when absent;
    ``fields`` names every field that differs (compared or not)."""

    change: str
    key: str
    version_id: str | None
    old: ReportRecord | None
    new: ReportRecord | None
    fields: tuple[str, ...] = ()


def diff_records(
    old: Iterable[ReportRecord],
    new: Iterable[ReportRecord],
    *,
    compare: tuple[str, ...] = DEFAULT_COMPARE,
    unchanged: bool = False,
    names: tuple[str, str] = ("OLD", "NEW"),
) -> Iterator[Change]:
    """The changes from ``old`` to ``new`` (both in key order), in key order; ``unchanged``
    changes too when asked. ReportError, naming the sides by ``names``, when one is an
    all-versions listing and the other not (an empty side goes with either)."""
    olds, news = _groups(old), _groups(new)
    before, after = next(olds, None), next(news, None)
    if before is not None and after is not None:
        _check_same_kind(before[1][0], after[1][0], names)
    while before is not None or after is not None:
        if after is None or (before is not None and before[0] < after[0]):
            assert before is not None
            yield from (Change(REMOVED, r.key, r.version_id, r, None) for r in before[1])
            before = next(olds, None)
        elif before is None or after[0] < before[0]:
            yield from (Change(ADDED, r.key, r.version_id, None, r) for r in after[1])
            after = next(news, None)
        else:
            yield from _matched(before[1], after[1], compare, unchanged)
            before, after = next(olds, None), next(news, None)


def _check_same_kind(old: ReportRecord, new: ReportRecord, names: tuple[str, str]) -> None:
    """Both sides list current objects, or both all versions: a version id on one side only
    would pair nothing, every key removed and added."""
    if (old.version_id is None) == (new.version_id is None):
        return
    versioned, plain = names if old.version_id is not None else names[::-1]
    raise ReportError(f"{versioned} lists all versions (version ids) and {plain} only current objects: "
                      "compare listings of the same kind (both --all-versions or neither)")


def _groups(records: Iterable[ReportRecord]) -> Iterator[tuple[str, list[ReportRecord]]]:
    """(key, the records of that key): one, or a key's versions in an all-versions listing."""
    return ((key, list(group)) for key, group in groupby(records, key=attrgetter("key")))


def _matched(olds: list[ReportRecord], news: list[ReportRecord], compare: tuple[str, ...],
             unchanged: bool) -> Iterator[Change]:
    """One key on both sides: its records paired by version id (None with None)."""
    if len(olds) == 1 and len(news) == 1 and olds[0].version_id == news[0].version_id:
        change = _compared(olds[0], news[0], compare)
        if unchanged or change.change != UNCHANGED:
            yield change
        return
    by_version = {r.version_id: r for r in news}
    for before in olds:
        after = by_version.pop(before.version_id, None)
        change = Change(REMOVED, before.key, before.version_id, before, None) if after is None else (
            _compared(before, after, compare))
        if unchanged or change.change != UNCHANGED:
            yield change
    yield from (Change(ADDED, r.key, r.version_id, None, r) for r in news if r.version_id in by_version)


def _compared(before: ReportRecord, after: ReportRecord, compare: tuple[str, ...]) -> Change:
    if before == after:  # the common case, one tuple comparison
        return Change(UNCHANGED, before.key, before.version_id, before, after)
    differ = tuple(name for name in FIELDS if getattr(before, name) != getattr(after, name))
    kind = MODIFIED if any(name in compare for name in differ) else UNCHANGED
    return Change(kind, before.key, before.version_id, before, after, differ)


# --- summary ------------------------------------------------------------------------------------


@dataclass
class _Tally:
    objects: int = 0
    bytes: int = 0


@dataclass
class _ClassTally:
    added: int = 0
    removed: int = 0
    modified: int = 0
    objects: int = 0  # new - old
    bytes: int = 0  # new - old


@dataclass
class DiffSummary:
    """Counts and byte deltas per change and per storage class; old and new totals."""

    changes: dict[str, _Tally] = field(default_factory=lambda: {name: _Tally() for name in CHANGES})
    classes: dict[str, _ClassTally] = field(default_factory=dict)
    old: _Tally = field(default_factory=_Tally)
    new: _Tally = field(default_factory=_Tally)

    @property
    def same(self) -> bool:
        return not any(self.changes[name].objects for name in (ADDED, REMOVED, MODIFIED))

    def add(self, change: Change) -> None:
        before, after = change.old, change.new
        tally = self.changes[change.change]
        tally.objects += 1
        tally.bytes += (after.size if after else 0) - (before.size if before else 0)
        if before is not None:
            self.old.objects += 1
            self.old.bytes += before.size
        if after is not None:
            self.new.objects += 1
            self.new.bytes += after.size
        if change.change != UNCHANGED:
            self._per_class(change)

    def _per_class(self, change: Change) -> None:
        if change.old is not None:
            tally = self._class(change.old.storage_class)
            tally.objects -= 1
            tally.bytes -= change.old.size
            if change.change == REMOVED:
                tally.removed += 1
        if change.new is not None:
            tally = self._class(change.new.storage_class)
            tally.objects += 1
            tally.bytes += change.new.size
            if change.change == ADDED:
                tally.added += 1
            else:
                tally.modified += 1

    def _class(self, name: str) -> _ClassTally:
        return self.classes.setdefault(name, _ClassTally())

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values
        return {
            "same": self.same,
            "changes": {name: vars(tally) for name, tally in self.changes.items()},
            "storage_classes": {name: vars(tally) for name, tally in sorted(self.classes.items())},
            "old": vars(self.old),
            "new": vars(self.new),
        }

    def to_text(self) -> str:
        parts = [f"{self.changes[name].objects:,} {name} ({_signed(self.changes[name].bytes)})"
                 for name in (ADDED, REMOVED, MODIFIED)]
        lines = [f"diff: {', '.join(parts)}, {self.changes[UNCHANGED].objects:,} unchanged",
                 f"old: {self.old.objects:,} objects, {human_size(self.old.bytes)}; "
                 f"new: {self.new.objects:,} objects, {human_size(self.new.bytes)}"]
        for name, tally in sorted(self.classes.items()):
            lines.append(f"  {name or '-':<16} {tally.objects:+,} objects {_signed(tally.bytes):>8}  "
                         f"({tally.added:,} added, {tally.removed:,} removed, {tally.modified:,} modified)")
        return "\n".join(lines)


def _signed(size: int) -> str:
    return ("-" if size < 0 else "+") + human_size(abs(size))


# --- writers ------------------------------------------------------------------------------------


def _side(record: ReportRecord | None) -> dict[str, Any] | None:  # Any: JSON values
    if record is None:
        return None
    return {"size": record.size, "etag": record.etag, "last_modified": record.last_modified,
            "storage_class": record.storage_class}


def jsonl_line(change: Change) -> str:
    item: dict[str, Any] = {"change": change.change, "key": change.key}  # Any: JSON values
    if change.version_id is not None:
        item["version_id"] = change.version_id
    item.update(old=_side(change.old), new=_side(change.new), fields=list(change.fields))
    return json.dumps(item, ensure_ascii=False) + "\n"


def text_line(change: Change) -> str:
    """``+ key``, ``- key``, ``= key``, or ``~ key  size: 1 -> 2, etag: A -> B``."""
    mark = {ADDED: "+", REMOVED: "-", MODIFIED: "~", UNCHANGED: "="}[change.change]
    name = change.key if change.version_id is None else f"{change.key} (version {change.version_id})"
    what = ", ".join(f"{f}: {getattr(change.old, f)} -> {getattr(change.new, f)}" for f in change.fields)
    return f"{mark} {name}" + (f"  {what}" if what else "") + "\n"


def csv_row(change: Change) -> list[object]:
    values: list[object] = [change.change, change.key, change.version_id or "", " ".join(change.fields)]
    for name in FIELDS:
        values += [getattr(change.old, name) if change.old else "", getattr(change.new, name) if change.new else ""]
    return values


class ChangeWriter:
    """Writes changes as UTF-8 bytes into a binary stream, in the chosen format."""

    def __init__(self, fmt: str, stream: Stream) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown diff format {fmt!r}")
        self._stream = stream
        self._line: Callable[[Change], str] = {"jsonl": jsonl_line, "text": text_line}.get(fmt, self._csv_line)
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        if fmt == "csv":
            self._csv.writerow(CSV_HEADER)
            self._put(self._take())

    def write(self, change: Change) -> None:
        self._put(self._line(change))

    def _csv_line(self, change: Change) -> str:
        self._csv.writerow(csv_row(change))
        return self._take()

    def _take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def _put(self, text: str) -> None:
        self._stream.write(text.encode("utf-8", "surrogateescape"))


def run_diff(old: Iterable[ReportRecord], new: Iterable[ReportRecord], writer: ChangeWriter, *,
             compare: tuple[str, ...] = DEFAULT_COMPARE, unchanged: bool = False,
             names: tuple[str, str] = ("OLD", "NEW")) -> DiffSummary:
    """Diff ``old`` against ``new`` into ``writer``; the summary counts every key (unchanged
    ones too, written or not)."""
    summary = DiffSummary()
    for change in diff_records(old, new, compare=compare, unchanged=True, names=names):
        summary.add(change)
        if unchanged or change.change != UNCHANGED:
            writer.write(change)
    return summary
