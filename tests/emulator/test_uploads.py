"""The multipart model without HTTP: OSS's order of checks, ETags, and ListMultipartUploads paging."""

from __future__ import annotations

import hashlib

import pytest

from osslist.emulator import uploads as model

KIB = 1024


def start(store: model.UploadStore, key: str) -> model.Upload:
    return store.initiate("bkt", key, now=0, content_type="text/plain", storage_class="Standard")


def test_multipart_etag_is_md5_of_part_digests_and_count() -> None:
    etags = [model.content_etag(b"a"), model.content_etag(b"b")]
    expected = hashlib.md5(hashlib.md5(b"a").digest() + hashlib.md5(b"b").digest()).hexdigest().upper()
    assert model.multipart_etag(etags) == f"{expected}-2"


def test_order_is_checked_before_parts_and_sizes() -> None:
    store = model.UploadStore()
    upload = start(store, "k")
    small = store.upload_part("bkt", "k", upload.upload_id, 1, b"x", now=0)
    with pytest.raises(model.InvalidPartOrder):
        store.complete("bkt", "k", upload.upload_id, [(2, "bad"), (1, small.etag)])
    with pytest.raises(model.InvalidPart):
        store.complete("bkt", "k", upload.upload_id, [(1, small.etag), (2, "bad")])
    big = store.upload_part("bkt", "k", upload.upload_id, 2, bytes(100 * KIB), now=0)
    with pytest.raises(model.EntityTooSmall):
        store.complete("bkt", "k", upload.upload_id, [(1, small.etag), (2, big.etag)])
    done = store.complete("bkt", "k", upload.upload_id, [(2, f'"{big.etag}"')])  # numbers may have gaps
    assert done.data == bytes(100 * KIB) and done.etag.endswith("-1")
    with pytest.raises(model.NoSuchUpload):
        store.complete("bkt", "k", upload.upload_id, None)


def test_complete_all_takes_every_part_in_order() -> None:
    store = model.UploadStore()
    upload = start(store, "k")
    store.upload_part("bkt", "k", upload.upload_id, 2, b"last", now=0)
    store.upload_part("bkt", "k", upload.upload_id, 1, bytes(100 * KIB), now=0)
    assert store.complete("bkt", "k", upload.upload_id, None).data == bytes(100 * KIB) + b"last"


def test_a_common_prefix_marker_skips_the_whole_prefix() -> None:
    store = model.UploadStore()
    for key in ["a/1", "a/2", "b"]:
        start(store, key)
    page = store.list_uploads("bkt", prefix="", delimiter="/", key_marker="", upload_id_marker="", max_uploads=1)
    assert page.prefixes == ["a/"] and page.is_truncated and page.next_key_marker == "a/"
    rest = store.list_uploads("bkt", prefix="", delimiter="/", key_marker="a/", upload_id_marker="", max_uploads=10)
    assert [u.key for u in rest.uploads] == ["b"] and rest.prefixes == [] and not rest.is_truncated


def test_uploads_are_per_bucket_and_key() -> None:
    store = model.UploadStore()
    upload = start(store, "k")
    with pytest.raises(model.NoSuchUpload):
        store.upload_part("other", "k", upload.upload_id, 1, b"x", now=0)
    with pytest.raises(model.NoSuchUpload):
        store.abort("bkt", "k2", upload.upload_id)
