"""The OSS model without HTTP: listing semantics, seeding, thread-safe changes."""

from __future__ import annotations

import threading

import pytest

from osslist.emulator.seeding import synthetic_objects
from osslist.emulator.state import Bucket, check_key, derived_etag

TRICKY = ["a", "a/", "a/b", "a/b/c", "a/c", "b", "中文", "z", "\x01", "😀", "é", "ab"]


def make_bucket(keys: list[str]) -> Bucket:
    bucket = Bucket("b")
    for i, key in enumerate(keys):
        bucket.put(key, size=i)
    return bucket


def byte_order(keys: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode())


def list_all(bucket: Bucket, **kwargs: object) -> tuple[list[str], list[str], int]:
    """Page through like a client following NextMarker; (keys, prefixes, pages)."""
    keys: list[str] = []
    prefixes: list[str] = []
    after, pages = "", 0
    while True:
        page = bucket.list(after=after, **kwargs)  # type: ignore[arg-type]
        pages += 1
        keys += [o.key for o in page.objects]
        prefixes += page.prefixes
        if not page.is_truncated:
            return keys, prefixes, pages
        assert page.next_marker is not None and page.next_marker > after
        after = page.next_marker


def test_keys_come_back_in_utf8_byte_order_in_pages_of_any_size() -> None:
    bucket = make_bucket(TRICKY)
    for max_keys in (1, 2, 5, 1000):
        keys, _, pages = list_all(bucket, max_keys=max_keys)
        assert keys == byte_order(TRICKY)
        assert pages == -(-len(TRICKY) // max_keys)  # exact truncation: no empty last page


def test_listing_starts_strictly_after_the_marker() -> None:
    page = make_bucket(["a", "b", "c"]).list(after="a", max_keys=10)
    assert [o.key for o in page.objects] == ["b", "c"]
    page = make_bucket(["a", "b", "c"]).list(after="aa", max_keys=10)
    assert [o.key for o in page.objects] == ["b", "c"]


def test_prefix_limits_the_listing() -> None:
    keys, _, _ = list_all(make_bucket(TRICKY), prefix="a/", max_keys=2)
    assert keys == ["a/", "a/b", "a/b/c", "a/c"]


def test_delimiter_rolls_keys_up_into_common_prefixes_counted_against_max_keys() -> None:
    bucket = make_bucket(["a", "a/", "a/b", "a/b/c", "ab", "b/x", "b/y", "c"])
    page = bucket.list(delimiter="/", max_keys=3)
    assert [o.key for o in page.objects] == ["a", "ab"]
    assert page.prefixes == ["a/"]
    assert page.is_truncated and page.next_marker == "ab"
    keys, prefixes, _ = list_all(bucket, delimiter="/", max_keys=1)
    assert keys == ["a", "ab", "c"] and prefixes == ["a/", "b/"]


def test_prefix_and_delimiter_list_one_level() -> None:
    bucket = make_bucket(["a/", "a/b", "a/b/c", "a/c", "a/d/e", "b"])
    keys, prefixes, _ = list_all(bucket, prefix="a/", delimiter="/", max_keys=1)
    assert keys == ["a/", "a/b", "a/c"] and prefixes == ["a/b/", "a/d/"]


def test_a_common_prefix_as_marker_is_not_repeated() -> None:
    page = make_bucket(["a/1", "a/2", "b"]).list(delimiter="/", after="a/", max_keys=10)
    assert page.prefixes == [] and [o.key for o in page.objects] == ["b"]


def test_truncation_is_exact_when_the_page_ends_on_the_last_entry() -> None:
    bucket = make_bucket(["a", "b"])
    assert not bucket.list(max_keys=2).is_truncated
    page = bucket.list(max_keys=1)
    assert page.is_truncated and page.next_marker == "a"


def test_put_replaces_and_delete_removes() -> None:
    bucket = make_bucket(["a", "b"])
    bucket.put("a", size=99, storage_class="IA", etag="E1")
    info = bucket.get("a")
    assert info is not None and (info.size, info.storage_class, info.etag) == (99, "IA", "E1")
    assert bucket.delete("b") and not bucket.delete("b")
    assert bucket.keys() == ["a"]


@pytest.mark.parametrize("key", ["", "x" * 1024, "\ud800"])
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def test_a_1023_byte_key_is_accepted() -> None:
    check_key("k" * 1023)


def test_seeding_is_sorted_deterministic_and_sized() -> None:
    keys, sizes, mtimes, classes, types = synthetic_objects(5000, seed=7)
    assert len(keys) == len(set(keys)) == len(sizes) == len(mtimes) == len(classes) == len(types) == 5000
    assert keys == byte_order(keys)
    assert synthetic_objects(5000, seed=7)[1] == sizes
    assert synthetic_objects(5000, seed=8)[1] != sizes
    assert len({k.split("/")[0] for k in keys}) > 1 and len(set(classes)) > 1 and min(sizes) >= 0


def test_seeding_into_a_bucket_that_has_objects_merges_in_order() -> None:
    bucket = make_bucket(["data/zzz", "000"])
    bucket.load(*synthetic_objects(300, seed=1))
    keys = bucket.keys()
    assert len(keys) == 302 and keys == byte_order(keys)


def test_objects_can_change_while_pages_are_served() -> None:
    bucket = make_bucket([f"k{i:04d}" for i in range(0, 2000, 2)])
    stop = threading.Event()

    def writer() -> None:
        i = 1
        while not stop.is_set():
            bucket.put(f"k{i % 2000:04d}")
            bucket.delete(f"k{(i + 2) % 2000:04d}")
            i += 2

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        keys, _, _ = list_all(bucket, max_keys=7)
    finally:
        stop.set()
        thread.join()
    assert keys == sorted(set(keys))  # strictly increasing: nothing repeated, order kept


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_page_columns_equal_each_object_looked_up_alone(delimiter: str) -> None:
    bucket = make_bucket(TRICKY)
    bucket.put("a/b", size=9, last_modified=86399, storage_class="Archive", object_type="Symlink", etag='x&"y')
    bucket.load(*synthetic_objects(50, seed=2))
    page = bucket.list(delimiter=delimiter, max_keys=1000)
    assert page.objects and page.objects == [bucket.get(o.key) for o in page.objects]
    assert page.objects[0].etag == derived_etag(page.objects[0].key, page.objects[0].size)


def test_a_page_without_delimiter_is_cut_exactly_at_the_prefix_end() -> None:
    bucket = make_bucket(["a", "a/1", "a/2", "a0", "\U0010ffff", "\U0010ffff/x", "b"])
    page = bucket.list(prefix="a/", max_keys=2)
    assert [o.key for o in page.objects] == ["a/1", "a/2"] and not page.is_truncated
    page = bucket.list(prefix="\U0010ffff", max_keys=1)
    assert [o.key for o in page.objects] == ["\U0010ffff"] and page.is_truncated
    assert page.next_marker == "\U0010ffff"
    assert [o.key for o in bucket.list(prefix="\U0010ffff", after="\U0010ffff").objects] == ["\U0010ffff/x"]
