"""listing.iter_pages: pagination (v1 marker, v2 token), protocol errors, end_before, resume.

Unit tests use a tiny fake bucket serving pages from an in-memory key list, with OSS's rules
(entries strictly after the marker, delimiter roll-up, a common prefix counts once)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from osslist.emulator import Emulator
from osslist.errors import ListingError, UsageError
from osslist.listing import ListingSpec, Position, iter_pages, iter_records
from osslist.pages import ObjectRecord, PrefixRecord, record_name
from tests.helpers import BODY_KEYS, assert_same_as_oss2, emulator_client, make_body


class FakeBucket:
    """Serves ListObjects v1/v2 pages; ``page_cap`` makes short pages while still truncated."""

    def __init__(self, keys: list[str], *, page_cap: int | None = None) -> None:
        self.keys = sorted(keys, key=lambda k: k.encode())
        self.page_cap = page_cap
        self.requests: list[dict[str, str]] = []

    def entries(self, prefix: str, delimiter: str, after: str) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        for key in self.keys:
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            name = key[: cut + len(delimiter)] if cut >= 0 else key
            if key.startswith(prefix) and name > after and (not out or out[-1][0] != name):
                out.append((name, cut >= 0))
        return out

    def get_listing_page(self, params: dict[str, str]) -> bytes:
        self.requests.append(dict(params))
        v2 = params.get("list-type") == "2"
        token = params.get("continuation-token")
        after = token[2:] if token else params.get("start-after" if v2 else "marker", "")
        found = self.entries(params.get("prefix", ""), params.get("delimiter", ""), after)
        page = found[: min(int(params["max-keys"]), self.page_cap or 1000)]
        truncated = len(page) < len(found)
        following = None
        if truncated:
            following = ("t:" if v2 else "") + page[-1][0] if page else None
        return make_body(
            [name for name, is_prefix in page if not is_prefix],
            [name for name, is_prefix in page if is_prefix],
            api="v2" if v2 else "v1",
            truncated=truncated,
            next_value=following,
        )


class ScriptedBucket:
    """Answers with a fixed list of bodies, in order (for protocol violations)."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = list(bodies)
        self.requests: list[dict[str, str]] = []

    def get_listing_page(self, params: dict[str, str]) -> bytes:
        self.requests.append(dict(params))
        return self.bodies.pop(0)


KEYS = [f"dir{d}/file{i:03d}" for d in range(3) for i in range(19)] + ["top", "zz/a"]


def names(records: list) -> list[str]:
    return [record_name(r) for r in records]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("max_keys", [7, 1000])
def test_lists_every_key_exactly_in_order(api: str, max_keys: int) -> None:
    bucket = FakeBucket(KEYS)
    got = names(list(iter_records(bucket, ListingSpec(list_api=api, max_keys=max_keys))))
    assert got == sorted(KEYS)
    assert len(bucket.requests) == -(-len(KEYS) // max_keys)


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_short_pages_keep_going_while_truncated(api: str) -> None:
    bucket = FakeBucket(KEYS, page_cap=3)
    got = names(list(iter_records(bucket, ListingSpec(list_api=api, max_keys=10))))
    assert got == sorted(KEYS)
    assert len(bucket.requests) == -(-len(KEYS) // 3)


def test_v1_request_parameters() -> None:
    bucket = FakeBucket(KEYS)
    list(iter_records(bucket, ListingSpec(prefix="dir1/", start_after="dir1/file004", max_keys=5)))
    first, second = bucket.requests[:2]
    assert first == {"encoding-type": "url", "max-keys": "5", "prefix": "dir1/", "marker": "dir1/file004"}
    assert second["marker"] == "dir1/file009"
    assert ListingSpec().max_keys == 1000


def test_v2_request_parameters_start_after_then_token_and_no_owner() -> None:
    bucket = FakeBucket(KEYS)
    list(iter_records(bucket, ListingSpec(list_api="v2", start_after="dir0/file010", max_keys=4)))
    first, second = bucket.requests[:2]
    assert first == {"encoding-type": "url", "max-keys": "4", "list-type": "2", "start-after": "dir0/file010"}
    assert second["continuation-token"] == "t:dir0/file014" and "start-after" not in second
    assert all("fetch-owner" not in r for r in bucket.requests)


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_tricky_keys_come_back_exact(api: str) -> None:
    bucket = FakeBucket(BODY_KEYS)
    got = names(list(iter_records(bucket, ListingSpec(list_api=api, max_keys=3))))
    assert got == sorted(BODY_KEYS, key=lambda k: k.encode())


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_delimiter_follows_a_next_marker_that_is_a_common_prefix(api: str) -> None:
    bucket = FakeBucket(KEYS)
    records = list(iter_records(bucket, ListingSpec(delimiter="/", list_api=api, max_keys=1)))
    assert names(records) == ["dir0/", "dir1/", "dir2/", "top", "zz/"]
    assert [type(r) for r in records] == [PrefixRecord] * 3 + [ObjectRecord, PrefixRecord]
    if api == "v1":
        assert [r.get("marker") for r in bucket.requests] == [None, "dir0/", "dir1/", "dir2/", "top"]


def test_delimiter_with_prefix() -> None:
    bucket = FakeBucket(["p/a", "p/b/c", "p/b/d", "p/e/", "q"])
    got = list(iter_records(bucket, ListingSpec(prefix="p/", delimiter="/", max_keys=2)))
    assert got[0] == ObjectRecord("p/a", 0, "2024-06-01T13:13:00.000Z",
                                  "5B3C1A2E053D763E1B002CC607C50000", "Standard", "Normal")
    assert got[1:] == [PrefixRecord("p/b/"), PrefixRecord("p/e/")]


def test_a_repeated_common_prefix_is_not_written_twice() -> None:
    first = make_body(["a"], ["b/"], truncated=True, next_value="b/")
    again = make_body(["c"], ["b/"], truncated=False)
    bucket = ScriptedBucket([first, again])
    assert names(list(iter_records(bucket, ListingSpec(delimiter="/")))) == ["a", "b/", "c"]


@pytest.mark.parametrize(
    ("api", "bodies", "message"),
    [
        ("v1", [make_body(["a"], truncated=True)], "without a NextMarker"),
        ("v1", [make_body(["a"], truncated=True, next_value="a")] * 2, "does not advance"),
        ("v1", [make_body([], truncated=True, next_value="")], "without a NextMarker"),
        ("v2", [make_body(["a"], api="v2", truncated=True)], "without a NextContinuationToken"),
        ("v2", [make_body(["a"], api="v2", truncated=True, next_value="t")] * 3, "does not advance"),
    ],
    ids=["no-marker", "stuck-marker", "empty-marker", "no-token", "stuck-token"],
)
def test_protocol_violations_raise_instead_of_looping(api: str, bodies: list[bytes], message: str) -> None:
    bucket = ScriptedBucket(bodies)
    with pytest.raises(ListingError, match=message):
        list(iter_records(bucket, ListingSpec(list_api=api)))
    assert len(bucket.requests) <= 2


def test_a_next_marker_behind_the_last_key_does_not_repeat_keys() -> None:
    bucket = ScriptedBucket([make_body(["a", "b", "c"], truncated=True, next_value="b"),
                             make_body(["d"], truncated=False)])
    assert names(list(iter_records(bucket, ListingSpec()))) == ["a", "b", "c", "d"]
    assert bucket.requests[1]["marker"] == "c"


def test_a_marker_that_goes_backwards_is_refused() -> None:
    bucket = ScriptedBucket([make_body(["m"], truncated=True, next_value="m"),
                             make_body([], truncated=True, next_value="b")])
    with pytest.raises(ListingError, match="does not advance"):
        list(iter_records(bucket, ListingSpec()))


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_end_before_stops_at_first_key_at_or_after_it_and_marks_done(api: str) -> None:
    bucket = FakeBucket(KEYS)
    spec = ListingSpec(list_api=api, start_after="dir0/file017", end_before="dir1/file002", max_keys=2)
    pages = list(iter_pages(bucket, spec))
    assert names([r for page, _ in pages for r in page.records]) == [
        "dir0/file018", "dir1/file000", "dir1/file001"]
    assert pages[-1][1].done and not any(pos.done for _, pos in pages[:-1])
    assert len(bucket.requests) == 2


def test_end_before_applies_to_common_prefixes() -> None:
    bucket = FakeBucket(KEYS)
    got = names(list(iter_records(bucket, ListingSpec(delimiter="/", end_before="dir2/"))))
    assert got == ["dir0/", "dir1/"]


def test_end_before_uses_utf8_byte_order() -> None:
    keys = ["a", "\uffff", "😀", "\U0010fffd"]  # U+FFFF < U+1F600 in code points and in UTF-8
    bucket = FakeBucket(keys)
    assert names(list(iter_records(bucket, ListingSpec(end_before="😀")))) == ["a", "\uffff"]
    assert sorted(keys) == sorted(keys, key=lambda k: k.encode())


def test_empty_range_makes_no_request() -> None:
    bucket = FakeBucket(KEYS)
    assert list(iter_pages(bucket, ListingSpec(start_after="m", end_before="m"))) == []
    assert bucket.requests == []


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_resume_from_a_json_position_continues_exactly(api: str) -> None:
    spec = ListingSpec(list_api=api, max_keys=6, end_before="zz")
    seen: list[str] = []
    for page, saved in iter_pages(FakeBucket(KEYS), spec):
        seen += names(page.records)
        if len(seen) >= 18:
            break
    assert not saved.done
    stored = json.loads(json.dumps(asdict(saved)))
    rest = names(list(iter_records(FakeBucket(KEYS), spec, position=Position.from_dict(stored))))
    assert seen + rest == sorted(k for k in KEYS if k < "zz")


def test_a_done_position_lists_nothing() -> None:
    bucket = FakeBucket(KEYS)
    assert list(iter_pages(bucket, ListingSpec(), position=Position(marker="x", done=True))) == []
    assert bucket.requests == []


@pytest.mark.parametrize("bad", [{"marker": 3}, {"token": 5}, {"done": "yes"}])
def test_malformed_position_is_refused(bad: dict) -> None:
    with pytest.raises(UsageError):
        Position.from_dict(bad)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_keys": 0}, {"max_keys": 1001}, {"max_keys": True}, {"list_api": "v3"},
     {"end_before": "bad\udcff"}, {"prefix": "\ud800"}],
)
def test_spec_validation(kwargs: dict) -> None:
    with pytest.raises(UsageError):
        ListingSpec(**kwargs)


# --- against the emulator and the real bucket client ----------------------------------------


def expected(keys: list[str], prefix: str = "", delimiter: str = "") -> list[str]:
    return [name for name, _ in FakeBucket(keys).entries(prefix, delimiter, "")]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("max_keys", [7, 1000])
def test_emulator_tricky_keys_exact_with_short_pages_and_503s(emulator: Emulator, api: str, max_keys: int) -> None:
    keys = BODY_KEYS + [f"bulk/{i:03d}" for i in range(40)]
    emulator.create_bucket("tricky")
    for i, key in enumerate(keys):
        emulator.put_object("tricky", key, size=i, storage_class="IA" if i % 2 else "Standard")
    emulator.faults.short_pages = 5
    emulator.faults.error_every(5, 503)
    records = list(iter_records(emulator_client(emulator, "tricky"), ListingSpec(list_api=api, max_keys=max_keys)))
    assert names(records) == expected(keys)
    sizes = {key: i for i, key in enumerate(keys)}
    assert all(r.size == sizes[r.key] and r.storage_class == ("IA" if r.size % 2 else "Standard")
               for r in records)


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("prefix", ["", "dir1/"])
def test_emulator_delimiter_with_and_without_prefix(emulator: Emulator, api: str, prefix: str) -> None:
    keys = KEYS + ["dir1/sub/x", "dir1/sub/y", "dir1/other/z", "dir1/"]
    emulator.create_bucket("tree")
    for key in keys:
        emulator.put_object("tree", key)
    spec = ListingSpec(prefix=prefix, delimiter="/", list_api=api, max_keys=2)
    records = list(iter_records(emulator_client(emulator, "tree"), spec))
    assert names(records) == expected(keys, prefix, "/")
    assert any(isinstance(r, PrefixRecord) for r in records)


def test_emulator_seeded_bucket_lists_2503_objects_in_order(emulator: Emulator) -> None:
    emulator.seed("seeded", 2503)
    client = emulator_client(emulator, "seeded")
    got = names(list(iter_records(client, ListingSpec())))
    assert got == emulator.buckets.require("seeded").keys() and len(got) == 2503
    assert [r.query.get("max-keys") for r in emulator.requests_for("oss")] == ["1000"] * 3


def test_emulator_pages_parse_like_oss2(emulator: Emulator) -> None:
    emulator.create_bucket("tricky")
    for key in BODY_KEYS:
        emulator.put_object("tricky", key, size=len(key))
    client = emulator_client(emulator, "tricky")
    for params in ({"encoding-type": "url", "max-keys": "10"},
                   {"encoding-type": "url", "max-keys": "10", "delimiter": "/"},
                   {"encoding-type": "url", "max-keys": "10", "list-type": "2"}):
        assert_same_as_oss2(client.get_listing_page(params), "v2" if "list-type" in params else "v1")


def test_a_bound_gives_each_page_its_end_and_the_page_is_cut_there() -> None:
    """The parallel lister's slots end where it says when each page arrives (``bound``)."""
    bucket = FakeBucket([f"k{i:02d}" for i in range(30)])
    asked: list[str] = []

    def bound(last: str) -> str | None:
        asked.append(last)
        return None if len(asked) == 1 else "k15"

    pages = list(iter_pages(bucket, ListingSpec(max_keys=10), bound=bound))
    assert [[record_name(r) for r in page.records] for page, _ in pages] == [
        [f"k{i:02d}" for i in range(10)],
        [f"k{i:02d}" for i in range(10, 15)],
    ]
    assert asked == ["k09", "k19"] and pages[-1][1].done


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_fetch_owner_asks_v2_for_the_owner_and_leaves_v1_as_it_was(api: str) -> None:
    from osslist.listing import request_params

    asked = request_params(ListingSpec(list_api=api, fetch_owner=True), Position())
    plain = request_params(ListingSpec(list_api=api), Position())
    assert "fetch-owner" not in plain
    assert asked == ({**plain, "fetch-owner": "true"} if api == "v2" else plain)
