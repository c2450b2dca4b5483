"""Counts of a listing: objects, bytes, per storage class, common prefixes, requests, time.

The summary goes to stderr (``to_text``) and, for scripts, to a JSON file (``to_json``), so
stdout carries records only. Parallel workers each fill their own Summary and ``merge`` them:
counts add up, requests add up, ``elapsed`` is the longest (the workers ran concurrently).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from osslist.filters import ARCHIVE_CLASSES, RESTORE_STATES, sort_classes
from osslist.output import human_size
from osslist.pages import ObjectRecord, PrefixRecord, Record, VersionRecord

__all__ = ["Summary"]


@dataclass
class Summary:
    """Running totals; ``add`` is called once per written record, so it stays minimal."""

    objects: int = 0
    bytes: int = 0
    prefixes: int = 0
    requests: int = 0
    elapsed: float = 0.0
    by_class: dict[str, list[int]] = field(default_factory=dict)  # class -> [objects, bytes]
    versioned: bool = False
    """Versions were listed (--all-versions): objects and bytes count every version; these
    say how many of them are noncurrent, and how many delete markers (not objects) came."""
    noncurrent_objects: int = 0
    noncurrent_bytes: int = 0
    delete_markers: int = 0
    restoring: dict[str, int] = field(default_factory=dict)
    """Archive-class objects with RestoreInfo, per state (ongoing, restored); those without
    are the rest of the archive classes' count (``restore_states``)."""

    def _rare(self, record: ObjectRecord) -> None:
        """Count a record that has details (RestoreInfo, TransitionTime or an owner): rare."""
        restore = record.restore
        if restore is not None and record.storage_class in ARCHIVE_CLASSES:
            state = restore.state
            self.restoring[state] = self.restoring.get(state, 0) + 1

    def add(self, record: Record) -> None:
        """Count one record (an object, a version, or a common prefix)."""
        if type(record) is not ObjectRecord:
            if type(record) is PrefixRecord:
                self.prefixes += 1
                return
            if type(record) is VersionRecord and self._version(record):
                return
        size = record.size
        self.objects += 1
        self.bytes += size
        if record.details is not None:
            self._rare(record)
        entry = self.by_class.get(record.storage_class)
        if entry is None:
            entry = self.by_class[record.storage_class] = [0, 0]
        entry[0] += 1
        entry[1] += size

    def add_many(self, records: Iterable[Record]) -> None:
        """``add`` for a page of records: the same totals without a method call per record."""
        by_class = self.by_class
        objects = total = 0
        for record in records:
            if type(record) is not ObjectRecord:
                if type(record) is PrefixRecord:
                    self.prefixes += 1
                    continue
                if type(record) is VersionRecord and self._version(record):
                    continue
            size = record.size
            objects += 1
            total += size
            if record.details is not None:
                self._rare(record)
            entry = by_class.get(record.storage_class)
            if entry is None:
                entry = by_class[record.storage_class] = [0, 0]
            entry[0] += 1
            entry[1] += size
        self.objects += objects
        self.bytes += total

    def _version(self, record: VersionRecord) -> bool:
        """Count what only versions have; True for a delete marker (which is not an object)."""
        self.versioned = True
        if record.is_delete_marker:
            self.delete_markers += 1
            return True
        if not record.is_latest:
            self.noncurrent_objects += 1
            self.noncurrent_bytes += record.size
        return False

    def merge(self, other: Summary) -> Summary:
        """Fold another worker's totals into this one (in place); returns self."""
        self.versioned = self.versioned or other.versioned
        self.noncurrent_objects += other.noncurrent_objects
        self.noncurrent_bytes += other.noncurrent_bytes
        self.delete_markers += other.delete_markers
        self.objects += other.objects
        self.bytes += other.bytes
        self.prefixes += other.prefixes
        self.requests += other.requests
        self.elapsed = max(self.elapsed, other.elapsed)
        for state, count in other.restoring.items():
            self.restoring[state] = self.restoring.get(state, 0) + count
        for name, (count, size) in other.by_class.items():
            entry = self.by_class.setdefault(name, [0, 0])
            entry[0] += count
            entry[1] += size
        return self

    def restore_states(self) -> dict[str, int] | None:
        """Archive-class objects per restore state (none, ongoing, restored); None without any."""
        archived = sum(self.by_class[name][0] for name in ARCHIVE_CLASSES if name in self.by_class)
        if not archived:
            return None
        states = {state: self.restoring.get(state, 0) for state in RESTORE_STATES}
        states["none"] = archived - states["ongoing"] - states["restored"]
        return states

    def classes(self) -> list[tuple[str, int, int]]:
        """(class, objects, bytes) in OSS's order of classes, unknown names after, by name."""
        return [(n, self.by_class[n][0], self.by_class[n][1]) for n in sort_classes(self.by_class)]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --summary-json."""
        return {
            "objects": self.objects,
            "bytes": self.bytes,
            "bytes_human": human_size(self.bytes),
            "prefixes": self.prefixes,
            "requests": self.requests,
            "elapsed_seconds": round(self.elapsed, 3),
            "storage_classes": {n: {"objects": c, "bytes": b} for n, c, b in self.classes()},
            **(self._versions_dict() if self.versioned else {}),
            **({"restore_states": states} if (states := self.restore_states()) else {}),
        }

    def _versions_dict(self) -> dict[str, Any]:
        return {
            "noncurrent": {"objects": self.noncurrent_objects, "bytes": self.noncurrent_bytes},
            "delete_markers": self.delete_markers,
        }

    def to_json(self) -> str:
        """``to_dict`` as one line of JSON text (what --summary-json writes)."""
        return json.dumps(self.to_dict(), sort_keys=False)

    def to_text(self) -> str:
        """A few lines for people, meant for stderr."""
        rate = f", {self.objects / self.elapsed:,.0f} objects/s" if self.elapsed > 0 else ""
        lines = [
            f"{_counted(self.objects, 'object')}, {_counted(self.bytes, 'byte')} ({human_size(self.bytes)})"
            + (f", {_counted(self.prefixes, 'common prefix', 'common prefixes')}" if self.prefixes else "")
            + f"; {_counted(self.requests, 'request')} in {self.elapsed:.1f} s{rate}"
        ]
        if self.versioned:
            lines.append(
                f"  of which noncurrent: {_counted(self.noncurrent_objects, 'version')}, "
                f"{_counted(self.noncurrent_bytes, 'byte')} ({human_size(self.noncurrent_bytes)}); "
                f"{_counted(self.delete_markers, 'delete marker')}"
            )
        for name, count, size in self.classes():
            objects, size_unit = _unit(count, "object"), _unit(size, "byte")
            lines.append(f"  {name:<15} {count:>14,} {objects:<7} {size:>20,} {size_unit:<5} ({human_size(size)})")
        states = self.restore_states()
        if states:
            lines.append("  archive-class objects by restore state: "
                         + ", ".join(f"{count:,} {state}" for state, count in states.items()))
        return "\n".join(lines)


def _counted(count: int, singular: str, plural: str = "") -> str:
    """``1 object``, ``2 objects``: the headline is read by people, and "1 requests" jars."""
    return f"{count:,} {_unit(count, singular, plural)}"


def _unit(count: int, singular: str, plural: str = "") -> str:
    return singular if count == 1 else plural or singular + "s"
