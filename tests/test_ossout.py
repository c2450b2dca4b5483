"""The OSS report writer against the emulator: parts, PutObject for small reports, gzip,
atomic appearance, abort, faults recovered, refusals before data (issue 11 point 1)."""

from __future__ import annotations

import gzip
import os
import threading
import time

import pytest

from osslist.errors import OssRefused, OssUnavailable, UsageError
from osslist.emulator import Emulator
from osslist.ossobjects import ObjectClient
from osslist.osscat import gunzipped
from osslist.ossout import KIB, MAX_PART_SIZE, OssWriter, part_size_for
from tests.helpers import FAST, emulator_client

PART = 100 * KIB


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.create_bucket("reports")
    return emulator


def objects(emu: Emulator) -> ObjectClient:
    return ObjectClient(emulator_client(emu, "reports"), policy=FAST)


def write_in_chunks(writer: OssWriter, data: bytes, chunk: int = 7_000) -> None:
    for i in range(0, len(data), chunk):
        writer.write(data[i : i + chunk])


def uploads_sent(emu: Emulator) -> list[str]:
    return [r.query["partNumber"] for r in emu.requests_for("oss") if "partNumber" in r.query and r.status == 200]


def test_part_sizes_grow_every_thousand_parts() -> None:
    assert [part_size_for(n, PART) for n in (1, 1000, 1001, 2001, 10_000)] == [PART, PART, 2 * PART, 4 * PART, 512 * PART]
    assert part_size_for(10_000, 64 * 1024**2) == MAX_PART_SIZE
    assert sum(part_size_for(n, PART) for n in range(1, 10_001)) == 1023 * 1000 * PART
    with pytest.raises(ValueError):
        part_size_for(10_001, PART)


def test_a_small_report_is_one_put_object(emu: Emulator) -> None:
    data = b'{"key": "a"}\n' * 100
    with OssWriter(objects(emu), "run/objects.jsonl") as writer:
        writer.write(data)
    assert emu.object_data("reports", "run/objects.jsonl") == data
    writes = [r for r in emu.requests_for("oss") if r.method in ("PUT", "POST")]
    assert [(r.method, r.query) for r in writes] == [("PUT", {})]
    assert writes[0].headers["content-md5"]
    assert emu.buckets.require("reports").get("run/objects.jsonl").object_type == "Normal"


def test_a_large_report_streams_in_parts_with_content_md5(emu: Emulator) -> None:
    data = os.urandom(3 * PART + 12_345)
    with OssWriter(objects(emu), "run/big.bin", part_size=PART) as writer:
        write_in_chunks(writer, data)
    assert emu.object_data("reports", "run/big.bin") == data
    parts = [r for r in emu.requests_for("oss") if "partNumber" in r.query]
    assert sorted(int(r.query["partNumber"]) for r in parts) == [1, 2, 3, 4]
    assert all(r.headers.get("content-md5") for r in parts)
    assert emu.buckets.require("reports").get("run/big.bin").object_type == "Multipart"
    assert emu.open_uploads("reports") == []


@pytest.mark.parametrize(("key", "compress", "gzipped"), [
    ("r.jsonl.gz", None, True), ("r.jsonl", True, True), ("r.jsonl.gz", False, False), ("r.jsonl", None, False),
])
def test_gzip_by_key_or_flag(emu: Emulator, key: str, compress: bool | None, gzipped: bool) -> None:
    data = b"".join(b'{"key": "logs/%07d.gz", "size": %d}\n' % (i, i * 37) for i in range(40_000))
    with OssWriter(objects(emu), key, part_size=PART, compress=compress) as writer:
        write_in_chunks(writer, data)
    stored = emu.object_data("reports", key)
    assert stored is not None
    assert (gzip.decompress(stored) if gzipped else stored) == data
    assert (len(stored) < len(data) / 4) is gzipped


def test_the_object_appears_only_when_complete(emu: Emulator) -> None:
    writer = OssWriter(objects(emu), "run/partial.bin", part_size=PART)
    write_in_chunks(writer, os.urandom(3 * PART))
    assert emu.buckets.require("reports").get("run/partial.bin") is None
    assert [key for key, _ in emu.open_uploads("reports")] == ["run/partial.bin"]
    writer.close()
    assert emu.buckets.require("reports").get("run/partial.bin") is not None


def test_abort_leaves_nothing_behind(emu: Emulator) -> None:
    with pytest.raises(RuntimeError):
        with OssWriter(objects(emu), "run/failed.bin", part_size=PART) as writer:
            write_in_chunks(writer, os.urandom(3 * PART))
            raise RuntimeError("the listing failed")
    assert emu.buckets.require("reports").get("run/failed.bin") is None
    assert emu.open_uploads("reports") == []
    with pytest.raises(ValueError):
        writer.write(b"more")


def test_a_5xx_on_a_part_is_retried(emu: Emulator) -> None:
    emu.faults.fail_part(2, 503, times=2)
    emu.faults.fail_part(3, 500)
    data = os.urandom(4 * PART)
    with OssWriter(objects(emu), "run/retried.bin", part_size=PART) as writer:
        write_in_chunks(writer, data)
    assert emu.object_data("reports", "run/retried.bin") == data
    failed = [r.query["partNumber"] for r in emu.requests_for("oss") if "partNumber" in r.query and r.status >= 500]
    assert sorted(failed) == ["2", "2", "3"]


def test_a_connection_dropped_mid_part_is_retried(emu: Emulator) -> None:
    emu.faults.drop_part(2)
    data = os.urandom(3 * PART)
    with OssWriter(objects(emu), "run/dropped.bin", part_size=PART) as writer:
        write_in_chunks(writer, data)
    assert emu.object_data("reports", "run/dropped.bin") == data
    assert any(r.error_code == "DroppedMidBody" for r in emu.requests_for("oss"))


@pytest.mark.parametrize("key", ["run/doomed.bin", "run/doomed.bin.gz"])
def test_a_part_that_keeps_failing_aborts_the_upload(emu: Emulator, key: str) -> None:
    emu.faults.fail_part(2, 503, times=100)
    writer = OssWriter(objects(emu), key, part_size=PART)
    with pytest.raises(OssUnavailable, match=f"UploadPart 2 oss://reports/{key}"):
        with writer:
            write_in_chunks(writer, os.urandom(8 * PART))  # random bytes: gzip cannot shrink them
    assert emu.open_uploads("reports") == [] and emu.buckets.require("reports").get(key) is None


def test_a_denied_prefix_is_exit_4_at_the_probe_before_any_data(emu: Emulator) -> None:
    emu.faults.deny("reports", "locked/")
    writer = OssWriter(objects(emu), "locked/objects.jsonl")
    with pytest.raises(OssRefused) as info:
        writer.probe()
    assert info.value.exit_code == 4 and "oss://reports/locked/objects.jsonl" in str(info.value)
    assert "AccessDenied" in str(info.value)
    writer.abort()
    assert emu.open_uploads("reports") == []
    assert [r.query for r in emu.requests_for("oss") if r.method == "POST"] == [{"uploads": ""}]


def test_a_probed_small_report_is_still_one_put(emu: Emulator) -> None:
    with OssWriter(objects(emu), "run/small.jsonl") as writer:
        writer.probe()
        writer.write(b"one line\n")
    assert emu.object_data("reports", "run/small.jsonl") == b"one line\n"
    assert emu.open_uploads("reports") == []
    assert emu.buckets.require("reports").get("run/small.jsonl").object_type == "Normal"


def test_a_redirect_is_never_followed(emu: Emulator) -> None:
    emu.faults.oss_redirect = emu.oss_endpoint + "/elsewhere/x"
    with pytest.raises(OssRefused, match="HTTP 302"):
        with OssWriter(objects(emu), "run/x.jsonl") as writer:
            writer.write(b"x\n")
    assert len([r for r in emu.requests_for("oss") if r.method == "PUT"]) == 1


def test_a_part_size_below_oss_minimum_is_a_usage_error(emu: Emulator) -> None:
    with pytest.raises(UsageError, match="--part-size"):
        OssWriter(objects(emu), "k", part_size=PART - 1)


class CountingObjects:
    """An ObjectClient stand-in that records how many parts are uploading at once."""

    def __init__(self) -> None:
        self.active = self.most = 0
        self.lock = threading.Lock()
        self.parts: dict[int, bytes] = {}

    def url(self, key: str) -> str:
        return f"oss://fake/{key}"

    def initiate(self, key: str) -> str:
        return "upload"

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.005)  # lets parts overlap; nothing is asserted about time
        with self.lock:
            self.active -= 1
            self.parts[number] = data
        return f"etag{number}"

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        assert [n for n, _ in parts] == sorted(self.parts)


def test_parts_in_flight_stay_bounded() -> None:
    fake = CountingObjects()
    writer = OssWriter(fake, "k", part_size=PART, workers=2, in_flight=2)  # type: ignore[arg-type]
    write_in_chunks(writer, bytes(20 * PART), chunk=PART // 2)
    writer.close()
    assert len(fake.parts) == 20 and 1 <= fake.most <= 2


@pytest.mark.parametrize("key", ["run/resumed.bin", "run/resumed.bin.gz"])
def test_a_kept_upload_resumes_from_its_committed_parts(emu: Emulator, key: str) -> None:
    data = os.urandom(5 * PART + 777)  # random: gzip parts are about as large as plain ones
    first = OssWriter(objects(emu), key, part_size=PART)
    write_in_chunks(first, data[: 4 * PART])
    first.drain()
    saved = first.committed()
    first.abort(keep_upload=True)  # the pod dies; its parts stay for the next one
    assert saved.upload_id and [n for n, _ in saved.parts] == list(range(1, len(saved.parts) + 1))
    assert len(saved.parts) >= 2 and 0 < saved.plain_offset <= 4 * PART
    assert emu.open_uploads("reports") == [(key, saved.upload_id)]
    second = OssWriter(objects(emu), key, part_size=PART)
    second.continue_upload(saved)
    write_in_chunks(second, data[saved.plain_offset :])
    second.close()
    stored = emu.object_data("reports", key)
    assert stored is not None and (gzip.decompress(stored) if key.endswith(".gz") else stored) == data
    assert emu.open_uploads("reports") == []


def test_resume_refuses_an_upload_whose_parts_changed(emu: Emulator) -> None:
    writer = OssWriter(objects(emu), "run/x.bin", part_size=PART)
    write_in_chunks(writer, os.urandom(2 * PART + 1))
    writer.drain()
    saved = writer.committed()
    writer.abort(keep_upload=True)
    objects(emu).upload_part("run/x.bin", saved.upload_id or "", 2, b"someone else")
    with pytest.raises(OssRefused, match="part 2 is missing or changed"):
        OssWriter(objects(emu), "run/x.bin", part_size=PART).continue_upload(saved)
    objects(emu).abort("run/x.bin", saved.upload_id or "")
    with pytest.raises(OssRefused, match="NoSuchUpload"):
        OssWriter(objects(emu), "run/x.bin", part_size=PART).continue_upload(saved)


def test_gzip_parts_are_whole_members_ending_at_known_plain_offsets(emu: Emulator) -> None:
    data = os.urandom(3 * PART)
    writer = OssWriter(objects(emu), "run/m.gz", part_size=PART)
    write_in_chunks(writer, data)
    writer.drain()
    saved = writer.committed()
    writer.close()
    stored = emu.object_data("reports", "run/m.gz") or b""
    assert gzip.decompress(stored) == data and len(saved.parts) >= 2
    head = stored[: saved.stored_offset]
    assert gzip.decompress(head) == data[: saved.plain_offset]  # the committed parts alone are valid gzip


@pytest.mark.parametrize("key", ["run/pages.bin", "run/pages.bin.gz"])
def test_with_cut_at_marks_parts_end_only_at_marks(emu: Emulator, key: str) -> None:
    """What a checkpoint of an upload needs: every part ends where a page ended."""
    pages = [os.urandom(PART // 3 + 1000 * i) for i in range(12)]
    writer = OssWriter(objects(emu), key, part_size=PART, cut_at_marks=True)
    ends, offsets = set(), []
    for page in pages:
        write_in_chunks(writer, page)
        writer.mark()
        ends.add(writer.plain_bytes)
        writer.drain()
        offsets.append(writer.committed().plain_offset)
    writer.close()
    stored = emu.object_data("reports", key) or b""
    assert (gzip.decompress(stored) if key.endswith(".gz") else stored) == b"".join(pages)
    assert offsets[-1] > 0 and set(offsets) - {0} <= ends  # no part ends inside a page


@pytest.mark.parametrize("resumed", [False, True])
def test_an_empty_page_after_the_last_part_adds_no_gzip_member(emu: Emulator, resumed: bool) -> None:
    """A page with no kept record (a shard's range, or the first page after a resume) marks an
    empty block: a fresh member must not leave its header alone at the end of the object."""
    data = os.urandom(3 * PART)  # zlib holds back some output: enough for one part at the mark
    writer = OssWriter(objects(emu), "run/empty.gz", part_size=PART, cut_at_marks=True)
    write_in_chunks(writer, data)
    writer.mark()  # a full part: cut here, a new member starts
    if resumed:
        writer.drain()
        saved = writer.committed()
        writer.abort(keep_upload=True)
        assert saved.parts and saved.plain_offset == len(data)
        writer = OssWriter(objects(emu), "run/empty.gz", part_size=PART, cut_at_marks=True)
        writer.continue_upload(saved)
    writer.mark()  # a page that kept nothing
    writer.close()
    stored = emu.object_data("reports", "run/empty.gz") or b""
    assert gzip.decompress(stored) == data
    assert b"".join(gunzipped([stored], "oss://reports/run/empty.gz")) == data
