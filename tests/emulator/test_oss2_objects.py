"""Fidelity of the object and multipart APIs against the real oss2 client (issue 11 point 3),
under V1 and V4 signatures: what oss2 users see, results and errors (exception class, status
and code), and that written objects show up in listings as OSS shows them."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider
from oss2.models import PartInfo

from osslist.emulator import Emulator

REGION = "cn-hangzhou"
KIB = 1024
AUTHS = {"v1": oss2.ProviderAuth, "v4": oss2.ProviderAuthV4}


@pytest.fixture(params=sorted(AUTHS))
def signed(request: pytest.FixtureRequest, emulator: Emulator) -> tuple[Emulator, oss2.Bucket]:
    """An oss2 Bucket on ``bkt`` signing with V1 or V4."""
    emulator.create_bucket("bkt")
    creds = emulator.issue_credentials()
    provider = StaticCredentialsProvider(creds.access_key_id, creds.access_key_secret, creds.security_token)
    bucket = oss2.Bucket(AUTHS[request.param](provider), emulator.oss_endpoint, "bkt", region=REGION)
    return emulator, bucket


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def server_error(call) -> oss2.exceptions.ServerError:  # type: ignore[no-untyped-def]
    with pytest.raises(oss2.exceptions.ServerError) as info:
        call()
    return info.value


def upload_parts(bucket: oss2.Bucket, key: str, sizes: list[int]) -> tuple[str, list[PartInfo], bytes]:
    upload_id = bucket.init_multipart_upload(key).upload_id
    parts, whole = [], b""
    for number, size in enumerate(sizes, start=1):
        data = os.urandom(size)
        result = bucket.upload_part(key, upload_id, number, data, headers={"Content-MD5": md5_b64(data)})
        parts.append(PartInfo(number, result.etag))
        whole += data
    return upload_id, parts, whole


# --- simple objects ---------------------------------------------------------------------------


def test_put_get_head_delete_round_trip(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    data = b"hello, report\n" * 10
    put = bucket.put_object("reports/a.jsonl", data, headers={"Content-MD5": md5_b64(data)})
    assert put.status == 200 and put.etag == hashlib.md5(data).hexdigest().upper()
    assert bucket.get_object("reports/a.jsonl").read() == data
    head = bucket.head_object("reports/a.jsonl")
    assert (head.content_length, head.etag, head.object_type) == (len(data), put.etag, "Normal")
    assert head.last_modified == int(emu.now())
    assert bucket.object_exists("reports/a.jsonl")
    assert bucket.delete_object("reports/a.jsonl").status == 204
    assert not bucket.object_exists("reports/a.jsonl")
    assert bucket.delete_object("reports/a.jsonl").status == 204  # deleting nothing is no error


def test_written_objects_show_up_in_listings(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    emu.put_object("bkt", "old", size=5)
    bucket.put_object("new", b"12345678", headers={"x-oss-storage-class": "IA"})
    upload_id, parts, whole = upload_parts(bucket, "multi", [100 * KIB, 7])
    bucket.complete_multipart_upload("multi", upload_id, parts)
    listed = {o.key: o for o in oss2.ObjectIteratorV2(bucket)}
    assert sorted(listed) == ["multi", "new", "old"]
    new, multi = listed["new"], listed["multi"]
    assert (new.size, new.etag, new.type, new.storage_class) == (8, hashlib.md5(b"12345678").hexdigest().upper(), "Normal", "IA")
    assert (multi.size, multi.type, multi.storage_class) == (len(whole), "Multipart", "Standard")
    assert multi.last_modified == int(emu.now())


@pytest.mark.parametrize(
    ("byte_range", "expected"),
    [((0, 4), b"01234"), ((6, None), b"6789"), ((None, 3), b"789"), ((2, 2), b"2")],
)
def test_get_object_with_a_byte_range(signed: tuple[Emulator, oss2.Bucket], byte_range: tuple, expected: bytes) -> None:
    _, bucket = signed
    bucket.put_object("digits", b"0123456789")
    result = bucket.get_object("digits", byte_range=byte_range)
    assert result.status == 206 and result.read() == expected
    first = 10 - len(expected) if byte_range[0] is None else byte_range[0]
    assert result.content_range == f"bytes {first}-{first + len(expected) - 1}/10"


def test_a_range_past_the_end_is_ignored_unless_standard_behaviour_is_asked(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    bucket.put_object("digits", b"0123456789")
    for byte_range in [(5, 20), (10, 20), (None, 20)]:
        whole = bucket.get_object("digits", byte_range=byte_range)
        assert whole.status == 200 and whole.read() == b"0123456789"
    standard = {"x-oss-range-behavior": "standard"}
    clamped = bucket.get_object("digits", byte_range=(5, 20), headers=standard)
    assert clamped.status == 206 and clamped.read() == b"56789"
    error = server_error(lambda: bucket.get_object("digits", byte_range=(10, 20), headers=standard))
    assert (error.status, error.code) == (416, "InvalidRange")


def test_seeded_objects_read_as_zeros_of_their_size(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    emu.put_object("bkt", "seeded", size=70_000)
    assert bucket.get_object("seeded").read() == bytes(70_000)
    assert bucket.get_object("seeded", byte_range=(69_990, 69_999)).read() == bytes(10)


def test_content_md5_is_checked(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    with pytest.raises(oss2.exceptions.InvalidDigest) as mismatch:
        bucket.put_object("k", b"sent", headers={"Content-MD5": md5_b64(b"other")})
    assert mismatch.value.details["EC"] == "0017-00000503"
    with pytest.raises(oss2.exceptions.InvalidDigest) as malformed:
        bucket.put_object("k", b"sent", headers={"Content-MD5": "bm90LTE2LWJ5dGVz"})
    assert malformed.value.details["EC"] == "0017-00000502"
    assert emu.buckets.require("bkt").get("k") is None


def test_forbid_overwrite_makes_a_write_once_put(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    once = {"x-oss-forbid-overwrite": "true"}
    assert bucket.put_object("once", b"first", headers=once).status == 200
    error = server_error(lambda: bucket.put_object("once", b"second", headers=once))
    assert (type(error), error.status, error.code) == (oss2.exceptions.ServerError, 409, "FileAlreadyExists")
    assert emu.object_data("bkt", "once") == b"first"
    assert bucket.put_object("once", b"third", headers={"x-oss-forbid-overwrite": "false"}).status == 200
    assert server_error(lambda: bucket.put_object("x", b"", headers={"x-oss-forbid-overwrite": "yes"})).code == "InvalidArgument"


def test_objects_written_from_python_read_back_through_oss2(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    emu.put_object("bkt", "given.txt", data=b"from python", content_type="text/plain")
    result = bucket.get_object("given.txt")
    assert result.read() == b"from python" and result.content_type == "text/plain"
    assert result.etag == hashlib.md5(b"from python").hexdigest().upper()


def test_missing_objects(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("missing")
    with pytest.raises(oss2.exceptions.NoSuchKey):  # HEAD has no body: oss2 reads x-oss-err
        bucket.head_object("missing")
    assert bucket.object_exists("missing") is False


# --- multipart --------------------------------------------------------------------------------


def test_multipart_upload_round_trip_and_etag(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    upload_id, parts, whole = upload_parts(bucket, "big.bin", [100 * KIB, 150 * KIB, 10])
    listed = list(oss2.PartIterator(bucket, "big.bin", upload_id, max_parts=1))
    assert [(p.part_number, p.size, p.etag) for p in listed] == [
        (p.part_number, size, p.etag) for p, size in zip(parts, [100 * KIB, 150 * KIB, 10])
    ]
    result = bucket.complete_multipart_upload("big.bin", upload_id, parts)
    digests = b"".join(bytes.fromhex(p.etag) for p in parts)
    assert result.etag == hashlib.md5(digests).hexdigest().upper() + "-3"
    assert emu.object_data("bkt", "big.bin") == whole
    assert bucket.get_object("big.bin", byte_range=(100 * KIB, 100 * KIB + 9)).read() == whole[100 * KIB : 100 * KIB + 10]
    assert bucket.head_object("big.bin").object_type == "Multipart"
    assert emu.open_uploads("bkt") == []


def test_list_parts_pages_with_part_number_marker(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    for number in (5, 1, 3):
        bucket.upload_part("k", upload_id, number, b"x" * number)
    page = bucket.list_parts("k", upload_id, marker="1", max_parts=1)
    assert [p.part_number for p in page.parts] == [3] and page.is_truncated and page.next_marker == "3"
    last = bucket.list_parts("k", upload_id, marker=page.next_marker, max_parts=5)
    assert [(p.part_number, p.size) for p in last.parts] == [(5, 5)] and not last.is_truncated


def test_a_part_uploaded_again_replaces_the_first(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    bucket.upload_part("k", upload_id, 1, b"old")
    etag = bucket.upload_part("k", upload_id, 1, b"new").etag
    bucket.complete_multipart_upload("k", upload_id, [PartInfo(1, etag)])
    assert emu.object_data("bkt", "k") == b"new"


def test_complete_refusals(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    upload_id, parts, _ = upload_parts(bucket, "k", [10, 100 * KIB])
    too_small = server_error(lambda: bucket.complete_multipart_upload("k", upload_id, parts))
    assert (too_small.status, too_small.code) == (400, "EntityTooSmall")
    wrong_etag = [parts[0], PartInfo(2, "0" * 32)]
    invalid = server_error(lambda: bucket.complete_multipart_upload("k", upload_id, wrong_etag))
    assert (invalid.status, invalid.code) == (400, "InvalidPart")
    missing = server_error(lambda: bucket.complete_multipart_upload("k", upload_id, [PartInfo(7, parts[0].etag)]))
    assert missing.code == "InvalidPart"
    # oss2 sorts the list it sends, so a repeated number is the order error it can produce
    order = server_error(lambda: bucket.complete_multipart_upload("k", upload_id, [parts[0], parts[0]]))
    assert (order.status, order.code) == (400, "InvalidPartOrder")
    assert emu.open_uploads("bkt") == [("k", upload_id)]  # a refused complete keeps the upload


def test_no_such_upload(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    bucket.abort_multipart_upload("k", upload_id)
    calls = [
        lambda: bucket.upload_part("k", upload_id, 1, b"x"),
        lambda: bucket.complete_multipart_upload("k", upload_id, [PartInfo(1, "0" * 32)]),
        lambda: bucket.abort_multipart_upload("k", upload_id),
        lambda: bucket.list_parts("k", upload_id),
        lambda: bucket.upload_part("other-key", bucket.init_multipart_upload("k").upload_id, 1, b"x"),
    ]
    for call in calls:
        with pytest.raises(oss2.exceptions.NoSuchUpload):
            call()


def test_part_number_bounds(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    for number in (0, 10_001):
        assert server_error(lambda: bucket.upload_part("k", upload_id, number, b"x")).code == "InvalidArgument"
    assert bucket.upload_part("k", upload_id, 10_000, b"x").status == 200


def test_part_content_md5_is_checked(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.upload_part("k", upload_id, 1, b"data", headers={"Content-MD5": md5_b64(b"else")})
    assert bucket.list_parts("k", upload_id).parts == []


def test_multipart_upload_iterator_pages_by_key_then_upload(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    started = [(key, bucket.init_multipart_upload(key).upload_id) for key in ["b", "a", "b", "c/x", "c/y"]]
    expected = sorted(started, key=lambda s: (s[0], started.index(s)))
    listed = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, max_uploads=1)]
    assert listed == expected == emu.open_uploads("bkt")
    assert [u.key for u in oss2.MultipartUploadIterator(bucket, prefix="c/")] == ["c/x", "c/y"]
    rolled = list(oss2.MultipartUploadIterator(bucket, delimiter="/", max_uploads=1))
    assert [(u.key, u.is_prefix()) for u in rolled] == [("a", False), ("b", False), ("b", False), ("c/", True)]


def test_list_multipart_uploads_markers(signed: tuple[Emulator, oss2.Bucket]) -> None:
    _, bucket = signed
    ids = [bucket.init_multipart_upload("k").upload_id for _ in range(3)] + [bucket.init_multipart_upload("z").upload_id]
    after_first = bucket.list_multipart_uploads(key_marker="k", upload_id_marker=ids[0])
    assert [u.upload_id for u in after_first.upload_list] == ids[1:]
    past_key = bucket.list_multipart_uploads(key_marker="k")
    assert [u.upload_id for u in past_key.upload_list] == ids[3:]
    page = bucket.list_multipart_uploads(max_uploads=2)
    assert page.is_truncated and (page.next_key_marker, page.next_upload_id_marker) == ("k", ids[1])


def test_abort_removes_the_upload(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    upload_id, _, _ = upload_parts(bucket, "k", [10])
    assert bucket.abort_multipart_upload("k", upload_id).status == 204
    assert emu.open_uploads("bkt") == [] and emu.buckets.require("bkt").get("k") is None


def test_complete_with_forbid_overwrite(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    bucket.put_object("k", b"there")
    upload_id, parts, _ = upload_parts(bucket, "k", [3])
    error = server_error(
        lambda: bucket.complete_multipart_upload("k", upload_id, parts, headers={"x-oss-forbid-overwrite": "true"})
    )
    assert (error.status, error.code) == (409, "FileAlreadyExists") and emu.object_data("bkt", "k") == b"there"


@pytest.mark.parametrize("size", [50 * KIB, 350 * KIB])
def test_resumable_upload(signed: tuple[Emulator, oss2.Bucket], tmp_path: Path, size: int) -> None:
    emu, bucket = signed
    source = tmp_path / "report.jsonl"
    source.write_bytes(os.urandom(size))
    store = oss2.ResumableStore(root=str(tmp_path))
    oss2.resumable_upload(
        bucket, "r.jsonl", str(source), store=store, multipart_threshold=100 * KIB, part_size=100 * KIB, num_threads=2
    )
    assert emu.object_data("bkt", "r.jsonl") == source.read_bytes()
    assert bucket.head_object("r.jsonl").object_type == ("Multipart" if size > 100 * KIB else "Normal")
    assert emu.open_uploads("bkt") == []


# --- faults and policies ----------------------------------------------------------------------


def test_denied_prefix_refuses_writes_but_allows_listing(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    emu.put_object("bkt", "reports/old", size=1)
    emu.faults.deny("bkt", "reports/")
    for call in (
        lambda: bucket.put_object("reports/new", b"x"),
        lambda: bucket.init_multipart_upload("reports/new"),
        lambda: bucket.delete_object("reports/old"),
    ):
        with pytest.raises(oss2.exceptions.AccessDenied):
            call()
    assert [o.key for o in oss2.ObjectIterator(bucket)] == ["reports/old"]
    assert bucket.get_object("reports/old").read() == b"\0"
    assert bucket.put_object("elsewhere", b"x").status == 200


def test_a_part_can_fail_with_a_5xx_then_succeed(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    emu.faults.fail_part(2, 503)
    assert bucket.upload_part("k", upload_id, 1, b"a").status == 200
    error = server_error(lambda: bucket.upload_part("k", upload_id, 2, b"b"))
    assert error.status == 503
    assert bucket.upload_part("k", upload_id, 2, b"b").status == 200
    assert [p.part_number for p in bucket.list_parts("k", upload_id).parts] == [1, 2]


def test_a_part_can_lose_its_connection_mid_body(signed: tuple[Emulator, oss2.Bucket]) -> None:
    emu, bucket = signed
    upload_id = bucket.init_multipart_upload("k").upload_id
    emu.faults.drop_part(1)
    with pytest.raises(oss2.exceptions.RequestError):
        bucket.upload_part("k", upload_id, 1, os.urandom(200 * KIB))
    assert emu.requests_for("oss")[-1].error_code == "DroppedMidBody"
    assert bucket.list_parts("k", upload_id).parts == []
    assert bucket.upload_part("k", upload_id, 1, b"again").status == 200
