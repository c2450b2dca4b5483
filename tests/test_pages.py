"""pages.parse_page gives exactly what oss2's own parser gives, on bodies built the way OSS
encodes them (``encoding-type=url``: fields percent-encoded, decoded with ``unquote``)."""

from __future__ import annotations

import dataclasses

import pytest

from osslist import pages
from osslist.errors import ListingError
from osslist.pages import ObjectRecord, PrefixRecord, parse_page
from tests.helpers import BODY_KEYS, assert_same_as_oss2, make_body

@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("pretty", [True, False], ids=["pretty", "compact"])
def test_tricky_keys_equal_oss2(api: str, pretty: bool) -> None:
    keys = sorted(BODY_KEYS, key=lambda k: k.encode())
    body = make_body(keys, api=api, truncated=True, next_value=keys[-1], pretty=pretty)
    assert_same_as_oss2(body, api)
    assert [r.key for r in parse_page(body, api=api).records] == keys  # type: ignore[union-attr]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_common_prefixes_equal_oss2_and_merge_in_key_order(api: str) -> None:
    keys = ["a", "c d/", "z+1"]
    prefixes = ["a/", "b c/", "中/", "😀/"]
    body = make_body(keys, prefixes, api=api, truncated=True, next_value="b c/")
    assert_same_as_oss2(body, api)
    records = parse_page(body, api=api).records
    names = [r.key if isinstance(r, ObjectRecord) else r.prefix for r in records]
    assert names == ["a", "a/", "b c/", "c d/", "z+1", "中/", "😀/"]
    assert isinstance(records[1], PrefixRecord)


@pytest.mark.parametrize("safe", ["", "/"], ids=["slash-encoded", "slash-kept"])
def test_slash_encoding_either_way_equals_oss2(safe: str) -> None:
    keys = sorted(["a/b/c", "x%2Fy", "%252F", "d/%2f/e", "f/中"])
    body = make_body(keys, ["p/q/"], truncated=True, next_value="a/b/c", safe=safe)
    assert_same_as_oss2(body, "v1")
    mixed = body.replace(b"<Key>", b"<Key>a%2fb%2F", 1)
    assert_same_as_oss2(mixed, "v1")
    assert parse_page(mixed, api="v1").records[0].key == "a/b/%252F"  # type: ignore[union-attr]


def test_bad_percent_escape_decodes_like_oss2_to_replacement_char() -> None:
    body = make_body(["x"]).replace(b"<Key>x</Key>", b"<Key>bad%E4%B8-%ZZ</Key>")
    assert_same_as_oss2(body, "v1")
    key = parse_page(body, api="v1").records[0].key  # type: ignore[union-attr]
    assert key == "bad\ufffd-%ZZ"
    key.encode("utf-8")  # no lone surrogate: str order equals UTF-8 byte order


def test_unencoded_body_keeps_edge_whitespace_exactly_like_oss2() -> None:
    keys = [" a ", "b\tc", "plain"]
    body = make_body(keys, ["  p/"], encode=False, truncated=True, next_value=" a ")
    assert_same_as_oss2(body, "v1")
    page = parse_page(body, api="v1")
    assert page.records[0] == PrefixRecord("  p/")
    assert page.next_marker == " a "


def test_page_fields() -> None:
    page = parse_page(make_body(["k"], api="v2", truncated=True, next_value="tok/1 2"), api="v2")
    assert page.is_truncated and page.next_token == "tok/1 2" and page.next_marker is None
    record = page.records[0]
    assert record == ObjectRecord(
        key="k",
        size=0,
        last_modified="2024-06-01T13:13:00.000Z",
        etag="5B3C1A2E053D763E1B002CC607C50000",
        storage_class="Standard",
        type="Normal",
    )
    last = parse_page(make_body([], api="v1"), api="v1")
    assert last.records == [] and not last.is_truncated and last.next_marker is None


def test_mtime_epoch_keeps_milliseconds() -> None:
    record = ObjectRecord("k", 1, "1970-01-02T00:00:01.250Z", "e", "Standard", "Normal")
    assert record.mtime_epoch() == 86401.25


@pytest.mark.parametrize(
    "body",
    [
        b"<ListBucketResult><IsTruncated>false</IsTruncated>",
        b"not xml at all",
        b"",
        b"<Error><Code>AccessDenied</Code></Error>",
        b"<ListBucketResult><Name>b</Name></ListBucketResult>",
        b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
        b"<Size>x</Size></Contents></ListBucketResult>",
        b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size>"
        b"</Contents></ListBucketResult>",
        b"<ListBucketResult><IsTruncated>false</IsTruncated><a>1</a></ListBucketResult>",
    ],
    ids=["unclosed", "text", "empty", "error", "no-truncated", "bad-size", "no-key", "one-letter"],
)
def test_broken_bodies_raise_listing_error(body: bytes) -> None:
    with pytest.raises(ListingError):
        parse_page(body, api="v1")


def test_error_message_does_not_echo_the_body() -> None:
    secret = b"<Error><Code>X</Code><SecurityToken>SECRET-TOKEN</SecurityToken></Error>"
    with pytest.raises(ListingError) as info:
        parse_page(secret, api="v1")
    assert "SECRET" not in str(info.value)


def _expat_only(monkeypatch: pytest.MonkeyPatch, body: bytes, api: str) -> object:
    """parse_page with the regex fast path switched off: the expat path alone."""
    with monkeypatch.context() as patch:
        patch.setattr(pages, "_scan_fast", lambda _body, _owner=False: None)
        return parse_page(body, api=api)


OSS_SHAPED = {
    "tricky-pretty": make_body(sorted(BODY_KEYS, key=lambda k: k.encode()), truncated=True, next_value="a b"),
    "tricky-compact": make_body(BODY_KEYS[:5], truncated=True, next_value="x", pretty=False),
    "prefixes": make_body(["a", "c d/"], ["a/", "b c/", "中/"], truncated=True, next_value="b c/"),
    "slash-encoded": make_body(["a/b", "x%2Fy"], ["p/q/"], safe=""),
    "v2": make_body(["k", "k 2"], api="v2", truncated=True, next_value="tok/1 2"),
    "bad-escape": make_body(["x"]).replace(b"<Key>x</Key>", b"<Key>bad%E4%B8-%ZZ</Key>"),
    "plain-etag": make_body(["x"]).replace(b"&quot;", b'"'),
    "no-owner-restore-info": make_body(["x"]).replace(
        b"<Owner><ID>0022012</ID><DisplayName>user</DisplayName></Owner>",
        b'<RestoreInfo>ongoing-request="false", expiry-date="Sun, 16 Apr 2017 08:12:33 GMT"</RestoreInfo>',
    ),
    "double-quote-decl": make_body(["x"]).replace(b"version='1.0' encoding='UTF-8'", b'version="1.0" encoding="UTF-8"'),
    "no-decl": make_body(["x"]).split(b"?>", 1)[1],
}


@pytest.mark.parametrize("name", sorted(OSS_SHAPED))
def test_fast_path_takes_oss_shaped_bodies_and_equals_expat_and_oss2(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    body, api = OSS_SHAPED[name], "v2" if name == "v2" else "v1"
    assert pages._scan_fast(body) is not None
    assert parse_page(body, api=api) == _expat_only(monkeypatch, body, api)
    assert_same_as_oss2(body, api)


def _contents_swap(old: bytes, new: bytes) -> bytes:
    body = make_body(["k", "x"], truncated=True, next_value="x")
    assert old in body
    return body.replace(old, new, 1)


OUTSIDE_SUBSET = {
    "unencoded": make_body(["a b", "c"], encode=False),
    "space-in-key": _contents_swap(b"<Key>k</Key>", b"<Key> k </Key>"),
    "entity-in-key": _contents_swap(b"<Key>k</Key>", b"<Key>k&amp;1</Key>"),
    "cdata-key": _contents_swap(b"<Key>k</Key>", b"<Key><![CDATA[k]]></Key>"),
    "non-ascii-key": _contents_swap(b"<Key>k</Key>", "<Key>kü</Key>".encode()),
    "field-order": _contents_swap(b"<Type>Normal</Type>", b"").replace(b"</Size>", b"</Size><Type>Normal</Type>", 1),
    "extra-field": _contents_swap(b"<Type>", b"<Extra>1</Extra><Type>"),
    "duplicate-key": _contents_swap(b"</StorageClass>", b"</StorageClass><Key>other</Key>"),
    "self-closed-prefix": _contents_swap(b"<Prefix>top%20prefix</Prefix>", b"<Prefix/>"),
    "comment": _contents_swap(b"<Contents>", b"<!-- c --><Contents>"),
    "attribute": _contents_swap(b"<Contents>", b'<Contents a="1">'),
    "etag-entity": _contents_swap(b"&quot;5B3C", b"&#34;5B3C"),
    "signed-size": _contents_swap(b"<Size>0</Size>", b"<Size>+0</Size>"),
    "namespace": _contents_swap(b"<ListBucketResult>", b'<ListBucketResult xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">'),
}


@pytest.mark.parametrize("name", sorted(OUTSIDE_SUBSET))
def test_fast_path_refuses_other_bodies_which_expat_parses_like_oss2(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    body = OUTSIDE_SUBSET[name]
    assert pages._scan_fast(body) is None
    assert parse_page(body, api="v1") == _expat_only(monkeypatch, body, "v1")
    # oss2 takes the first of two Keys; a namespace hides every tag from it; the expat path
    # strips edge whitespace in url-encoded bodies (module docstring: OSS never sends any).
    if name not in ("duplicate-key", "namespace", "space-in-key"):
        assert_same_as_oss2(body, "v1")


@pytest.mark.parametrize(
    "body",
    [
        make_body(["k"]) + b"<x/>",
        make_body(["k"]).replace(b"</ListBucketResult>", b""),
        make_body(["k"]).replace(b"<Key>k</Key>", b"<Key>k\x01</Key>"),
        b"  " + make_body(["k"]),
    ],
    ids=["trailing-element", "unclosed-root", "control-char", "space-before-decl"],
)
def test_malformed_bodies_never_pass_the_fast_path(body: bytes) -> None:
    assert pages._scan_fast(body) is None
    with pytest.raises(ListingError):
        parse_page(body, api="v1")


def test_fast_path_records_are_frozen_object_records() -> None:
    record = parse_page(OSS_SHAPED["v2"], api="v2").records[0]
    assert type(record) is ObjectRecord
    assert record == ObjectRecord("k", 0, "2024-06-01T13:13:00.000Z", "5B3C1A2E053D763E1B002CC607C50000",
                                  "Standard", "Normal")
    assert hash(record) == hash(ObjectRecord(**{f: getattr(record, f) for f in ObjectRecord.__slots__}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.key = "other"  # type: ignore[misc]


# --- rare fields: RestoreInfo, TransitionTime, Owner --------------------------------------------

ONGOING = '<RestoreInfo>ongoing-request="true"</RestoreInfo>'
RESTORED = '<RestoreInfo>ongoing-request="false", expiry-date="Sun, 30 Nov 2026 12:00:00 GMT"</RestoreInfo>'
MOVED = "<TransitionTime>2024-01-01T00:00:00.000Z</TransitionTime>"


def _with_tails(body: bytes, tails: list[str]) -> bytes:
    """The body with each Contents' end preceded by its tail (OSS puts them after Owner)."""
    parts = body.split(b"</Contents>")
    return b"".join(p + t.encode() + b"</Contents>" for p, t in zip(parts, tails)) + parts[-1]


@pytest.mark.parametrize("pretty", [False, True])
def test_restore_info_and_transition_time_land_in_details_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, pretty: bool
) -> None:
    body = _with_tails(make_body(["a", "b", "c", "d"], pretty=pretty), [ONGOING, RESTORED + MOVED, MOVED, ""])
    page = parse_page(body, api="v1")
    assert page == _expat_only(monkeypatch, body, "v1")
    assert pages._scan_fast(body) is not None  # the fast path took it
    a, b, c, d = page.records
    assert a.restore == pages.Restore(ongoing=True) and a.transition_time is None  # type: ignore[union-attr]
    assert b.restore == pages.Restore(False, "2026-11-30T12:00:00.000Z")  # type: ignore[union-attr]
    assert b.transition_time == c.transition_time == "2024-01-01T00:00:00.000Z"  # type: ignore[union-attr]
    assert c.restore is None and d.details is None  # type: ignore[union-attr]
    assert_same_as_oss2(body, "v1")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_owner_is_kept_only_when_asked(monkeypatch: pytest.MonkeyPatch, api: str) -> None:
    body = make_body(["a", "b"], api=api)  # Owner on every object, as v1 always sends it
    assert all(r.details is None for r in parse_page(body, api=api).records)  # type: ignore[union-attr]
    owned = parse_page(body, api=api, owner=True)
    assert [r.owner for r in owned.records] == ["0022012", "0022012"]  # type: ignore[union-attr]
    with monkeypatch.context() as patch:
        patch.setattr(pages, "_scan_fast", lambda _body, _owner=False: None)
        assert parse_page(body, api=api, owner=True) == owned


def test_a_plain_page_has_no_details_and_equals_the_records_it_always_gave() -> None:
    page = parse_page(make_body(BODY_KEYS[:20], pretty=False), api="v1")
    assert all(r.details is None for r in page.records)  # type: ignore[union-attr]
    first = page.records[0]
    assert first == ObjectRecord(first.key, first.size, first.last_modified, first.etag,  # type: ignore[union-attr]
                                 first.storage_class, first.type)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('ongoing-request="true"', pages.Restore(True)),
        ('ongoing-request="false", expiry-date="Sun, 30 Nov 2026 12:00:00 GMT"',
         pages.Restore(False, "2026-11-30T12:00:00.000Z")),
        ('ongoing-request="false", expiry-date="someday"', pages.Restore(False, "someday")),
        ("garbled", pages.Restore(False)),
    ],
)
def test_parse_restore_reads_oss_text_and_keeps_what_it_cannot_read(text: str, expected: pages.Restore) -> None:
    assert pages.parse_restore(text) == expected
