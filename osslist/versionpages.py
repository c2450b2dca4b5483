"""Lean parser of one ListObjectVersions response body (``<ListVersionsResult>``).

The same two-path design as ``pages``: a regex fast path over the strict url-encoded shape OSS
sends (one ``findall`` walks the body, no Python call per element), and an exact expat path
for anything else (a body without ``encoding-type=url``, other elements, odd whitespace). Both
give the same records, in the body's order: keys ascending, each key's versions newest first,
``<Version>`` and ``<DeleteMarker>`` interleaved as OSS sent them. Values are decoded like
oss2 decodes them (``urllib.parse.unquote`` for url-encoded Key, Prefix, NextKeyMarker).

A delete marker has no size and no ETag: its record carries 0 and "" (writers show them as
empty). The plain listing never comes here, so its speed is untouched by versions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from typing import Callable
from urllib.parse import unquote
from xml.parsers import expat

from osslist.errors import ListingError
from osslist.pages import PrefixRecord, Record, VersionRecord, details_of, rare_fields
from osslist.pages import _unquote, _unquote_all  # the same decoding as the plain listing's fast path

__all__ = ["VersionPage", "parse_version_page"]

_ROOT = "ListVersionsResult"
_WS = "[ \t\r\n]*+"
_VALUE = "[!-%'-;=?-~]"
_LOOSE = "[ -%'-;=?-~]*+"


def _leaf(name: str, value: str) -> str:
    return f"<{name}>{value}</{name}>{_WS}"


_OWNER = f"(?:<Owner>{_WS}{_leaf('ID', f'({_LOOSE})')}{_leaf('DisplayName', _LOOSE)}</Owner>{_WS})?"
_HEAD_FIELDS = (
    _leaf("Key", f"({_VALUE}++)") + _leaf("VersionId", f"({_VALUE}*+)")
    + _leaf("IsLatest", "(true|false)") + _leaf("LastModified", f"({_VALUE}*+)")
)
_VERSION = (
    f"<Version>{_WS}{_HEAD_FIELDS}"
    + _leaf("ETag", "(?:&quot;|\")?([!#-%'-;=?-~]*+)(?:&quot;|\")?")
    + _leaf("Type", f"({_VALUE}*+)") + _leaf("Size", "([0-9]{1,18})") + _leaf("StorageClass", f"({_VALUE}*+)")
    + _OWNER
    + f"((?:{'|'.join(_leaf(n, _LOOSE) for n in ('RestoreInfo', 'TransitionTime', 'SealedTime'))})*)"
    + "</Version>"
)
_MARKER = f"<DeleteMarker>{_WS}{_HEAD_FIELDS}{_OWNER}</DeleteMarker>"
_TOP_NAMES = (
    "Name|Prefix|KeyMarker|VersionIdMarker|MaxKeys|Delimiter|EncodingType|IsTruncated|NextKeyMarker|"
    "NextVersionIdMarker"
)
# Groups: 1-8 a Version, 9 its owner's ID, 10 its RestoreInfo/TransitionTime tail, 11-14 a
# DeleteMarker, 15 its owner's ID, 16 a common prefix, 17-18 a top-level leaf, 19 any other
# character (the body is then outside the fast path's subset).
_ITEM = re.compile(
    f"{_WS}(?:{_VERSION}|{_MARKER}"
    f"|<CommonPrefixes>{_WS}<Prefix>({_VALUE}++)</Prefix>{_WS}</CommonPrefixes>"
    f"|<({_TOP_NAMES})>({_VALUE}*+)</\\17>"
    "|([^ \t\r\n]))"
)
_HEAD = re.compile(f"(?:<\\?xml version=([\"'])1\\.0\\1 encoding=([\"'])UTF-8\\2\\?>)?{_WS}<{_ROOT}>")
_CLOSE = f"</{_ROOT}>"


@dataclass(frozen=True)
class VersionPage:
    """One parsed page: version records (prefixes merged in key order) and where the next
    page starts (NextKeyMarker, NextVersionIdMarker: "" when absent)."""

    records: list[Record]
    is_truncated: bool
    next_key_marker: str
    next_version_id_marker: str


def parse_version_page(body: bytes, *, owner: bool = False) -> VersionPage:
    """Parse one raw ListVersionsResult body; ListingError when it is not one. RestoreInfo
    and TransitionTime go into a record's ``details``; the owner's ID only with ``owner``
    (as ``pages.parse_page``)."""
    fast = _scan_fast(body, owner)
    if fast is not None:
        return fast
    return _parse_exact(body, owner)


def _scan_fast(body: bytes, owner: bool = False) -> VersionPage | None:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    head = _HEAD.match(text)
    end = len(text.rstrip(" \t\r\n")) - len(_CLOSE)
    if head is None or end < head.end() or not text.endswith(_CLOSE, 0, end + len(_CLOSE)):
        return None
    items = _ITEM.findall(text, head.end(), end)
    if any(item[18] for item in items):
        return None
    top = {item[16]: item[17] for item in items if item[16]}
    if top.get("EncodingType") != "url":
        return None
    intern = sys.intern
    records: list[Record] = []
    entries = [item for item in items if item[0] or item[10] or item[15]]
    # One decoding pass over the page's keys (pages' ``%2F`` fast path, unquote for the rest).
    keys = _unquote_all([item[0] or item[10] or item[15] for item in entries])
    for item, key in zip(entries, keys):
        if item[0]:
            record = VersionRecord(key, int(item[6]), item[3], item[4], intern(item[7]), intern(item[5]), item[1],
                                   item[2] == "true", False)
            if owner or item[9]:  # the rare fields: most records have none, and this runs per record
                record = replace(record, details=details_of(item[8] if owner else None, *rare_fields(item[9])))
            records.append(record)
        elif item[10]:
            details = details_of(item[14], None, None) if owner else None
            records.append(VersionRecord(key, 0, item[13], "", "", "", item[11], item[12] == "true",
                                         True, details=details))
        else:
            records.append(PrefixRecord(key))
    return _finish(records, top, _unquote)


class _Collector:
    """expat handlers for the exact path: each leaf's text exactly as ElementTree sees it."""

    def __init__(self) -> None:
        self.top: dict[str, str] = {}
        self.entries: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._parts: list[str] = []
        self._depth = 0

    def start(self, name: str, _attrs: object) -> None:
        self._parts.clear()
        self._depth += 1
        if self._depth == 2 and name in ("Version", "DeleteMarker", "CommonPrefixes"):
            self._fields = {}

    def end(self, name: str) -> None:
        text = "".join(self._parts)
        self._parts.clear()
        self._depth -= 1
        if self._depth == 1 and self._fields is not None:
            self.entries.append((name, self._fields))
            self._fields = None
        elif self._depth == 2 and self._fields is not None:
            self._fields[name] = text
        elif self._depth == 3 and self._fields is not None and name == "ID":  # <Owner><ID>
            self._fields[name] = text
        elif self._depth == 1:
            self.top[name] = text
        elif self._depth == 0 and name != _ROOT:
            raise ListingError(f"listing page is a <{name[:40]}>, not a <{_ROOT}>")


def _parse_exact(body: bytes, owner: bool = False) -> VersionPage:
    collector = _Collector()
    parser = expat.ParserCreate()
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector._parts.append
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise ListingError(f"malformed listing page: {exc}") from exc
    decode = unquote if collector.top.get("EncodingType") == "url" else _identity
    try:
        records = [_entry(kind, fields, decode, owner) for kind, fields in collector.entries]
    except (KeyError, ValueError) as exc:
        raise ListingError(f"listing page with an incomplete entry ({exc})") from exc
    return _finish(records, collector.top, decode)


def _entry(kind: str, fields: dict[str, str], decode: Callable[[str], str], owner: bool) -> Record:
    if kind == "CommonPrefixes":
        return PrefixRecord(decode(fields["Prefix"]))
    latest = fields.get("IsLatest", "") == "true"
    key, version_id, mtime = decode(fields["Key"]), fields.get("VersionId", ""), fields.get("LastModified", "")
    details = details_of(fields.get("ID") if owner else None, fields.get("RestoreInfo"), fields.get("TransitionTime"))
    if kind == "DeleteMarker":
        return VersionRecord(key, 0, mtime, "", "", "", version_id, latest, True, details=details)
    return VersionRecord(key, int(fields["Size"]), mtime, fields.get("ETag", "").strip('"'),
                         fields.get("StorageClass", ""), fields.get("Type", ""), version_id, latest, False,
                         details=details)


def _finish(records: list[Record], top: dict[str, str], decode: Callable[[str], str]) -> VersionPage:
    truncated = top.get("IsTruncated")
    if truncated not in ("true", "false"):
        raise ListingError("listing page without a valid <IsTruncated>")
    if any(type(r) is PrefixRecord for r in records):
        records = sorted(records, key=lambda r: r.prefix if type(r) is PrefixRecord else r.key)  # stable
    return VersionPage(records, truncated == "true", decode(top.get("NextKeyMarker", "")),
                       decode(top.get("NextVersionIdMarker", "")))


def _identity(value: str) -> str:
    return value
