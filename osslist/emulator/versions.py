"""Object versions, the model: a bucket's versioning status, every key's version history and
ListObjectVersions paging. No HTTP, no locking (the owning ``state.Bucket`` holds its lock).

OSS's rules kept here: versioning is off until first enabled, then Enabled or Suspended (never
off again). Enabled, each PutObject adds a version with a fresh id and each DeleteObject adds a
delete marker; Suspended, both write the version id ``null``, replacing the key's previous null
version. Objects written before versioning was enabled are null versions. ListObjectVersions
lists keys in byte order and each key's versions newest first; (key-marker,
version-id-marker) continues after that version, key-marker alone after every version of that
key. Histories are kept oldest first (appending a version is O(1), so seeding a key with
thousands of versions is fast) and each version carries a sequence number that its id encodes,
so a version-id-marker is found by bisection, not by a scan.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

if TYPE_CHECKING:
    from osslist.emulator.state import StoredContent

NULL_VERSION = "null"
ENABLED, SUSPENDED = "Enabled", "Suspended"
_ID_HEAD = "CAEQ"
_SEQ_DIGITS = 12


class Archive(NamedTuple):
    """Archive-class state a listing shows: RestoreInfo (``restore_ongoing`` None: no
    RestoreInfo; True: being restored; False: restored until ``restore_expiry``) and the
    TransitionTime of a lifecycle move (epoch seconds, None when never moved)."""

    restore_ongoing: bool | None = None
    restore_expiry: int | None = None
    transition_time: int | None = None


class Version(NamedTuple):
    """One version of a key. ``seq`` orders a key's versions (0: written before versioning)."""

    seq: int
    version_id: str
    delete_marker: bool
    size: int
    last_modified: int
    etag: str
    storage_class: str
    object_type: str
    content: StoredContent | None = None  # the bytes written (None: seeded, or a delete marker)
    archive: Archive | None = None


class VersionEntry(NamedTuple):
    """A version as a listing shows it."""

    key: str
    version: Version
    is_latest: bool


@dataclass(frozen=True)
class VersionsPage:
    entries: list[VersionEntry]
    prefixes: list[str]
    is_truncated: bool
    next_key_marker: str
    next_version_id_marker: str


class BadVersionMarker(ValueError):
    """A version-id-marker without a key-marker."""


def new_version_id(seq: int) -> str:
    """An id shaped like OSS's (letters and digits only, so it needs no escaping anywhere)
    that encodes ``seq``."""
    tail = hashlib.md5(str(seq).encode()).hexdigest()[:20].upper()
    return f"{_ID_HEAD}{seq:0{_SEQ_DIGITS}d}{tail}"


def seq_of(version_id: str) -> int | None:
    """The sequence number an id from :func:`new_version_id` encodes (None for any other)."""
    digits = version_id[len(_ID_HEAD) : len(_ID_HEAD) + _SEQ_DIGITS]
    if version_id.startswith(_ID_HEAD) and len(digits) == _SEQ_DIGITS and digits.isdigit():
        return int(digits)
    return None


class History:
    """Versioning status and the histories of the keys written since it was first enabled."""

    def __init__(self) -> None:
        self.status: str | None = None
        self._keys: list[str] = []
        self._versions: dict[str, list[Version]] = {}
        self._seq = itertools.count(1)

    @property
    def active(self) -> bool:
        return self.status is not None

    def has(self, key: str) -> bool:
        return key in self._versions

    def versions(self, key: str) -> list[Version]:
        """The key's versions, oldest first (empty if none recorded)."""
        return self._versions.get(key, [])

    def add(self, key: str, make: Callable[[int, str], Version], existing: Version | None) -> Version:
        """Record a new version of ``key`` built by ``make(seq, version_id)``. ``existing`` is
        the key's current object when it predates versioning (it becomes the null version)."""
        history = self._versions.get(key)
        if history is None:
            history = self._versions[key] = [existing] if existing is not None else []
            self._keys.insert(bisect_left(self._keys, key), key)
        seq = next(self._seq)
        if self.status == SUSPENDED:
            history[:] = [v for v in history if v.version_id != NULL_VERSION]
            version = make(seq, NULL_VERSION)
        else:
            version = make(seq, new_version_id(seq))
        history.append(version)
        return version

    def remove(self, key: str, version_id: str) -> Version | None:
        """Delete one version for good; the removed version, or None when it did not exist."""
        history = self._versions.get(key, [])
        for index, version in enumerate(history):
            if version.version_id == version_id:
                del history[index]
                return version
        return None

    def find(self, key: str, version_id: str) -> Version | None:
        history = self._versions.get(key, [])
        seq = seq_of(version_id)
        if seq is not None:
            index = bisect_left(history, seq, key=_seq_key)
            hit = history[index] if index < len(history) else None
            return hit if hit is not None and hit.version_id == version_id else None
        return next((v for v in history if v.version_id == version_id), None)

    def keys_from(self, after: str) -> Iterator[str]:
        """Keys with a history, in order, from the first one >= ``after``."""
        return keys_from(self._keys, after)

    def newest_first_after(self, key: str, version_id: str) -> list[Version]:
        """The key's versions newest first that come after ``version_id`` in that order
        (none when the marker is not one of them: the key is then skipped)."""
        history = self._versions.get(key, [])
        found = self.find(key, version_id)
        if found is None:
            return []
        index = bisect_left(history, found.seq, key=_seq_key)
        return history[index - 1 :: -1] if index else []


def keys_from(keys: list[str], start: str) -> Iterator[str]:
    """The sorted ``keys`` from the first one >= ``start``, read lazily: a page takes about a
    thousand of them, and copying the list's tail instead made every page of a million-key
    bucket cost time in proportion to the keys after it."""
    return map(keys.__getitem__, range(bisect_left(keys, start), len(keys)))


def _seq_key(version: Version) -> int:
    return version.seq


@dataclass(frozen=True)
class Query:
    prefix: str = ""
    delimiter: str = ""
    key_marker: str = ""
    version_id_marker: str = ""
    max_keys: int = 100


def list_versions(
    query: Query, history: History, current_keys: list[str], current: Callable[[str], Version | None]
) -> VersionsPage:
    """One ListObjectVersions page over the keys with a history and the current keys without
    one (each a single null version, written before versioning)."""
    if query.version_id_marker and not query.key_marker:
        raise BadVersionMarker("A version-id marker cannot be specified without a key marker.")
    taken: list[VersionEntry] = []
    prefixes: list[str] = []
    last = ("", "")
    start = query.key_marker if query.key_marker > query.prefix else query.prefix
    for key in _merged_keys(history, current_keys, start):
        if not key.startswith(query.prefix):
            break
        common = _common_prefix(key, query.prefix, query.delimiter)
        if common is not None:
            if common <= query.key_marker or (prefixes and prefixes[-1] == common):
                continue
            if len(taken) + len(prefixes) == query.max_keys:
                return VersionsPage(taken, prefixes, True, *last)
            prefixes.append(common)
            last = (common, "")
            continue
        for version, is_latest in _key_versions(query, history, key, current):
            if len(taken) + len(prefixes) == query.max_keys:
                return VersionsPage(taken, prefixes, True, *last)
            taken.append(VersionEntry(key, version, is_latest))
            last = (key, version.version_id)
    return VersionsPage(taken, prefixes, False, "", "")


def _key_versions(
    query: Query, history: History, key: str, current: Callable[[str], Version | None]
) -> Iterator[tuple[Version, bool]]:
    """(version, is_latest) of ``key`` newest first, after the markers."""
    if key == query.key_marker and not query.version_id_marker:
        return
    if history.has(key):
        versions = history.versions(key)
        newest = versions[-1] if versions else None
        chosen = (
            history.newest_first_after(key, query.version_id_marker)
            if key == query.key_marker else versions[::-1]
        )
        for version in chosen:
            yield version, version is newest
        return
    only = current(key)
    if only is not None and key != query.key_marker:
        yield only, True


def _merged_keys(history: History, current_keys: list[str], start: str) -> Iterator[str]:
    """Keys with a history and current keys, merged in order, each once, from ``start``."""
    last = None
    for key in heapq.merge(history.keys_from(start), keys_from(current_keys, start)):
        if key != last:
            yield key
            last = key


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    cut = key.find(delimiter, len(prefix))
    return key[: cut + len(delimiter)] if cut >= 0 else None


