"""The OSS model: buckets of objects, listed with OSS's exact semantics. No HTTP here.

A bucket keeps its keys in one sorted Python list and the per-object attributes in parallel
compact arrays, so a million objects cost little more than their key strings. Python compares
``str`` by code point, which for valid Unicode is the same order as UTF-8 bytes: the order OSS
lists in. ETags are derived from key and size unless one was given, so nothing per object is
stored as a formatted string. Only objects written with content (PutObject, a completed
multipart upload) keep bytes, in a side dict; seeded objects have a size and no content.
"""

from __future__ import annotations

import hashlib
import threading
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple

from osslist.emulator.versions import NULL_VERSION, Archive, History, Query, Version, VersionsPage, list_versions

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
OBJECT_TYPES = ("Normal", "Multipart", "Appendable", "Symlink")
MAX_KEY_BYTES = 1023
Picked = slice | list[int]  # which objects: a slice, or indices in order (Bucket.list hides the builtin)


class ObjectInfo(NamedTuple):
    """One object as a listing shows it (``last_modified`` in epoch seconds). A NamedTuple
    because a page builds a thousand of them and tuples are the cheapest to make."""

    key: str
    size: int
    last_modified: int
    etag: str
    storage_class: str
    object_type: str


class StoredContent(NamedTuple):
    """The bytes of a written object and the Content-Type it was written with."""

    data: bytes
    content_type: str


class ObjectExists(Exception):
    """A write-once put (``x-oss-forbid-overwrite``) found the key taken."""


class Columns(NamedTuple):
    """The objects of one page, field by field (ObjectInfo's fields, in its order): a page is
    sliced out of the bucket's arrays and rendered without a Python object per key."""

    keys: list[str]
    sizes: list[int]
    mtimes: list[int]
    etags: list[str]
    storage_classes: list[str]
    object_types: list[str]


@dataclass(frozen=True)
class ListingResult:
    """One page: objects and common prefixes in byte order, and where the next page starts."""

    columns: Columns
    prefixes: list[str]
    is_truncated: bool
    next_marker: str | None
    archive: dict[str, Archive] = field(default_factory=dict)
    """RestoreInfo / TransitionTime of the page's objects that have them (archive classes)."""

    @property
    def objects(self) -> list[ObjectInfo]:
        """The page's objects one by one (for tests and Python callers; rendering uses columns)."""
        return [ObjectInfo(*row) for row in zip(*self.columns)]


def check_key(key: str) -> None:
    """OSS keys are 1..1023 bytes of UTF-8."""
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError("object keys must be valid UTF-8") from exc
    if not 1 <= size <= MAX_KEY_BYTES:
        raise ValueError(f"object keys are 1..{MAX_KEY_BYTES} bytes of UTF-8, not {size}")


def derived_etag(key: str, size: int) -> str:
    """A stable MD5-looking ETag for an object that was not given one."""
    return hashlib.md5(f"{key}\0{size}".encode("utf-8", "surrogatepass")).hexdigest().upper()


def _derived_etags(keys: list[str], sizes: list[int]) -> list[str]:
    """``derived_etag`` of each (key, size), inlined: it runs for every object of every page."""
    md5 = hashlib.md5
    return [md5(f"{k}\0{s}".encode("utf-8", "surrogatepass")).hexdigest() for k, s in zip(keys, sizes)]


def _successor(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Bucket:
    """Objects of one bucket; every method is thread-safe so objects can change mid-listing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._keys: list[str] = []
        self._sizes = array("q")
        self._mtimes = array("q")
        self._classes = bytearray()
        self._types = bytearray()
        self._etags: dict[str, str] = {}
        self._contents: dict[str, StoredContent] = {}
        self._archive: dict[str, Archive] = {}
        self.history = History()
        """Versioning status and version histories (``versions``); guarded by this lock."""

    def __len__(self) -> int:
        return len(self._keys)

    def put(
        self,
        key: str,
        *,
        size: int = 0,
        last_modified: int = 0,
        storage_class: str = "Standard",
        object_type: str = "Normal",
        etag: str | None = None,
        content: StoredContent | None = None,
        forbid_overwrite: bool = False,
        archive: Archive | None = None,
    ) -> str | None:
        """Create or replace one object; with ``content`` its size is the content's length.
        ``forbid_overwrite`` raises ObjectExists instead of replacing (checked under the lock,
        so two racing write-once puts cannot both win). Returns the new version's id when
        versioning is on (else None)."""
        check_key(key)
        STORAGE_CLASSES.index(storage_class), OBJECT_TYPES.index(object_type)  # ValueError before any change
        if content is not None:
            size = len(content.data)
        if etag is None:
            etag = derived_etag(key, size)
        with self._lock:
            i = bisect_left(self._keys, key)
            exists = i < len(self._keys) and self._keys[i] == key
            if exists and forbid_overwrite:
                raise ObjectExists(key)
            fields = (size, int(last_modified), etag, storage_class, object_type, content, archive)
            if not self.history.active:
                self._store_locked(key, *fields)
                return None
            version = self.history.add(key, lambda seq, vid: Version(seq, vid, False, *fields), self._null_locked(key))
            self._store_locked(key, *fields)
            return version.version_id

    def _store_locked(
        self, key: str, size: int, mtime: int, etag: str | None, storage_class: str, object_type: str,
        content: StoredContent | None, archive: Archive | None,
    ) -> None:
        """Make this the key's current object (the arrays ListObjects reads)."""
        cls, typ = STORAGE_CLASSES.index(storage_class), OBJECT_TYPES.index(object_type)
        i = bisect_left(self._keys, key)
        exists = i < len(self._keys) and self._keys[i] == key
        if exists:
            self._sizes[i], self._mtimes[i] = size, mtime
            self._classes[i], self._types[i] = cls, typ
        else:
            self._keys.insert(i, key)
            self._sizes.insert(i, size)
            self._mtimes.insert(i, mtime)
            self._classes.insert(i, cls)
            self._types.insert(i, typ)
        self._etags.pop(key, None)
        self._contents.pop(key, None)
        self._archive.pop(key, None)
        if etag is not None and etag != derived_etag(key, size):
            self._etags[key] = etag
        if content is not None:
            self._contents[key] = content
        if archive is not None:
            self._archive[key] = archive

    def _null_locked(self, key: str) -> Version | None:
        """The key's current object as the null version it is when it predates versioning."""
        if self.history.has(key):
            return None
        i = bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            return None
        info = self._info(i)
        return Version(0, NULL_VERSION, False, info.size, info.last_modified, info.etag, info.storage_class,
                       info.object_type, self._contents.get(key), self._archive.get(key))

    def exists(self, key: str) -> bool:
        with self._lock:
            i = bisect_left(self._keys, key)
            return i < len(self._keys) and self._keys[i] == key

    def read(self, key: str) -> tuple[ObjectInfo, StoredContent | None] | None:
        """The object and its content (None for a seeded object, which has only a size)."""
        with self._lock:
            i = bisect_left(self._keys, key)
            if i == len(self._keys) or self._keys[i] != key:
                return None
            return self._info(i), self._contents.get(key)

    def delete(self, key: str) -> bool:
        """Remove one object (with versioning on: add a delete marker); False when it did not
        exist."""
        return self.remove(key, now=0)[0]

    def remove(self, key: str, *, now: int) -> tuple[bool, str | None]:
        """DeleteObject: (whether a current object existed, the delete marker's version id
        when versioning is on, which adds one even for a missing key)."""
        with self._lock:
            marker = None
            if self.history.active:
                made = self.history.add(
                    key, lambda seq, vid: Version(seq, vid, True, 0, now, "", "Standard", "Normal"),
                    self._null_locked(key),
                )
                marker = made.version_id
            return self._drop_locked(key), marker

    def _drop_locked(self, key: str) -> bool:
        i = bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            return False
        for column in (self._keys, self._sizes, self._mtimes, self._classes, self._types):
            del column[i]
        self._etags.pop(key, None)
        self._contents.pop(key, None)
        self._archive.pop(key, None)
        return True

    # --- versions (see ``versions``) --------------------------------------------------------

    @property
    def versioning(self) -> str | None:
        """None (never enabled), "Enabled" or "Suspended"."""
        with self._lock:
            return self.history.status

    def set_versioning(self, status: str) -> None:
        if status not in ("Enabled", "Suspended"):
            raise ValueError(f"versioning status is Enabled or Suspended, not {status!r}")
        with self._lock:
            self.history.status = status

    def delete_version(self, key: str, version_id: str) -> Version | None:
        """DeleteObject with a versionId: that version is gone for good; the key's current
        object becomes its newest remaining version (none when that is a delete marker)."""
        with self._lock:
            null = self._null_locked(key)
            if null is not None and version_id == NULL_VERSION:
                self._drop_locked(key)
                return null
            removed = self.history.remove(key, version_id)
            if removed is not None:
                self._refresh_current_locked(key)
            return removed

    def _refresh_current_locked(self, key: str) -> None:
        left = self.history.versions(key)
        newest = left[-1] if left else None
        if newest is None or newest.delete_marker:
            self._drop_locked(key)
        else:
            self._store_locked(key, *newest[3:])

    def read_version(self, key: str, version_id: str) -> Version | None:
        """One version of a key (a null version written before versioning included)."""
        with self._lock:
            null = self._null_locked(key)
            if null is not None:
                return null if version_id == NULL_VERSION else None
            return self.history.find(key, version_id)

    def add_versions(self, key: str, versions: list[tuple[int, int, bool]], *, storage_class: str = "Standard") -> None:
        """Seed a history fast: (size, last_modified, is_delete_marker) oldest first, each a new
        version under the current status; the newest becomes the current object."""
        check_key(key)
        with self._lock:
            existing = self._null_locked(key)
            for size, mtime, marker in versions:
                etag = "" if marker else derived_etag(key, size)
                kind = "Standard" if marker else storage_class
                self.history.add(
                    key, lambda seq, vid: Version(seq, vid, marker, 0 if marker else size, mtime, etag, kind, "Normal"),
                    existing,
                )
                existing = None
            self._refresh_current_locked(key)

    def list_versions(self, query: Query) -> VersionsPage:
        """One ListObjectVersions page (``versions.list_versions``)."""
        with self._lock:
            return list_versions(query, self.history, self._keys, self._current_version_locked)

    def _current_version_locked(self, key: str) -> Version | None:
        return self._null_locked(key)

    def load(self, keys: list[str], sizes: array[int], mtimes: array[int], classes: bytearray, types: bytearray) -> None:
        """Add many objects at once (the seeding path). ``keys`` must be new to the bucket."""
        with self._lock:
            if not self._keys and all(a < b for a, b in zip(keys, keys[1:])):
                self._keys, self._sizes, self._mtimes = list(keys), array("q", sizes), array("q", mtimes)
                self._classes, self._types = bytearray(classes), bytearray(types)
                return
            all_keys = self._keys + keys
            order = sorted(range(len(all_keys)), key=all_keys.__getitem__)
            sizes_all, mtimes_all = self._sizes + sizes, self._mtimes + mtimes
            classes_all, types_all = self._classes + classes, self._types + types
            self._keys = [all_keys[i] for i in order]
            self._sizes = array("q", (sizes_all[i] for i in order))
            self._mtimes = array("q", (mtimes_all[i] for i in order))
            self._classes = bytearray(classes_all[i] for i in order)
            self._types = bytearray(types_all[i] for i in order)

    def keys(self) -> list[str]:
        """A snapshot of every key, in listing order."""
        with self._lock:
            return list(self._keys)

    def get(self, key: str) -> ObjectInfo | None:
        with self._lock:
            i = bisect_left(self._keys, key)
            if i == len(self._keys) or self._keys[i] != key:
                return None
            return self._info(i)

    def _info(self, i: int) -> ObjectInfo:
        key, size = self._keys[i], self._sizes[i]
        etag = self._etags.get(key) or derived_etag(key, size)
        return ObjectInfo(
            key, size, self._mtimes[i], etag, STORAGE_CLASSES[self._classes[i]], OBJECT_TYPES[self._types[i]]
        )

    def list(self, *, prefix: str = "", delimiter: str = "", after: str = "", max_keys: int = 100) -> ListingResult:
        """One page as OSS serves it.

        Entries (objects and common prefixes) sort strictly after ``after`` and start with
        ``prefix``; with a delimiter, keys sharing ``prefix + ... + delimiter`` roll up into one
        common prefix, which counts once against ``max_keys`` and is skipped whole when it does
        not sort after ``after`` (so resuming from a NextMarker that is a common prefix does not
        repeat it). ``is_truncated`` is exact: true only if another entry exists.
        """
        with self._lock:
            page = self._list_locked(prefix, delimiter, after, max_keys)
            if self._archive:
                found = {k: self._archive[k] for k in page.columns.keys if k in self._archive}
                page = ListingResult(page.columns, page.prefixes, page.is_truncated, page.next_marker, found)
            return page

    def _list_locked(self, prefix: str, delimiter: str, after: str, max_keys: int) -> ListingResult:
        keys = self._keys
        i = bisect_right(keys, after) if after else 0
        if prefix:
            i = max(i, bisect_left(keys, prefix))
        if not delimiter:
            return self._slice_locked(i, self._prefix_end(prefix), max_keys)
        picked: list[int] = []
        prefixes: list[str] = []
        last: str | None = None
        n, plen = len(keys), len(prefix)
        while i < n:
            key = keys[i]
            if not key.startswith(prefix):
                break
            cut = key.find(delimiter, plen)
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                following = bisect_left(keys, _successor(common), i)
                if common > after:
                    if len(picked) + len(prefixes) == max_keys:
                        return ListingResult(self._columns(picked), prefixes, True, last)
                    prefixes.append(common)
                    last = common
                i = following
                continue
            if len(picked) + len(prefixes) == max_keys:
                return ListingResult(self._columns(picked), prefixes, True, last)
            picked.append(i)
            last = key
            i += 1
        return ListingResult(self._columns(picked), prefixes, False, None)

    def _prefix_end(self, prefix: str) -> int:
        """Index just past the last key starting with ``prefix`` (keys are sorted)."""
        if not prefix:
            return len(self._keys)
        if ord(prefix[-1]) < 0x10FFFF:
            return bisect_left(self._keys, _successor(prefix))
        end = bisect_left(self._keys, prefix)
        while end < len(self._keys) and self._keys[end].startswith(prefix):
            end += 1
        return end

    def _slice_locked(self, start: int, end: int, max_keys: int) -> ListingResult:
        """Without a delimiter a page is the contiguous run [start, min(end, start + max_keys))."""
        stop = min(end, start + max_keys) if start < end else start
        truncated = stop < end
        columns = self._columns(slice(start, stop))
        return ListingResult(columns, [], truncated, columns.keys[-1] if truncated and columns.keys else None)

    def _columns(self, picked: Picked) -> Columns:
        """The columns of the objects at ``picked`` (a slice, or indices in order)."""
        classes: bytes | bytearray
        types: bytes | bytearray
        if isinstance(picked, slice):
            keys, sizes = self._keys[picked], self._sizes[picked].tolist()
            mtimes, classes, types = self._mtimes[picked].tolist(), self._classes[picked], self._types[picked]
        else:
            keys, sizes = [self._keys[i] for i in picked], [self._sizes[i] for i in picked]
            mtimes = [self._mtimes[i] for i in picked]
            classes, types = bytes(self._classes[i] for i in picked), bytes(self._types[i] for i in picked)
        etags = _derived_etags(keys, sizes)
        if self._etags:
            given = self._etags.get
            etags = [given(k) or e.upper() for k, e in zip(keys, etags)]
        else:
            etags = "\n".join(etags).upper().split("\n") if etags else []
        return Columns(
            keys, sizes, mtimes, etags,
            list(map(STORAGE_CLASSES.__getitem__, classes)), list(map(OBJECT_TYPES.__getitem__, types)),
        )


class BucketStore:
    """All buckets of the emulated account, by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}

    def create(self, name: str) -> Bucket:
        """Create the bucket if missing; return it either way."""
        with self._lock:
            return self._buckets.setdefault(name, Bucket(name))

    def get(self, name: str) -> Bucket | None:
        with self._lock:
            return self._buckets.get(name)

    def require(self, name: str) -> Bucket:
        """The bucket, or KeyError naming it (for the Python-side API)."""
        bucket = self.get(name)
        if bucket is None:
            raise KeyError(f"no bucket {name!r}; call create_bucket() first")
        return bucket

    def delete(self, name: str) -> None:
        with self._lock:
            self._buckets.pop(name, None)
