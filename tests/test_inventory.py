"""`--format oss-inventory` (issue 12 point 1): the OSS bucket inventory layout, checked by a
reader written from Alibaba's "Bucket inventory" documentation, not from osslist's writer."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import posixpath
import re
import threading
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

import pytest
from click.testing import CliRunner, Result

from osslist.cli import main
from osslist.emulator import Emulator
from osslist.inventory import gather_parts, write_manifest
from osslist.inventorystores import LocalStore
from tests.emulator.keys import TRICKY_KEYS
from tests.helpers import archived_bucket, clean_env, inventory_report, listing_report

SOURCE = "source"
SEEDED = 600
Get = Callable[[str], bytes]


# --- the documented format, read independently -------------------------------------------------


def documented_inventory(get: Get, manifest_key: str) -> tuple[dict, list[dict[str, str]], list[str]]:
    """(manifest, rows as {column: value} with keys URL-decoded, data file keys), checking what
    the docs promise: manifest fields, manifest.checksum = MD5 of manifest.json, each data file's
    size and MD5, gzip CSV without a header, columns named by fileSchema, starting Bucket, Key."""
    raw = get(manifest_key)
    manifest = json.loads(raw)
    assert set(manifest) >= {"creationTimestamp", "destinationBucket", "fileFormat", "fileSchema", "files",
                             "sourceBucket", "version"}
    assert manifest["fileFormat"] == "CSV" and manifest["creationTimestamp"].isdigit()
    checksum = get(posixpath.join(posixpath.dirname(manifest_key), "manifest.checksum")).decode().strip()
    assert checksum.lower() == hashlib.md5(raw).hexdigest()
    columns = [name.strip() for name in manifest["fileSchema"].split(",")]
    assert columns[:2] == ["Bucket", "Key"]
    rows: list[dict[str, str]] = []
    for entry in manifest["files"]:
        data = get(entry["key"])
        assert len(data) == entry["size"] and hashlib.md5(data).hexdigest() == entry["MD5checksum"].lower()
        for row in csv.reader(io.StringIO(gzip.decompress(data).decode("utf-8"), newline="")):
            assert len(row) == len(columns) and row[0] != "Bucket"  # no header row
            rows.append({**dict(zip(columns, row)), "Key": unquote(row[1])})
    return manifest, rows, [entry["key"] for entry in manifest["files"]]


def local_get(root: Path) -> Get:
    """Keys in a local inventory are relative to the --output directory."""
    return lambda key: (root / key).read_bytes()


def oss_get(emu: Emulator, bucket: str) -> Get:
    def get(key: str) -> bytes:
        data = emu.object_data(bucket, key)
        assert data is not None, key
        return data

    return get


def manifests_in(keys: list[str]) -> list[str]:
    return [k for k in keys if k.endswith("/manifest.json")]


# --- runs ---------------------------------------------------------------------------------------


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.create_bucket(SOURCE)
    for index, key in enumerate(TRICKY_KEYS):
        emulator.put_object(SOURCE, key, size=index, storage_class="IA" if index % 2 else "Standard")
    for index in range(SEEDED):
        emulator.put_object(SOURCE, f"data/{index:05d}.bin", size=index, object_type="Multipart" if index % 7 == 0
                            else "Normal")
    emulator.create_bucket("inv")
    return emulator


def ls(emu: Emulator, *args: str) -> Result:
    argv = ["ls", "--bucket", SOURCE, "--endpoint", emu.oss_endpoint, "--format", "oss-inventory", *args]
    return CliRunner().invoke(main, argv, env=clean_env(emu))


def expected_keys() -> list[str]:
    return sorted([*TRICKY_KEYS, *(f"data/{i:05d}.bin" for i in range(SEEDED))], key=lambda k: k.encode())


def test_a_local_inventory_reads_as_the_docs_describe(emu: Emulator, tmp_path: Path) -> None:
    result = ls(emu, "--output", str(tmp_path / "inv"), "--file-size", "1K", "--max-keys", "100")
    assert result.exit_code == 0, result.stderr
    (manifest_path,) = (tmp_path / "inv").glob("*/manifest.json")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\dZ", manifest_path.parent.name)
    manifest, rows, files = documented_inventory(local_get(tmp_path / "inv"), f"{manifest_path.parent.name}/manifest.json")
    assert [row["Key"] for row in rows] == expected_keys()  # every object once, in order, tricky keys intact
    assert len(files) > 3 and all(re.fullmatch(r"data/[0-9a-f-]{36}(-\d+)?\.csv\.gz", f) for f in files)
    assert manifest["sourceBucket"] == SOURCE and {row["Bucket"] for row in rows} == {SOURCE}
    by_key = {row["Key"]: row for row in rows}
    assert by_key["data/00007.bin"]["Size"] == "7" and by_key["data/00007.bin"]["IsMultipartUploaded"] == "true"
    assert by_key["data/00008.bin"]["IsMultipartUploaded"] == "false"
    assert by_key[TRICKY_KEYS[1]]["StorageClass"] == "IA"
    assert not list((tmp_path / "inv").rglob("*.partial"))


@pytest.mark.parametrize("versions", [[], ["--all-versions"]])
def test_transition_time_is_the_documented_optional_column(emulator: Emulator, tmp_path: Path,
                                                           versions: list[str]) -> None:
    """The optional fields come after the fixed ones in the documented order (TransitionTime,
    ..., ObjectType); TransitionTime is what the listing says, empty for an object never moved;
    a diff with the jsonl listing of the same bucket is empty."""
    expected = archived_bucket(emulator, "arc")
    root = tmp_path / "inv"
    manifest = inventory_report(emulator, "arc", root, *versions)
    doc, rows, _ = documented_inventory(local_get(root), str(manifest.relative_to(root)))
    columns = doc["fileSchema"].split(", ")
    assert columns[-2:] == ["TransitionTime", "ObjectType"]
    assert columns.index("IsMultipartUploaded") < columns.index("TransitionTime")
    assert {row["Key"]: (row["ObjectType"], row["TransitionTime"]) for row in rows} == {
        key: (kind, moved) for key, (kind, _, _, moved) in expected.items()}
    (tmp_path / "listing.jsonl").write_bytes(listing_report(emulator, "arc", "jsonl", *versions))
    env = clean_env(emulator, OSSLIST_ENDPOINT=emulator.oss_endpoint)
    same = CliRunner().invoke(main, ["diff", str(tmp_path / "listing.jsonl"), str(manifest), "--all",
                                     "--compare", "last_modified"], env=env)
    assert same.exit_code == 0 and [json.loads(line)["change"] for line in same.stdout.splitlines()] == (
        ["unchanged"] * len(expected)), same.stderr


def test_an_inventory_in_oss_and_its_diff_with_a_jsonl_listing(emu: Emulator, tmp_path: Path) -> None:
    result = ls(emu, "--output", "oss://inv/daily/{bucket}/", "--file-size", "1K", "--max-keys", "200")
    assert result.exit_code == 0, result.stderr
    keys = emu.buckets.require("inv").keys()
    (manifest,) = manifests_in(keys)
    assert manifest.startswith(f"daily/{SOURCE}/")
    doc, rows, files = documented_inventory(oss_get(emu, "inv"), manifest)
    assert [row["Key"] for row in rows] == expected_keys() and doc["destinationBucket"] == "inv"
    assert all(f.startswith(f"daily/{SOURCE}/data/") for f in files)
    (tmp_path / "now.jsonl").write_bytes(listing_report(emu, SOURCE, "jsonl"))
    env = clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint)
    same = CliRunner().invoke(main, ["diff", str(tmp_path / "now.jsonl"), f"oss://inv/{manifest}"], env=env)
    assert (same.exit_code, same.stdout) == (0, ""), same.stderr
    emu.put_object(SOURCE, "data/00003.bin", size=42)
    live = CliRunner().invoke(main, ["diff", f"oss://inv/{manifest}", "--live", "--bucket", SOURCE], env=env)
    assert live.exit_code == 1 and json.loads(live.stdout)["key"] == "data/00003.bin"


def test_an_empty_bucket_is_a_manifest_without_files(emu: Emulator, tmp_path: Path) -> None:
    result = ls(emu, "--output", str(tmp_path / "inv"), "--prefix", "nothing-here/")
    assert result.exit_code == 0, result.stderr
    (manifest_path,) = (tmp_path / "inv").glob("*/manifest.json")
    assert documented_inventory(local_get(tmp_path / "inv"), str(manifest_path.relative_to(tmp_path / "inv")))[1] == []


@pytest.mark.parametrize("args", [[], ["--output", "x", "--delimiter", "/"], ["--output", "x", "--file-size", "10"],
                                  ["--output", "x", "--part-size", "10K"]])
def test_usage_errors(emu: Emulator, tmp_path: Path, args: list[str]) -> None:
    result = ls(emu, *args)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


# --- shards -------------------------------------------------------------------------------------


def shard(emu: Emulator, index: int, prefix: str) -> Result:
    return ls(emu, "--output", f"oss://inv/{prefix}/", "--shard-index", str(index), "--shard-count", "4",
              "--file-size", "1K", "--max-keys", "100")


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_four_shards_in_any_order_yield_one_manifest(emu: Emulator, order: tuple[int, ...]) -> None:
    prefix = "run-" + "".join(map(str, order))
    for done, index in enumerate(order, 1):
        assert shard(emu, index, prefix).exit_code == 0
        manifests = manifests_in(emu.buckets.require("inv").keys())
        assert len(manifests) == (1 if done == 4 else 0), (done, manifests)
    _, rows, files = documented_inventory(oss_get(emu, "inv"), manifests[0])
    assert [row["Key"] for row in rows] == expected_keys()
    data_files = [k for k in emu.buckets.require("inv").keys() if k.startswith(f"{prefix}/data/")]
    assert sorted(files) == sorted(data_files)


def test_two_runs_started_in_the_same_minute_keep_both_reports(tmp_path: Path) -> None:
    """Two runs into one prefix whose starts fall in one minute: the second report goes to the
    next free minute's folder instead of failing (it used to exit 1 on every retry), so a
    folder diff still finds both."""
    started = 1_700_000_000  # 2023-11-14T22:13:20Z
    written = []
    for run, store in enumerate([LocalStore(str(tmp_path))] * 2):
        part = {"started": started + run, "sourceBucket": SOURCE,
                "files": [{"key": f"data/run{run}.csv.gz", "size": 1, "MD5checksum": "0" * 32}]}
        written.append(write_manifest(store, [part]))
        written.append(write_manifest(store, [part]))  # a rerun finds its own report and is fine
    assert written == ["2023-11-14T22-13Z/manifest.json"] * 2 + ["2023-11-14T22-14Z/manifest.json"] * 2
    manifests = {p.parent.name: json.loads(p.read_text()) for p in tmp_path.glob("*/manifest.json")}
    assert {name: m["files"][0]["key"] for name, m in manifests.items()} == {
        "2023-11-14T22-13Z": "data/run0.csv.gz", "2023-11-14T22-14Z": "data/run1.csv.gz"}
    assert all((tmp_path / name / "manifest.checksum").exists() for name in manifests)


def test_two_shards_finishing_at_once_write_one_manifest(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    for index in range(4):
        part = {"started": 1_700_000_000 + index, "sourceBucket": SOURCE, "shard": index,
                "files": [{"key": f"data/u{index}.csv.gz", "size": 1, "MD5checksum": "0" * 32}]}
        store.put(f"shards/{index}-of-4.json", json.dumps(part).encode())
    parts = gather_parts(store, 4)
    assert parts is not None
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            write_manifest(store, parts)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=finish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (manifest,) = tmp_path.glob("*/manifest.json")
    assert [f["key"] for f in json.loads(manifest.read_bytes())["files"]] == [f"data/u{i}.csv.gz" for i in range(4)]
    assert manifest.parent.name == "2023-11-14T22-13Z"  # the earliest shard's start


def test_a_shard_that_failed_mid_upload_and_reran_completes_the_manifest(emu: Emulator) -> None:
    for index in (0, 2, 3):
        assert shard(emu, index, "run").exit_code == 0
    emu.faults.deny("inv", "run/data/", {"oss:PutObject"})  # PutObject covers every multipart step but abort
    failed = shard(emu, 1, "run")
    assert failed.exit_code == 4 and "AccessDenied" in failed.stderr
    assert not manifests_in(emu.buckets.require("inv").keys())
    emu.faults.reset()
    assert shard(emu, 1, "run").exit_code == 0
    (manifest,) = manifests_in(emu.buckets.require("inv").keys())
    assert [row["Key"] for row in documented_inventory(oss_get(emu, "inv"), manifest)[1]] == expected_keys()


# --- a folder of reports: the scheduled audit's diff --------------------------------------------


def _move_run(root: Path, name: str) -> None:
    """Date the newest run's folder back (runs within one minute would share a folder)."""
    (newest,) = [p for p in root.iterdir() if p.name.startswith("20") and p.name != name and not
                 p.name.startswith("2026-01")]
    newest.rename(root / name)


def diff(emu: Emulator, *args: str) -> Result:
    return CliRunner().invoke(main, ["diff", *args], env=clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint))


def test_a_folder_of_reports_diffs_its_two_newest(emu: Emulator, tmp_path: Path) -> None:
    root = tmp_path / "inv"
    assert ls(emu, "--output", str(root)).exit_code == 0
    first = diff(emu, f"{root}/")
    assert first.exit_code == 0 and "1 inventory report(s)" in first.stderr and "nothing to compare" in first.stderr
    _move_run(root, "2026-01-01T00-00Z")
    emu.put_object(SOURCE, "data/00001.bin", size=1000)
    assert ls(emu, "--output", str(root)).exit_code == 0
    _move_run(root, "2026-01-02T00-00Z")
    emu.delete_object(SOURCE, "data/00002.bin")
    assert ls(emu, "--output", str(root)).exit_code == 0
    result = diff(emu, f"{root}/", "--format", "text")
    assert result.exit_code == 1 and result.stdout == "- data/00002.bin\n", result.stderr
    assert "2026-01-02T00-00Z/manifest.json -> " in result.stderr
    assert diff(emu, f"{root}/", "--exit-zero").exit_code == 0
    assert diff(emu, f"{root}/", "--live", "--bucket", SOURCE).exit_code == 0  # the newest is the bucket now
    (root / "2027-01-01T00-00Z").mkdir()  # a run that failed: no manifest, passed over
    assert diff(emu, f"{root}/", "--format", "text").stdout == "- data/00002.bin\n"
    assert diff(emu, f"{root}/", str(root)).exit_code == 2


def test_a_folder_of_reports_in_oss(emu: Emulator) -> None:
    assert ls(emu, "--output", "oss://inv/audit/{bucket}/").exit_code == 0
    folder = f"oss://inv/audit/{SOURCE}/"
    assert diff(emu, folder).exit_code == 0
    (manifest,) = manifests_in(emu.buckets.require("inv").keys())
    for name in ("manifest.json", "manifest.checksum"):
        key = posixpath.join(posixpath.dirname(manifest), name)
        emu.put_object("inv", f"audit/{SOURCE}/2026-01-01T00-00Z/{name}", data=emu.object_data("inv", key))
        emu.delete_object("inv", key)
    emu.put_object(SOURCE, "brand-new", size=5)
    assert ls(emu, "--output", "oss://inv/audit/{bucket}/").exit_code == 0
    result = diff(emu, folder, "--bucket", SOURCE, "--output", "oss://inv/audit/{bucket}/diffs/{date}.jsonl")
    assert result.exit_code == 1, result.stderr
    (key,) = [k for k in emu.buckets.require("inv").keys() if "/diffs/" in k]
    assert json.loads(emu.object_data("inv", key))["key"] == "brand-new"


def test_report_in_an_output_needs_a_folder_of_two_reports(emu: Emulator, tmp_path: Path) -> None:
    """{report} is the newer report's folder: a diff of two named reports, a first run with one
    report, and a listing have none (one line, exit 2 when asked for; nothing written)."""
    (tmp_path / "a.jsonl").write_bytes(listing_report(emu, SOURCE))
    named = diff(emu, str(tmp_path / "a.jsonl"), str(tmp_path / "a.jsonl"), "--output", "oss://inv/{report}/c.jsonl")
    assert named.exit_code == 2 and "{report}" in named.stderr and len(named.stderr.strip().splitlines()) == 1
    assert ls(emu, "--output", "oss://inv/{report}/").exit_code == 2
    assert ls(emu, "--output", "oss://inv/audit/").exit_code == 0
    first = diff(emu, "oss://inv/audit/", "--output", "oss://inv/audit/{report}/changes.jsonl")
    assert first.exit_code == 0 and "nothing to compare yet" in first.stderr
    assert [k for k in emu.buckets.require("inv").keys() if "changes" in k] == []


def test_every_finishing_order_of_four_shards_yields_the_same_single_manifest(tmp_path: Path) -> None:
    """All 24 orders, library level: each shard's writer gets the records of its own ranges
    (interleaved across shards, as the fixed shard rule deals them) and commits; only the last
    commit writes the manifest, and it is the same in every order, files in key order."""
    from datetime import datetime, timezone
    from itertools import permutations

    from osslist.inventory import InventoryWriter, Shard
    from osslist.pages import ObjectRecord
    from osslist.ranges import KeyRange

    cuts = [f"k{i:02d}" for i in range(0, 16)]
    ranges = [KeyRange("" if i == 0 else cuts[i], cuts[i + 1] if i + 1 < len(cuts) else None) for i in range(len(cuts))]
    keys = [f"k{i:02d}-{j}" for i in range(16) for j in range(3)]
    manifests = set()
    for order in permutations(range(4)):
        root = tmp_path / "".join(map(str, order))
        store = LocalStore(str(root))
        for index in order:
            mine = ranges[index::4]  # cells dealt round-robin
            writer = InventoryWriter(store, source_bucket=SOURCE, started=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                     shard=Shard(index, 4), ranges=mine)
            for cell in mine:
                records = [ObjectRecord(k, 1, "2026-01-01T00:00:00.000Z", "E", "Standard", "Normal")
                           for k in keys if cell.contains(k)]
                writer.write_rendered(writer.render(records))
            writer.commit()
            assert len(list(root.glob("*/manifest.json"))) == (index == order[-1])
        (manifest,) = root.glob("*/manifest.json")
        _, rows, files = documented_inventory(local_get(root), str(manifest.relative_to(root)))
        assert [row["Key"] for row in rows] == keys
        manifests.add(tuple(json.loads(manifest.read_bytes())["fileSchema"] for _ in [0]) + (len(files),))
    assert manifests == {(", ".join(["Bucket", "Key", "Size", "StorageClass", "LastModifiedDate", "ETag",
                                     "IsMultipartUploaded", "TransitionTime", "ObjectType"]), 16)}


@pytest.mark.parametrize("damage", ["md5", "missing", "truncated"])
def test_diff_of_a_damaged_inventory_is_one_line_exit_2(emu: Emulator, tmp_path: Path, damage: str) -> None:
    root = tmp_path / "inv"
    assert ls(emu, "--output", str(root), "--file-size", "1K", "--max-keys", "100").exit_code == 0
    (manifest,) = root.glob("*/manifest.json")
    data_file = sorted((root / "data").iterdir())[-1]
    if damage == "md5":
        data_file.write_bytes(data_file.read_bytes()[:-8] + b"\0" * 8)  # same size, other bytes
    elif damage == "missing":
        data_file.unlink()
    else:
        data_file.write_bytes(data_file.read_bytes()[:-20])
    (tmp_path / "now.jsonl").write_bytes(listing_report(emu, SOURCE, "jsonl"))
    result = diff(emu, str(tmp_path / "now.jsonl"), str(manifest))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert data_file.name in result.stderr


def test_an_all_versions_inventory_has_the_version_columns(emu: Emulator, tmp_path: Path) -> None:
    emu.set_versioning(SOURCE, "Enabled")
    emu.put_object(SOURCE, "data/00001.bin", size=77)  # a second version
    emu.delete_object(SOURCE, "data/00002.bin")  # a delete marker over its only version
    result = ls(emu, "--output", str(tmp_path / "inv"), "--all-versions", "--file-size", "1K", "--max-keys", "100")
    assert result.exit_code == 0, result.stderr
    (manifest,) = (tmp_path / "inv").glob("*/manifest.json")
    doc, rows, _ = documented_inventory(local_get(tmp_path / "inv"), str(manifest.relative_to(tmp_path / "inv")))
    assert doc["fileSchema"].split(", ")[:5] == ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker"]
    versions = [(row["Key"], row["IsLatest"], row["IsDeleteMarker"], row["Size"]) for row in rows
                if row["Key"] in ("data/00001.bin", "data/00002.bin")]
    assert versions == [("data/00001.bin", "true", "false", "77"), ("data/00001.bin", "false", "false", "1"),
                        ("data/00002.bin", "true", "true", ""), ("data/00002.bin", "false", "false", "2")]
    (tmp_path / "all.jsonl").write_bytes(listing_report(emu, SOURCE, "jsonl", "--all-versions"))
    same = diff(emu, str(tmp_path / "all.jsonl"), str(manifest))
    assert (same.exit_code, same.stdout) == (0, ""), same.stderr


def test_the_fast_key_encoding_is_quote_for_every_key() -> None:
    from urllib.parse import quote

    from osslist.inventory import url_encoded

    keys = [*TRICKY_KEYS, "logs/2024/00001.gz", "a b", "ü/ä", "x\ny", "~._-", "", "%2F", "+", "/", "a//b", "?#&="]
    assert [url_encoded(k) for k in keys] == [quote(k, safe="") for k in keys]
