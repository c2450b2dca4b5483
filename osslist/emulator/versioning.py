"""Versioning handlers: ListObjectVersions, GetBucketVersioning, PutBucketVersioning. HTTP in,
model calls (``state.Bucket``, ``versions``), HTTP out; model refusals become wire errors here."""

from __future__ import annotations

from osslist.emulator.faults import Faults
from osslist.emulator.queries import check_lengths, max_keys, url_encoded
from osslist.emulator.server import HttpResponse
from osslist.emulator.state import Bucket
from osslist.emulator.versions import BadVersionMarker, Query
from osslist.emulator.versions_xml import (
    BadVersioningConfiguration,
    list_versions_result,
    parse_versioning,
    versioning_result,
)
from osslist.emulator.wire import InvalidArgument, MalformedXML, NotImplementedOperation

_PARAMS = frozenset("versions prefix delimiter key-marker version-id-marker max-keys encoding-type".split())


def _xml(body: bytes) -> HttpResponse:
    return HttpResponse(200, body, {"Content-Type": "application/xml"})


def _query(params: dict[str, str]) -> tuple[Query, bool]:
    """The validated query: max-keys 1..1000 (default 100), markers and prefix under 1024
    bytes, encoding-type url or nothing, a version-id-marker only with a key-marker."""
    if set(params) - _PARAMS:
        raise NotImplementedOperation("The emulator does not implement this bucket operation.")
    check_lengths(params, dict.fromkeys(("prefix", "key-marker", "version-id-marker")))
    limit, url = max_keys(params), url_encoded(params)
    query = Query(
        prefix=params.get("prefix", ""), delimiter=params.get("delimiter", ""),
        key_marker=params.get("key-marker", ""), version_id_marker=params.get("version-id-marker", ""),
        max_keys=limit,
    )
    return query, url


def list_object_versions(bucket: Bucket, params: dict[str, str], faults: Faults) -> HttpResponse:
    query, url = _query(params)
    asked = query.max_keys
    if faults.short_pages:
        query = Query(query.prefix, query.delimiter, query.key_marker, query.version_id_marker,
                      min(asked, faults.short_pages))
    try:
        page = bucket.list_versions(query)
    except BadVersionMarker as exc:
        raise InvalidArgument(str(exc)) from exc
    echo = {name: params.get(name, "") for name in ("prefix", "delimiter", "key-marker", "version-id-marker")}
    return _xml(list_versions_result(bucket.name, echo, asked, page, url))


def get_versioning(bucket: Bucket) -> HttpResponse:
    return _xml(versioning_result(bucket.versioning))


def put_versioning(bucket: Bucket, body: bytes) -> HttpResponse:
    try:
        status = parse_versioning(body)
    except BadVersioningConfiguration as exc:
        raise MalformedXML(
            "The XML you provided was not well-formed or did not validate against our published schema."
        ) from exc
    bucket.set_versioning(status)
    return HttpResponse(200, b"")
