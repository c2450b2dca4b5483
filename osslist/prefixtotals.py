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
from typing import Iterable

from osslist.filters import sort_classes
from osslist.output import human_size
from osslist.pages import PrefixRecord, Record

__all__ = ["DU_FORMATS", "DuRow", "DuTotals", "render", "totals"]

DU_FORMATS = ("table", "jsonl", "csv")
SUBTREE, OBJECTS = "subtree", "objects"
_CONTROLS = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F]}


@dataclass
class DuRow:
    """Totals of one prefix (scope ``subtree``) or of the objects directly in it (``objects``)."""

    prefix: str
    scope: str
    objects: int = 0
    bytes: int = 0
    by_class: dict[str, list[int]] = field(default_factory=dict)  # class -> [objects, bytes]


class DuTotals:
    """Accumulates records into rows; feed it the listing of ``prefix`` (no delimiter)."""

    def __init__(self, *, prefix: str = "", depth: int = 1, by_class: bool = False) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.prefix = prefix
        self.depth = depth
        self.by_class = by_class
        self._rows: dict[tuple[str, str], DuRow] = {}

    def add(self, record: Record) -> None:
        """Count one object; common prefixes (from a delimiter listing) carry no size: skipped."""
        if type(record) is PrefixRecord:
            return
        row = self._row_for(record.key)
        row.objects += 1
        row.bytes += record.size
        if self.by_class:
            entry = row.by_class.setdefault(record.storage_class, [0, 0])
            entry[0] += 1
            entry[1] += record.size

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


def totals(records: Iterable[Record], *, prefix: str = "", depth: int = 1, by_class: bool = False) -> list[DuRow]:
    """Sorted rows for a record stream (convenience for the CLI and tests)."""
    return DuTotals(prefix=prefix, depth=depth, by_class=by_class).add_all(records).rows()


def render(rows: list[DuRow], fmt: str, *, by_class: bool = False, human: bool = True) -> str:
    """The rows as a people's table, JSON lines or CSV (all rows are in memory: they are few)."""
    if fmt == "table":
        return _table(rows, by_class=by_class, human=human)
    if fmt == "jsonl":
        return "".join(json.dumps(_json_row(r, by_class), ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        return _csv(rows, by_class=by_class)
    raise ValueError(f"unknown du format {fmt!r}; expected one of {', '.join(DU_FORMATS)}")


def _classes(rows: list[DuRow]) -> list[str]:
    return sort_classes(name for row in rows for name in row.by_class)


def _json_row(row: DuRow, by_class: bool) -> dict[str, object]:
    data: dict[str, object] = {"prefix": row.prefix, "scope": row.scope, "objects": row.objects, "bytes": row.bytes}
    if by_class:
        data["storage_classes"] = {n: {"objects": c, "bytes": b} for n, (c, b) in row.by_class.items()}
    return data


def _csv(rows: list[DuRow], *, by_class: bool) -> str:
    classes = _classes(rows) if by_class else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Prefix", "Scope", "Objects", "Bytes"] + [f"{n}{k}" for n in classes for k in ("Objects", "Bytes")])
    for row in rows:
        extra = [v for n in classes for v in row.by_class.get(n, [0, 0])]
        writer.writerow([row.prefix, row.scope, row.objects, row.bytes, *extra])
    return out.getvalue()


def _label(row: DuRow) -> str:
    """How a row reads in the table: control characters escaped so a key cannot break lines."""
    name = row.prefix.translate(_CONTROLS)
    if row.scope == OBJECTS:
        return f"{name} (objects)" if name else "(objects)"
    return name


def _table(rows: list[DuRow], *, by_class: bool, human: bool) -> str:
    size = human_size if human else str
    classes = _classes(rows) if by_class else []
    header = ["SIZE", "OBJECTS", *classes, "PREFIX"]
    body = [
        [size(r.bytes), f"{r.objects:,}", *(size(r.by_class.get(n, [0, 0])[1]) for n in classes), _label(r)]
        for r in rows
    ]
    total = [size(sum(r.bytes for r in rows)), f"{sum(r.objects for r in rows):,}"]
    total += [size(sum(r.by_class.get(n, [0, 0])[1] for r in rows)) for n in classes] + ["TOTAL"]
    table = [header, *body, total]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    return "".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths)) + "  " + line[-1] + "\n" for line in table
    )
