"""``osslist du``: object count and bytes per prefix, to a depth, from a stream of records.

Depth counts path segments after ``--prefix`` (segments end at ``/``): with prefix ``logs/``
and depth 1, ``logs/2024/01/a.gz`` counts under ``logs/2024/``. A key with fewer segments
than the depth is an object directly at a shallower level: it counts under a row of its own
whose scope is ``objects`` (e.g. ``logs/`` objects = the objects directly in ``logs/``, not in
its sub-prefixes), while a ``subtree`` row counts everything under its prefix. The two kinds
never share a name (a subtree name holds exactly ``depth`` slashes after the prefix).

Rows are sorted by bytes, largest first (then objects, then prefix, so output is stable).
Memory is one small entry per distinct row, never per object.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from osslist.filters import sort_classes
from osslist.output import human_size
from osslist.pages import PrefixRecord, Record, VersionRecord

__all__ = ["DU_FORMATS", "DuRow", "DuTotals", "render", "totals"]

DU_FORMATS = ("table", "jsonl", "csv")
SUBTREE, OBJECTS = "subtree", "objects"
CURRENT, NONCURRENT, DELETE_MARKERS, UPLOADS = "current", "noncurrent", "delete_markers", "uploads"
STATES = (CURRENT, NONCURRENT, DELETE_MARKERS, UPLOADS)
"""--by-version-state columns: [count, bytes] of current versions, noncurrent versions, delete
markers (bytes 0) and, with --include-uploads, unfinished uploads (their parts' bytes)."""
_CONTROLS = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F]}


@dataclass
class DuRow:
    """Totals of one prefix (scope ``subtree``) or of the objects directly in it (``objects``)."""

    prefix: str
    scope: str
    objects: int = 0
    bytes: int = 0
    by_class: dict[str, list[int]] = field(default_factory=dict)  # class -> [objects, bytes]
    by_state: dict[str, list[int]] = field(default_factory=dict)  # STATES name -> [count, bytes]


class DuTotals:
    """Accumulates records into rows; feed it the listing of ``prefix`` (no delimiter)."""

    def __init__(self, *, prefix: str = "", depth: int = 1, by_class: bool = False, by_state: bool = False) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.prefix = prefix
        self.depth = depth
        self.by_class = by_class
        self.by_state = by_state
        self._rows: dict[tuple[str, str], DuRow] = {}

    def add(self, record: Record) -> None:
        """Count one object; common prefixes (from a delimiter listing) carry no size: skipped."""
        if type(record) is PrefixRecord:
            return
        version = record if type(record) is VersionRecord else None
        if version is not None and version.is_delete_marker:
            if self.by_state:  # not an object: counted in its own column only
                self._row_for(record.key).by_state.setdefault(DELETE_MARKERS, [0, 0])[0] += 1
            return
        row = self._row_for(record.key)
        row.objects += 1
        row.bytes += record.size
        if self.by_class:
            _count(row.by_class, record.storage_class, record.size)
        if self.by_state:
            current = version is None or version.is_latest
            _count(row.by_state, CURRENT if current else NONCURRENT, record.size)

    def add_upload(self, key: str, size: int) -> None:
        """Count one unfinished upload's parts (--include-uploads): bytes, not an object."""
        row = self._row_for(key)
        row.bytes += size
        if self.by_state:
            _count(row.by_state, UPLOADS, size)

    def add_all(self, records: Iterable[Record]) -> DuTotals:
        for record in records:
            self.add(record)
        return self

    def rows(self) -> list[DuRow]:
        """Rows by bytes descending, then objects descending, then prefix."""
        return sorted(self._rows.values(), key=lambda r: (-r.bytes, -r.objects, r.prefix, r.scope))

    def _row_for(self, key: str) -> DuRow:
        start = len(self.prefix) if key.startswith(self.prefix) else 0
        end = start - 1
        for _ in range(self.depth):
            end = key.find("/", end + 1)
            if end < 0:
                break
        if end >= 0:
            name, scope = key[: end + 1], SUBTREE
        else:
            name, scope = key[: max(key.rfind("/") + 1, start)], OBJECTS
        row = self._rows.get((name, scope))
        if row is None:
            row = self._rows[(name, scope)] = DuRow(name, scope)
        return row


def _count(split: dict[str, list[int]], name: str, size: int) -> None:
    entry = split.setdefault(name, [0, 0])
    entry[0] += 1
    entry[1] += size


def totals(records: Iterable[Record], *, prefix: str = "", depth: int = 1, by_class: bool = False) -> list[DuRow]:
    """Sorted rows for a record stream (convenience for the CLI and tests)."""
    return DuTotals(prefix=prefix, depth=depth, by_class=by_class).add_all(records).rows()


def render(
    rows: list[DuRow], fmt: str, *, by_class: bool = False, human: bool = True, by_state: bool = False
) -> str:
    """The rows as a people's table, JSON lines or CSV (all rows are in memory: they are few)."""
    splits = _splits(rows, by_class, by_state)
    if fmt == "table":
        return _table(rows, splits, human=human)
    if fmt == "jsonl":
        return "".join(json.dumps(_json_row(r, by_class, by_state), ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        return _csv(rows, splits)
    raise ValueError(f"unknown du format {fmt!r}; expected one of {', '.join(DU_FORMATS)}")


class _Split(NamedTuple):
    """One extra column pair of a row: the storage class or version state ``name`` of
    ``attribute`` (by_class / by_state), headed ``title``; ``count_only`` shows a count, not bytes."""

    attribute: str
    name: str
    title: str
    count_only: bool = False

    def of(self, row: DuRow) -> list[int]:
        counts: dict[str, list[int]] = getattr(row, self.attribute)
        return counts.get(self.name, [0, 0])


_STATE_TITLES = {CURRENT: "Current", NONCURRENT: "Noncurrent", DELETE_MARKERS: "DeleteMarkers", UPLOADS: "Uploads"}


def _splits(rows: list[DuRow], by_class: bool, by_state: bool) -> list[_Split]:
    splits = [_Split("by_class", n, n) for n in _classes(rows)] if by_class else []
    if by_state:
        seen = {name for row in rows for name in row.by_state}
        states = [s for s in STATES if s != UPLOADS or UPLOADS in seen]
        splits += [_Split("by_state", s, _STATE_TITLES[s], count_only=s == DELETE_MARKERS) for s in states]
    return splits


def _classes(rows: list[DuRow]) -> list[str]:
    return sort_classes(name for row in rows for name in row.by_class)


def _json_row(row: DuRow, by_class: bool, by_state: bool = False) -> dict[str, object]:
    data: dict[str, object] = {"prefix": row.prefix, "scope": row.scope, "objects": row.objects, "bytes": row.bytes}
    if by_class:
        data["storage_classes"] = {n: {"objects": c, "bytes": b} for n, (c, b) in row.by_class.items()}
    if by_state:
        data["version_states"] = {s: {"count": c, "bytes": b} for s, (c, b) in row.by_state.items()}
    return data


def _csv(rows: list[DuRow], splits: list[_Split]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Prefix", "Scope", "Objects", "Bytes"] + [f"{s.title}{k}" for s in splits for k in ("Objects", "Bytes")])
    for row in rows:
        extra = [v for s in splits for v in s.of(row)]
        writer.writerow([row.prefix, row.scope, row.objects, row.bytes, *extra])
    return out.getvalue()


def _label(row: DuRow) -> str:
    """How a row reads in the table: control characters escaped so a key cannot break lines."""
    name = row.prefix.translate(_CONTROLS)
    if row.scope == OBJECTS:
        return f"{name} (objects)" if name else "(objects)"
    return name


def _table(rows: list[DuRow], splits: list[_Split], *, human: bool) -> str:
    size = human_size if human else str

    def cell(split: _Split, pair: list[int]) -> str:
        return f"{pair[0]:,}" if split.count_only else size(pair[1])

    header = ["SIZE", "OBJECTS", *(s.title.upper() if s.attribute == "by_state" else s.title for s in splits), "PREFIX"]
    body = [[size(r.bytes), f"{r.objects:,}", *(cell(s, s.of(r)) for s in splits), _label(r)] for r in rows]
    total = [size(sum(r.bytes for r in rows)), f"{sum(r.objects for r in rows):,}"]
    total += [cell(s, [sum(s.of(r)[0] for r in rows), sum(s.of(r)[1] for r in rows)]) for s in splits] + ["TOTAL"]
    table = [header, *body, total]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    return "".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths)) + "  " + line[-1] + "\n" for line in table
    )
