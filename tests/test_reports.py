"""Reading reports back (issue 12 point 2): jsonl, csv and inventory, gzip or not, local or in
OSS, records in key order, and one clear ReportError for each kind of damage."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from osslist.emulator import Emulator
from osslist.errors import ReportError
from osslist.ossobjects import ObjectClient
from osslist.reports import ReportRecord, canonical_time, open_report, within
from tests.emulator.keys import BYTE_ORDER, TRICKY_KEYS
from tests.helpers import archived_bucket, emulator_client, inventory_report, listing_report

BUCKET = "source"


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    emulator.create_bucket(BUCKET)
    for index, key in enumerate(TRICKY_KEYS):
        emulator.put_object(BUCKET, key, size=index * 10, storage_class=("Standard", "IA", "Archive")[index % 3])
    return emulator


def read(path: Path | str, **kwargs: object) -> list[ReportRecord]:
    return list(open_report(str(path), **kwargs))  # type: ignore[arg-type]


def records_of(path: Path) -> list[tuple[str, int, str]]:
    return [(r.key, r.size, r.storage_class) for r in read(path)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_listing_reads_back_in_key_order_gzip_or_not(seeded: Emulator, tmp_path: Path, fmt: str) -> None:
    data = listing_report(seeded, BUCKET, fmt)
    (tmp_path / "plain").write_bytes(data)
    (tmp_path / "packed.bin").write_bytes(gzip.compress(data))  # gzip found by its magic, not its name
    expected = [(key, TRICKY_KEYS.index(key) * 10, ("Standard", "IA", "Archive")[TRICKY_KEYS.index(key) % 3])
                for key in BYTE_ORDER]
    assert records_of(tmp_path / "plain") == expected
    assert records_of(tmp_path / "packed.bin") == expected
    assert open_report(str(tmp_path / "plain")).format == fmt


def test_jsonl_and_csv_of_one_listing_are_the_same_records(seeded: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(listing_report(seeded, BUCKET, "jsonl"))
    (tmp_path / "a.csv").write_bytes(listing_report(seeded, BUCKET, "csv"))
    assert read(tmp_path / "a.jsonl") == read(tmp_path / "a.csv")
    assert all(r.last_modified.endswith(".000Z") and r.etag and not r.etag.startswith('"')
               for r in read(tmp_path / "a.csv"))


def test_a_report_in_oss_reads_through_the_object_client(seeded: Emulator) -> None:
    seeded.create_bucket("reports")
    data = listing_report(seeded, BUCKET, "jsonl")
    seeded.put_object("reports", "run/objects.jsonl.gz", data=gzip.compress(data))
    objects_for = lambda bucket: ObjectClient(emulator_client(seeded, bucket))  # noqa: E731
    records = read("oss://reports/run/objects.jsonl.gz", objects_for=objects_for)
    assert [r.key for r in records] == BYTE_ORDER


def test_an_empty_jsonl_listing_is_an_empty_report(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "empty.jsonl.gz").write_bytes(gzip.compress(b""))
    assert read(tmp_path / "empty.jsonl") == [] and read(tmp_path / "empty.jsonl.gz") == []


def test_canonical_time_makes_formats_compare_equal() -> None:
    assert canonical_time("2024-06-22T13:13:58.000Z") == "2024-06-22T13:13:58.000Z"
    assert canonical_time("2024-06-22T13:13:58Z") == "2024-06-22T13:13:58.000Z"
    assert canonical_time("2024-06-22T13:13:58.5+00:00") == "2024-06-22T13:13:58.500Z"
    assert canonical_time("yesterday") == "yesterday"


def test_within_cuts_a_report_to_a_key_range() -> None:
    records = [ReportRecord(k, 0, "", "", "") for k in ("a", "logs/1", "logs/2", "logs/3", "z")]
    cut = within(records, prefix="logs/", start_after="logs/1", end_before="logs/3")
    assert [r.key for r in cut] == ["logs/2"]


# --- damage -------------------------------------------------------------------------------------

LINE = '{{"key": "{}", "size": 1, "last_modified": "2024-01-01T00:00:00.000Z", "etag": "E", "storage_class": "Standard"}}\n'


def jsonl(*keys: str) -> bytes:
    return "".join(LINE.format(key) for key in keys).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (jsonl("a", "c", "b"), "'b' comes after 'c': keys out of order"),
        (jsonl("a", "a"), "'a' repeats 'a'"),
        (gzip.compress(jsonl(*(f"k{i:05d}" for i in range(5000))))[:2000], "ends in the middle of its gzip stream"),
        (b"\x1f\x8bnot gzip at all", "not valid gzip"),
        (b"root:x:0:0:root:/root:/bin/bash\n", "is not a report osslist reads"),
        (jsonl("a") + b'{"key": "b", "size": "x"}\n', "line 2: not a listing record"),
        (jsonl("a") + b'{"prefix": "dir/"}\n', "line 2: a common prefix"),
        (b"Bucket,Key,Size\r\nb,k,1\r\n", "csv header lacks LastModifiedDate, ETag, StorageClass"),
        (b"\xff\xfe{", "not a report"),
    ],
)
def test_each_damage_is_one_report_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "report"
    path.write_bytes(content)
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        read(path)
    assert "\n" not in str(caught.value)


def test_a_missing_report_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot read report .*nope"):
        read(tmp_path / "nope.jsonl")


def test_versions_of_one_key_may_repeat_it_but_not_a_version() -> None:
    from osslist.reports import in_key_order

    versions = [ReportRecord("a", 1, "E", "", "", "v2"), ReportRecord("a", 1, "E", "", "", "v1"),
                ReportRecord("b", 1, "E", "", "", "v1")]
    assert list(in_key_order(versions, "x")) == versions
    with pytest.raises(ReportError, match="repeats"):
        list(in_key_order([*versions[:2], ReportRecord("a", 1, "E", "", "", "v2")], "x"))


# --- an inventory written by hand from the documented layout ------------------------------------

SCHEMA = "Bucket, Key, Size, StorageClass, LastModifiedDate, ETag, IsMultipartUploaded, EncryptionStatus"


def inventory(root: Path, parts: list[list[str]], *, schema: str = SCHEMA) -> Path:
    """An inventory as the OSS docs describe it: data/<uuid>[-N].csv.gz (no header, URL-encoded
    keys), <time>/manifest.json listing them with size and MD5, manifest.checksum its MD5."""
    (root / "data").mkdir(parents=True)
    files = []
    for number, keys in enumerate(parts):
        name = "1a2b3c4d" + (f"-{number}" if number else "") + ".csv.gz"
        rows = "".join(f'"{BUCKET}","{quote(k, safe="")}","7","IA","2024-01-01T00:00:00Z","""ETAG""","false","false"\n'
                       for k in keys)
        data = gzip.compress(rows.encode())
        (root / "data" / name).write_bytes(data)
        files.append({"key": f"dest/{BUCKET}/inv/data/{name}", "size": len(data),
                      "MD5checksum": hashlib.md5(data).hexdigest().upper()})
    manifest = json.dumps({"creationTimestamp": "1704067200", "destinationBucket": "dest", "sourceBucket": BUCKET,
                           "fileFormat": "CSV", "fileSchema": schema, "files": files, "version": "2019-09-01"},
                          indent=2).encode()
    (root / "2024-01-01T00-00Z").mkdir()
    (root / "2024-01-01T00-00Z" / "manifest.json").write_bytes(manifest)
    (root / "2024-01-01T00-00Z" / "manifest.checksum").write_text(hashlib.md5(manifest).hexdigest().upper())
    return root / "2024-01-01T00-00Z" / "manifest.json"


def test_an_inventory_reads_every_data_file_in_order(tmp_path: Path) -> None:
    manifest = inventory(tmp_path, [BYTE_ORDER[:5], BYTE_ORDER[5:]])
    records = read(manifest)
    assert [r.key for r in records] == BYTE_ORDER
    assert records[0] == ReportRecord(BYTE_ORDER[0], 7, "ETAG", "2024-01-01T00:00:00.000Z", "IA")
    assert open_report(str(manifest)).format == "inventory"


def _damage(manifest: Path, how: str) -> None:
    data_file = next((manifest.parent.parent / "data").iterdir())
    doc = json.loads(manifest.read_bytes())
    if how == "md5":
        doc["files"][0]["MD5checksum"] = "0" * 32
    elif how == "size":
        data_file.write_bytes(data_file.read_bytes() + b"\0")
    elif how == "missing":
        data_file.unlink()
    elif how == "checksum":
        (manifest.parent / "manifest.checksum").write_text("0" * 32)
    if how == "md5":
        text = json.dumps(doc).encode()
        manifest.write_bytes(text)
        (manifest.parent / "manifest.checksum").write_text(hashlib.md5(text).hexdigest())


@pytest.mark.parametrize(("how", "message"), [
    ("md5", "differs from manifest.json's 0000"),
    ("size", "bigger than the"),
    ("missing", "cannot read report .*1a2b3c4d.csv.gz"),
    ("checksum", "differs from manifest.checksum"),
])
def test_a_damaged_inventory_is_one_report_error(tmp_path: Path, how: str, message: str) -> None:
    manifest = inventory(tmp_path, [BYTE_ORDER])
    _damage(manifest, how)
    with pytest.raises(ReportError, match=message):
        read(manifest)


def test_an_inventory_whose_files_overlap_is_out_of_order(tmp_path: Path) -> None:
    manifest = inventory(tmp_path, [BYTE_ORDER[3:], BYTE_ORDER[:3]])
    with pytest.raises(ReportError, match="keys out of order"):
        read(manifest)


# --- the rare fields (issue 13 item 5) ----------------------------------------------------------

@pytest.mark.parametrize("versions", [[], ["--all-versions"]])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_restore_transition_type_and_owner_round_trip(
    emulator: Emulator, tmp_path: Path, fmt: str, versions: list[str]
) -> None:
    expected = archived_bucket(emulator, "arc")
    (tmp_path / "owned").write_bytes(listing_report(emulator, "arc", fmt, "--fetch-owner", *versions))
    (tmp_path / "plain").write_bytes(listing_report(emulator, "arc", fmt, *versions))
    owned, plain = read(tmp_path / "owned"), read(tmp_path / "plain")
    assert {r.key: (r.type, r.restore, r.restore_expiry, r.transition_time) for r in owned} == expected
    assert {r.owner for r in owned} == {"1234567890123456"}  # the emulator's owner ID, on every object
    assert [r._replace(owner="") for r in owned] == plain and {r.owner for r in plain} == {""}


@pytest.mark.parametrize("versions", [[], ["--all-versions"]])
def test_an_inventory_reads_back_type_and_transition_time(emulator: Emulator, tmp_path: Path,
                                                          versions: list[str]) -> None:
    """The inventory has ObjectType and TransitionTime columns (no restore state, no owner):
    read back, its records are the jsonl listing's without those two."""
    expected = archived_bucket(emulator, "arc")
    records = read(inventory_report(emulator, "arc", tmp_path / "inv", *versions))
    assert {r.key: (r.type, r.transition_time) for r in records} == {k: (v[0], v[3]) for k, v in expected.items()}
    (tmp_path / "listing.jsonl").write_bytes(listing_report(emulator, "arc", "jsonl", *versions))
    assert records == [r._replace(restore="", restore_expiry="") for r in read(tmp_path / "listing.jsonl")]
