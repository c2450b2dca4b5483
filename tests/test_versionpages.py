"""The ListObjectVersions parser: field by field what oss2's own parser reads, on the fast path
(url-encoded bodies as OSS sends them) and on the exact path (anything else), in body order."""

from __future__ import annotations

import pytest
from oss2 import xml_utils
from oss2.models import ListObjectVersionsResult

from osslist.emulator import Archive
from osslist.emulator.state import Bucket
from osslist.emulator.versions import Query
from osslist.emulator.versions_xml import list_versions_result
from osslist.errors import ListingError
from osslist.pages import PrefixRecord, VersionRecord
from osslist.versionpages import _parse_exact, _scan_fast, parse_version_page
from tests.emulator.keys import TRICKY_KEYS

BASE = 1_704_067_200


def bucket_with_history() -> Bucket:
    bucket = Bucket("b")
    bucket.set_versioning("Enabled")
    for i, key in enumerate(TRICKY_KEYS):
        bucket.put(key, size=i, last_modified=BASE + i, storage_class="Archive" if i % 5 == 0 else "Standard",
                   archive=Archive(True) if i % 5 == 0 else None)
        if i % 3 == 0:
            bucket.remove(key, now=BASE + i)
        bucket.put(key, size=i + 1, last_modified=BASE + i + 1)
    return bucket


def body(bucket: Bucket, *, url: bool, max_keys: int = 1000, delimiter: str = "") -> bytes:
    page = bucket.list_versions(Query(max_keys=max_keys, delimiter=delimiter))
    echo = {"prefix": "", "delimiter": delimiter, "key-marker": "", "version-id-marker": ""}
    return list_versions_result("b", echo, max_keys, page, url)


class _Resp:
    def __init__(self) -> None:
        self.status, self.headers, self.request_id = 200, {}, ""


def oss2_view(data: bytes) -> tuple[list[tuple[object, ...]], bool, str]:
    result = xml_utils.parse_list_object_versions(ListObjectVersionsResult(_Resp()), data)  # type: ignore[arg-type]
    rows = [(v.key, v.versionid, v.is_latest, False, v.size, v.etag, v.storage_class, v.type) for v in result.versions]
    rows += [(d.key, d.versionid, d.is_latest, True, 0, "", "", "") for d in result.delete_marker]
    return sorted(rows, key=str), result.is_truncated, result.next_key_marker if result.is_truncated else ""


def ours(records: list[object]) -> list[tuple[object, ...]]:
    return sorted(
        [(r.key, r.version_id, r.is_latest, r.is_delete_marker, r.size, r.etag, r.storage_class, r.type)
         for r in records if isinstance(r, VersionRecord)],
        key=str,
    )


@pytest.mark.parametrize("max_keys", [1, 7, 1000])
def test_url_encoded_pages_take_the_fast_path_and_match_oss2(max_keys: int) -> None:
    data = body(bucket_with_history(), url=True, max_keys=max_keys)
    parsed = _scan_fast(data)
    assert parsed is not None
    rows, truncated, next_key = oss2_view(data)
    assert ours(parsed.records) == rows
    assert (parsed.is_truncated, parsed.next_key_marker) == (truncated, next_key)
    assert parsed.records == _parse_exact(data).records


def test_the_fast_path_keeps_the_body_order_of_versions_and_markers() -> None:
    records = parse_version_page(body(bucket_with_history(), url=True)).records
    keys = [r.key for r in records]
    assert keys == sorted(keys, key=lambda k: k.encode())
    first = [r for r in records if r.key == TRICKY_KEYS[0]]
    assert [(r.is_latest, r.is_delete_marker) for r in first] == [(True, False), (False, True), (False, False)]


def test_a_body_without_url_encoding_is_parsed_exactly() -> None:
    bucket = Bucket("b")
    bucket.set_versioning("Enabled")
    for key in [" edge spaces ", "plain", "amp&<lt>"]:
        bucket.put(key, size=3)
    data = body(bucket, url=False)
    assert _scan_fast(data) is None
    assert [r.key for r in parse_version_page(data).records] == [" edge spaces ", "amp&<lt>", "plain"]


def test_common_prefixes_merge_in_key_order() -> None:
    bucket = Bucket("b")
    bucket.set_versioning("Enabled")
    for key in ["a/1", "b", "c/2", "d"]:
        bucket.put(key)
    records = parse_version_page(body(bucket, url=True, delimiter="/")).records
    assert [(type(r).__name__, r.prefix if isinstance(r, PrefixRecord) else r.key) for r in records] == [
        ("PrefixRecord", "a/"), ("VersionRecord", "b"), ("PrefixRecord", "c/"), ("VersionRecord", "d"),
    ]


@pytest.mark.parametrize("data", [b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
                                  b"<ListVersionsResult><IsTruncated>maybe</IsTruncated></ListVersionsResult>",
                                  b"<ListVersionsResult>", b"not xml"])
def test_what_is_not_a_version_page_is_a_listing_error(data: bytes) -> None:
    with pytest.raises(ListingError):
        parse_version_page(data)


def test_versions_carry_restore_transition_and_owner_on_both_paths() -> None:
    tail = '<RestoreInfo>ongoing-request="true"</RestoreInfo><TransitionTime>2024-01-01T00:00:00.000Z</TransitionTime>'
    owner = "<Owner><ID>42</ID><DisplayName>42</DisplayName></Owner>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult><Name>b</Name><EncodingType>url</EncodingType>'
        "<IsTruncated>false</IsTruncated>"
        f"<Version><Key>k</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>"
        f"<LastModified>2024-01-02T00:00:00.000Z</LastModified><ETag>\"E\"</ETag><Type>Normal</Type><Size>3</Size>"
        f"<StorageClass>Archive</StorageClass>{owner}{tail}</Version>"
        f"<DeleteMarker><Key>k</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>"
        f"<LastModified>2024-01-01T00:00:00.000Z</LastModified>{owner}</DeleteMarker>"
        "</ListVersionsResult>"
    ).encode()
    for owned in (False, True):
        fast, exact = _scan_fast(body, owned), _parse_exact(body, owned)
        assert fast == exact
        version, marker = fast.records  # type: ignore[union-attr]
        assert version.restore is not None and version.restore.ongoing  # type: ignore[union-attr]
        assert version.transition_time == "2024-01-01T00:00:00.000Z"  # type: ignore[union-attr]
        assert (version.owner, marker.owner) == (("42", "42") if owned else (None, None))  # type: ignore[union-attr]
        assert marker.details is None or owned  # type: ignore[union-attr]
