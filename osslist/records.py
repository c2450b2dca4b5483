"""The records the Python API hands out: frozen, typed, ``last_modified`` a UTC datetime.

The listing itself keeps OSS's text (``pages.ObjectRecord``, the cheapest thing to parse and
to write out); a script wants a ``datetime`` it can compare, so each record is converted once,
in the thread that listed its page. These classes are public (``osslist.ObjectRecord``,
``osslist.PrefixRecord``): a minor version may add fields with defaults, never remove or
retype one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Sequence, Union

from osslist import pages
from osslist.errors import ListingError

if TYPE_CHECKING:
    from osslist import uploads

__all__ = [
    "Entry", "ObjectRecord", "PrefixRecord", "Restore", "UploadRecord", "VersionRecord", "public_record",
    "public_records", "public_uploads",
]


@dataclass(frozen=True, slots=True)
class Restore:
    """An archive-class object's RestoreInfo: ``ongoing`` while it is being restored; once
    restored, ``expiry`` says until when it stays readable (aware UTC; None while ongoing)."""

    ongoing: bool
    expiry: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """One object as OSS listed it.

    ``last_modified`` is timezone-aware UTC; ``etag`` comes without its quotes (a multipart
    object's ends in ``-<parts>``); ``storage_class`` is OSS's name (``Standard``, ``IA``,
    ``Archive``, ``ColdArchive``, ``DeepColdArchive``); ``type`` is ``Normal``, ``Multipart``,
    ``Appendable`` or ``Symlink``. Keyword-only, optional (None when OSS did not send them):
    ``restore`` (:class:`Restore`: archive classes being or having been restored),
    ``transition_time`` (when a lifecycle rule moved it to its class, aware UTC) and ``owner``
    (the owner's ID, with ``fetch_owner=True`` only).

    >>> record.key, record.size, record.last_modified.year   # doctest: +SKIP
    ('logs/2024/a.gz', 1024, 2024)
    """

    key: str
    size: int
    last_modified: datetime
    etag: str
    storage_class: str
    type: str
    restore: Restore | None = field(default=None, kw_only=True)
    transition_time: datetime | None = field(default=None, kw_only=True)
    owner: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class VersionRecord(ObjectRecord):
    """One version or delete marker (``list_objects(..., all_versions=True)``): an ObjectRecord
    plus ``version_id`` (``"null"`` when written while versioning was suspended), ``is_latest``
    (the key's newest) and ``is_delete_marker`` (a delete marker has size 0 and etag ``""``).
    A key's versions come newest first."""

    version_id: str
    is_latest: bool
    is_delete_marker: bool


@dataclass(frozen=True, slots=True)
class PrefixRecord:
    """A common prefix (a "folder", ending with the delimiter), listed only with a delimiter."""

    prefix: str


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One unfinished multipart upload (``list_uploads``): its parts are billed, yet no
    listing of objects shows them. ``initiated`` is timezone-aware UTC; ``part_count`` and
    ``size`` (bytes of its parts) are None unless listed with ``parts=True``. A key's uploads
    come in initiation order."""

    key: str
    upload_id: str
    initiated: datetime
    part_count: int | None = None
    size: int | None = None


Entry = Union[ObjectRecord, PrefixRecord]
"""What a listing with a delimiter yields: objects and common prefixes, in key order."""


def utc_datetime(stamp: str, name: str = "LastModified") -> datetime:
    """OSS's ``2024-06-22T13:13:58.000Z`` as an aware UTC datetime, exact to the microsecond
    (no float on the way: ``.123`` stays 123000 microseconds)."""
    try:
        fraction = stamp[19:].rstrip("Zz")
        micro = int((fraction[1:] + "000000")[:6]) if fraction.startswith(".") else 0
        return datetime(int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]),
                        int(stamp[14:16]), int(stamp[17:19]), micro, tzinfo=timezone.utc)
    except ValueError as exc:
        raise ListingError(f"unreadable {name} {stamp[:40]!r}") from exc


def public_record(record: pages.Record) -> Entry:
    """The public record for one listed record."""
    if isinstance(record, pages.PrefixRecord):
        return PrefixRecord(record.prefix)
    fields = (record.key, record.size, utc_datetime(record.last_modified), record.etag, record.storage_class,
              record.type)
    restore, moved, owner = (None, None, None) if record.details is None else _rare(record.details)
    if isinstance(record, pages.VersionRecord):
        return VersionRecord(*fields, record.version_id, record.is_latest, record.is_delete_marker,
                             restore=restore, transition_time=moved, owner=owner)
    return ObjectRecord(*fields, restore=restore, transition_time=moved, owner=owner)


def _rare(details: pages.Details) -> tuple[Restore | None, datetime | None, str | None]:
    """The public record's (restore, transition_time, owner) for a listed record's details."""
    restore = details.restore
    expiry = None if restore is None or restore.expiry is None else _maybe_datetime(restore.expiry)
    moved = None if details.transition_time is None else utc_datetime(details.transition_time)
    return (None if restore is None else Restore(restore.ongoing, expiry)), moved, details.owner


def _maybe_datetime(stamp: str) -> datetime | None:
    """An expiry as a datetime; None when OSS sent something unreadable (kept in the CLI's output)."""
    try:
        return utc_datetime(stamp)
    except ListingError:
        return None


def public_records(records: Sequence[pages.Record]) -> tuple[Entry, ...]:
    """A page of listed records as public ones (run in the worker that listed the page)."""
    return tuple(map(public_record, records))


def public_uploads(records: Sequence[uploads.UploadRecord]) -> tuple[UploadRecord, ...]:
    """A page of listed uploads as public records."""
    return tuple(UploadRecord(r.key, r.upload_id, utc_datetime(r.initiated, "Initiated"), r.part_count, r.size)
                 for r in records)
