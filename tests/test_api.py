"""The Python API (``import osslist``) against the emulator, through its public names only.

Each test calls ``osslist.<name>`` (never a private module) and compares with what the CLI lists
for the same bucket, so the API and the CLI cannot drift apart. The one slow test here (about a
minute) is the issue's acceptance for ``osslist.bucket()``: plain oss2 calls across a minute of
5-second credentials.
"""

from __future__ import annotations

import gc
import importlib
import json
import pkgutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import oss2
import pytest
from click.testing import CliRunner

import osslist
from osslist.cli import main
from osslist.emulator import Emulator
from tests.emulator.keys import BYTE_ORDER, TRICKY_KEYS
from tests.helpers import UPLOADS_BASE, clean_env, ok, start_uploads

BUCKET = "api-bucket"
REGION = "cn-hangzhou"

PUBLIC_NAMES = [
    "CheckpointBusy", "CheckpointFinished", "CheckpointMismatch", "ClockSkewError", "CredentialsError", "DuRow",
    "Interrupted", "Listing", "ListingError", "MetadataError", "ObjectRecord", "OssError", "OssRefused",
    "OssUnavailable", "OsslistError", "OutputError", "PrefixRecord", "ReportError", "StsError", "Summary",
    "UploadListing", "UploadRecord", "UploadTotals", "UsageError", "VersionRecord", "__version__", "bucket",
    "credentials_provider", "du", "list_objects", "list_uploads",
]


@pytest.fixture
def pointed(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, with the metadata server where a pod's would be (the API reads the same
    variables as the CLI)."""
    monkeypatch.setenv("ALIBABA_CLOUD_IMDS_ENDPOINT", emulator.metadata_url)
    return emulator


def listing(emu: Emulator, bucket: str = BUCKET, **options: Any) -> osslist.Listing[Any]:
    return osslist.list_objects(bucket, endpoint=emu.oss_endpoint, region=REGION, **options)


def cli_jsonl(emu: Emulator, *args: str, bucket: str = BUCKET) -> list[dict[str, Any]]:
    result = ok(CliRunner().invoke(main, ["ls", "--bucket", bucket, "--endpoint", emu.oss_endpoint,
                                          "--format", "jsonl", "--no-progress", *args], env=clean_env(emu)))
    return [json.loads(line) for line in result.stdout_bytes.decode().splitlines()]


def as_cli_row(record: osslist.ObjectRecord | osslist.PrefixRecord) -> dict[str, Any]:
    """A public record as the CLI's jsonl writes it (its time as OSS sent it)."""
    if isinstance(record, osslist.PrefixRecord):
        return {"prefix": record.prefix}
    stamp = record.last_modified.strftime("%Y-%m-%dT%H:%M:%S.") + f"{record.last_modified.microsecond // 1000:03d}Z"
    return {"key": record.key, "size": record.size, "last_modified": stamp, "etag": record.etag,
            "storage_class": record.storage_class, "type": record.type}


# --- the public surface ------------------------------------------------------------------------


def test_all_is_sorted_and_every_public_name_is_there() -> None:
    """A name leaving __all__ is a major version: this list changes only with one."""
    assert osslist.__all__ == sorted(osslist.__all__)
    assert set(PUBLIC_NAMES) <= set(osslist.__all__), set(PUBLIC_NAMES) - set(osslist.__all__)
    for name in osslist.__all__:
        assert getattr(osslist, name) is not None
        assert name in dir(osslist)


def test_the_whole_exception_tree_is_public() -> None:
    """Every exception class of osslist.errors is exported: a script catches what it is raised."""
    import osslist.errors

    tree = {name for name, value in vars(osslist.errors).items()
            if isinstance(value, type) and issubclass(value, osslist.errors.OsslistError)}
    assert tree <= set(osslist.__all__), tree - set(osslist.__all__)
    assert all(getattr(osslist, name) is getattr(osslist.errors, name) for name in tree)
    assert issubclass(osslist.ReportError, osslist.OsslistError) and osslist.ReportError.exit_code == 2


def test_importing_every_module_never_hides_a_public_name() -> None:
    """A submodule named like a public function would replace it as ``osslist.<name>`` once
    imported (the import system sets the attribute): every public name must survive."""
    expected = {name: getattr(osslist, name) for name in osslist.__all__}
    for module in pkgutil.walk_packages(osslist.__path__, "osslist."):
        importlib.import_module(module.name)
    for name, value in expected.items():
        assert getattr(osslist, name) is value, name


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        osslist.no_such_name  # noqa: B018


def test_import_osslist_loads_neither_oss2_nor_the_listing_code() -> None:
    """``import osslist`` (hence ``osslist --help``) pays for a name only when it is used."""
    code = ("import sys, osslist; print(sorted(m for m in ('oss2', 'httpx', 'osslist.api', 'osslist.runner')"
            " if m in sys.modules)); osslist.Summary; print('osslist.summary' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "True"]


def test_py_typed_is_shipped_as_package_data() -> None:
    root = Path(osslist.__file__).parent
    assert (root / "py.typed").is_file()
    pyproject = (root.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert 'osslist = ["py.typed"]' in pyproject.split("[tool.setuptools.package-data]", 1)[1]


def test_the_cli_and_the_api_build_with_the_same_functions(pointed: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a copy: the CLI and every API entry point go through job.prepare (list, du) or
    runner.uploading (uploads) and the same provider and bucket construction
    (sources.resolve_provider, client.make_bucket_client)."""
    import osslist.client
    import osslist.job
    import osslist.runner
    import osslist.sources

    calls: dict[str, list[str]] = {}

    def spy(module: Any, name: str) -> None:
        real = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.setdefault(name, []).append(caller)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for module, name in ((osslist.job, "prepare"), (osslist.sources, "resolve_provider"),
                         (osslist.client, "make_bucket_client"), (osslist.runner, "uploading")):
        spy(module, name)
    pointed.create_bucket(BUCKET)
    caller = "cli"
    ok(CliRunner().invoke(main, ["ls", "--bucket", BUCKET, "--endpoint", pointed.oss_endpoint, "--dry-run"],
                          env=clean_env(pointed)))
    caller = "cli uploads"
    ok(CliRunner().invoke(main, ["uploads", "--bucket", BUCKET, "--endpoint", pointed.oss_endpoint, "--no-progress"],
                          env=clean_env(pointed)))
    caller = "list_objects"
    list(listing(pointed))
    caller = "list_uploads"
    list(osslist.list_uploads(BUCKET, endpoint=pointed.oss_endpoint, region=REGION))
    caller = "du"
    osslist.du(BUCKET, endpoint=pointed.oss_endpoint, region=REGION)
    caller = "bucket"
    osslist.bucket(BUCKET, endpoint=pointed.oss_endpoint, region=REGION)
    caller = "credentials_provider"
    osslist.credentials_provider()
    assert calls == {
        "prepare": ["cli", "list_objects", "du"],
        "resolve_provider": ["cli", "cli uploads", "list_objects", "list_uploads", "du", "bucket",
                             "credentials_provider"],
        "make_bucket_client": ["cli", "cli uploads", "list_objects", "list_uploads", "du", "bucket"],
        "uploading": ["cli uploads", "list_uploads"],
    }


# --- list_objects --------------------------------------------------------------------------------


def test_records_are_typed_and_exactly_what_the_cli_lists(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    for i, key in enumerate(TRICKY_KEYS):
        pointed.put_object(BUCKET, key, size=i * 1000, storage_class=("Standard", "IA", "Archive")[i % 3])
    records = list(listing(pointed, max_keys=5))
    assert [r.key for r in records] == BYTE_ORDER
    first = records[0]
    assert isinstance(first, osslist.ObjectRecord)
    assert isinstance(first.size, int) and isinstance(first.last_modified, datetime)
    assert first.last_modified.utcoffset() == timedelta(0)
    assert [as_cli_row(r) for r in records] == cli_jsonl(pointed)
    with pytest.raises(AttributeError):
        first.size = 1  # type: ignore[misc]


def test_summary_is_final_when_the_iteration_ends(pointed: Emulator) -> None:
    pointed.seed(BUCKET, 250)
    result = listing(pointed, max_keys=100)
    assert not result.complete
    records = list(result)
    assert result.complete
    summary = result.summary
    assert (summary.objects, summary.bytes) == (250, sum(r.size for r in records))
    assert summary.requests == 3
    per_class = {name: size for name, _count, size in summary.classes()}
    assert sum(per_class.values()) == summary.bytes


def test_parallel_8_yields_exactly_the_sequential_records(pointed: Emulator) -> None:
    pointed.seed(BUCKET, 4000)
    sequential = list(listing(pointed, max_keys=50))
    parallel = listing(pointed, max_keys=50, parallel=8)
    assert list(parallel) == sequential
    assert len(sequential) == 4000 and parallel.summary.objects == 4000


def test_a_delimiter_yields_objects_and_common_prefixes_in_key_order(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    for key in ("a/1", "a/2", "b", "c/d/e", "d"):
        pointed.put_object(BUCKET, key, size=1)
    records = list(listing(pointed, delimiter="/"))
    assert records == [osslist.PrefixRecord("a/"), records[1], osslist.PrefixRecord("c/"), records[3]]
    assert [type(r).__name__ for r in records] == ["PrefixRecord", "ObjectRecord", "PrefixRecord", "ObjectRecord"]
    assert [as_cli_row(r) for r in records] == cli_jsonl(pointed, "--delimiter", "/")


def test_filters_take_python_values_and_match_the_cli(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    old, new = datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 6, 1, tzinfo=timezone.utc)
    for i in range(40):
        pointed.put_object(BUCKET, f"logs/{i:02d}.{'gz' if i % 2 else 'txt'}", size=i * 512,
                           storage_class="IA" if i % 3 else "Standard",
                           last_modified=(old if i < 20 else new).timestamp())
    records = list(listing(pointed, prefix="logs/", include="*.gz", min_size=2048, max_size="15K",
                           modified_after=datetime(2024, 3, 1), storage_classes=["ia"]))
    assert records and all(r.key.endswith(".gz") and 2048 <= r.size <= 15 * 1024 for r in records)
    assert all(r.last_modified == new and r.storage_class == "IA" for r in records)
    cli = cli_jsonl(pointed, "--prefix", "logs/", "--include", "*.gz", "--min-size", "2048", "--max-size", "15K",
                    "--modified-after", "2024-03-01", "--storage-class", "ia")
    assert [as_cli_row(r) for r in records] == cli


def test_all_versions_are_the_cli_all_versions(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    pointed.set_versioning(BUCKET, "Enabled")
    for key, count in (("a", 4), ("b/c", 3), ("d", 120)):
        pointed.seed_versions(BUCKET, key, count, delete_every=3)
    versions = list(listing(pointed, all_versions=True, max_keys=25, parallel=4))
    assert all(isinstance(v, osslist.VersionRecord) for v in versions) and len(versions) == 127
    cli = cli_jsonl(pointed, "--all-versions")
    assert [(v.key, v.version_id, v.is_latest, v.is_delete_marker, v.size) for v in versions] == [
        (c["key"], c["version_id"], c["is_latest"], c["is_delete_marker"], c["size"] or 0) for c in cli
    ]
    # 10 s after the first versions: "b/c" was deleted at +2 s, "a" and "d" had a live version
    then = versions[-1].last_modified + timedelta(seconds=10)
    at_that_time = list(listing(pointed, as_of=then))
    assert [v.key for v in at_that_time] == ["a", "d"]
    cli_then = cli_jsonl(pointed, "--as-of", then.isoformat())
    assert [(v.key, v.version_id) for v in at_that_time] == [(c["key"], c["version_id"]) for c in cli_then]


def test_limit_and_range_options(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    keys = [f"k{i:03d}" for i in range(100)]
    for key in keys:
        pointed.put_object(BUCKET, key, size=1)
    assert [r.key for r in listing(pointed, start_after="k010", end_before="k020")] == keys[11:20]
    assert [r.key for r in listing(pointed, limit=7, max_keys=5, parallel=4)] == keys[:7]


@pytest.fixture
def held_clients(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every bucket client the API opens during the test, held here. A client nobody holds is
    freed at once and its sockets close with it, so without this hold the tests of "no
    connection left open" would pass without the API's own ``close()`` of its client. (The one
    reach past the public names in this module, and only to hold, never to drive.)"""
    from osslist.client import BucketClient

    held: list[object] = []
    init = BucketClient.__init__

    def holding(self: BucketClient, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        held.append(self)

    monkeypatch.setattr(BucketClient, "__init__", holding)
    return held


@pytest.mark.parametrize("closing", ["close", "with", "drop"])
def test_abandoned_half_way_leaves_no_thread_and_no_connection(
    pointed: Emulator, closing: str, held_clients: list[object]
) -> None:
    """parallel=8, stopped after 300 of 6000 records: the workers are gone and every
    connection to OSS and to the metadata server is closed, at once (the client still held)."""
    pointed.seed(BUCKET, 6000)
    before = set(threading.enumerate())
    result = listing(pointed, max_keys=50, parallel=8)
    iterator = iter(result)
    taken = [next(iterator) for _ in range(300)]
    assert len(taken) == 300 and len(_our_new_threads(before)) >= 2, "the workers were listing"
    if closing == "close":
        result.close()
        assert not result.complete
    elif closing == "with":
        with result:
            next(iterator)
    else:
        del result, iterator
    assert _our_new_threads(before) == []
    assert len(held_clients) == 1 and _client_connections(pointed.oss_endpoint) == 0  # closed, though held
    held_clients.clear()  # the metadata connection goes with the credentials provider, when it is freed
    gc.collect()
    assert _client_connections(pointed.metadata_url) == 0


def _our_new_threads(before: set[threading.Thread]) -> list[str]:
    """Threads started since ``before``, but the emulator's per-connection handlers."""
    return [t.name for t in threading.enumerate() if t not in before and "process_request_thread" not in t.name]


def _client_connections(url: str) -> int:
    """Established TCP connections from this machine to ``url``'s port (client side only)."""
    port = int(url.rsplit(":", 1)[1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            pytest.skip("needs Linux's /proc/net/tcp")
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


# --- list_uploads --------------------------------------------------------------------------------


def uploads(emu: Emulator, **options: Any) -> osslist.UploadListing:
    return osslist.list_uploads(BUCKET, endpoint=emu.oss_endpoint, region=REGION, **options)


def test_uploads_are_typed_and_exactly_what_the_cli_lists(pointed: Emulator) -> None:
    truth = start_uploads(pointed, 40, BUCKET)
    with uploads(pointed, parts=True, max_uploads=7) as listed:
        records = list(listed)
    assert all(isinstance(r, osslist.UploadRecord) for r in records)
    assert [(r.key, r.upload_id) for r in records] == pointed.open_uploads(BUCKET)
    assert {(r.key, r.upload_id): (r.part_count, r.size, r.initiated) for r in records} == {
        pair: (parts, size, datetime.fromtimestamp(initiated, timezone.utc))
        for pair, (parts, size, initiated) in truth.items()
    }
    assert all(r.initiated.tzinfo is timezone.utc for r in records)
    with pytest.raises(AttributeError):
        records[0].key = "x"  # type: ignore[misc]
    result = ok(CliRunner().invoke(main, ["uploads", "--bucket", BUCKET, "--endpoint", pointed.oss_endpoint,
                                          "--parts", "--format", "jsonl", "--no-progress"], env=clean_env(pointed)))
    cli = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r.key, r.upload_id, r.part_count, r.size) for r in records] == [
        (c["key"], c["upload_id"], c["part_count"], c["size"]) for c in cli
    ]
    assert listed.complete
    assert (listed.summary.uploads, listed.summary.parts, listed.summary.bytes) == (
        40, sum(p for p, _, _ in truth.values()), sum(b for _, b, _ in truth.values()))
    assert listed.summary.requests == 6 + 40  # 6 ListMultipartUploads pages (7 a page), a ListParts per upload


def test_uploads_without_parts_and_older_than_a_datetime(pointed: Emulator) -> None:
    truth = start_uploads(pointed, 30, BUCKET)
    cutoff = datetime.fromtimestamp(UPLOADS_BASE + 86400 * 10, timezone.utc)
    records = list(uploads(pointed, older_than=cutoff.replace(tzinfo=None)))
    assert {(r.key, r.upload_id) for r in records} == {
        pair for pair, (_, _, initiated) in truth.items() if initiated < cutoff.timestamp()
    }
    assert len(records) == 10 and all(r.part_count is None and r.size is None for r in records)
    assert [r.key for r in uploads(pointed, prefix="up/")] == [k for k, _ in pointed.open_uploads(BUCKET)
                                                               if k.startswith("up/")]


def test_uploads_started_with_oss2_through_the_public_bucket(pointed: Emulator) -> None:
    """A real client starts the uploads (osslist.bucket is a plain oss2.Bucket); the API lists them."""
    pointed.create_bucket(BUCKET)
    bucket = osslist.bucket(BUCKET, endpoint=pointed.oss_endpoint, region=REGION)
    started = [bucket.init_multipart_upload(key).upload_id for key in ("b/x", "a/y", "b/x")]
    bucket.upload_part("a/y", started[1], 1, b"12345")
    records = list(uploads(pointed, parts=True))
    assert [(r.key, r.upload_id, r.part_count, r.size) for r in records] == [
        ("a/y", started[1], 1, 5), ("b/x", started[0], 0, 0), ("b/x", started[2], 0, 0)]


@pytest.mark.parametrize("closing", ["close", "drop"])
def test_uploads_abandoned_half_way_leave_no_thread_and_no_connection(
    pointed: Emulator, closing: str, held_clients: list[object]
) -> None:
    start_uploads(pointed, 60, BUCKET)
    before = set(threading.enumerate())
    result = uploads(pointed, parts=True, max_uploads=10)
    iterator = iter(result)
    taken = [next(iterator) for _ in range(15)]
    assert len(taken) == 15 and _client_connections(pointed.oss_endpoint) >= 1, "it was listing"
    pointed.clear_requests()
    if closing == "close":
        result.close()
        assert not result.complete
    else:
        del result, iterator
    assert pointed.requests_for("oss") == [], "nothing more was asked"
    assert _our_new_threads(before) == []
    assert len(held_clients) == 1 and _client_connections(pointed.oss_endpoint) == 0  # closed, though held
    held_clients.clear()  # the metadata connection goes with the credentials provider, when it is freed
    gc.collect()
    assert _client_connections(pointed.metadata_url) == 0


def test_bad_upload_options_raise_usage_error_before_any_request(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    pointed.clear_requests()
    for options in ({"max_uploads": 0}, {"max_uploads": 1001}, {"older_than": "yesterday"}):
        with pytest.raises(osslist.UsageError):
            uploads(pointed, **options)
    with pytest.raises(osslist.UsageError):
        osslist.list_uploads("Bad_Name", endpoint=pointed.oss_endpoint, region=REGION)
    assert pointed.requests == []
    pointed.deny_bucket(BUCKET)
    with pytest.raises(osslist.OssRefused):
        list(uploads(pointed))


# --- errors: osslist's tree, never an exit -------------------------------------------------------


def test_bad_options_raise_usage_error_before_any_request(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    pointed.clear_requests()
    bad: list[Callable[[], object]] = [
        lambda: listing(pointed, bucket="Bad_Name"),
        lambda: listing(pointed, parallel=0),
        lambda: listing(pointed, min_size="ten"),
        lambda: listing(pointed, modified_after="yesterday"),
        lambda: listing(pointed, start_after="b", end_before="a"),
        lambda: osslist.du(BUCKET, endpoint=pointed.oss_endpoint, region=REGION, depth=0),
        lambda: osslist.bucket(BUCKET, endpoint="http://127.0.0.1:0", region=REGION),
    ]
    for call in bad:
        with pytest.raises(osslist.UsageError):
            call()
    assert pointed.requests == []


def test_oss_and_credential_failures_are_osslist_errors(pointed: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    pointed.deny_bucket(BUCKET)
    with pytest.raises(osslist.OssRefused) as refused:
        list(listing(pointed))
    assert refused.value.code == "AccessDenied" and refused.value.status == 403
    assert issubclass(osslist.OssRefused, osslist.OssError) and issubclass(osslist.OssError, osslist.OsslistError)
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    with pytest.raises(osslist.CredentialsError):
        listing(pointed)
    with pytest.raises(osslist.CredentialsError):
        osslist.bucket(BUCKET, endpoint=pointed.oss_endpoint, region=REGION)


def test_a_pod_without_a_role_gets_a_metadata_error_from_its_first_oss2_call(
    make_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bucket() fetches nothing; oss2's first signed request does, and our error comes through."""
    emu = make_emulator(role_name=None)
    monkeypatch.setenv("ALIBABA_CLOUD_IMDS_ENDPOINT", emu.metadata_url)
    oss2_bucket = osslist.bucket(BUCKET, endpoint=emu.oss_endpoint, region=REGION)
    with pytest.raises(osslist.MetadataError, match="no RAM role"):
        oss2_bucket.get_object("x")
    assert emu.requests_for("oss") == []


# --- du ------------------------------------------------------------------------------------------


def test_du_rows_are_the_cli_du_rows(pointed: Emulator) -> None:
    pointed.seed(BUCKET, 1500)
    rows = osslist.du(BUCKET, endpoint=pointed.oss_endpoint, region=REGION, depth=2, by_storage_class=True,
                      parallel=4)
    result = ok(CliRunner().invoke(main, ["du", "--bucket", BUCKET, "--endpoint", pointed.oss_endpoint, "--depth",
                                          "2", "--by-storage-class", "--format", "jsonl", "--no-progress"],
                                   env=clean_env(pointed)))
    cli = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r.prefix, r.scope, r.objects, r.bytes) for r in rows] == [
        (c["prefix"], c["scope"], c["objects"], c["bytes"]) for c in cli
    ]
    assert sum(r.objects for r in rows) == 1500 and all(isinstance(r, osslist.DuRow) for r in rows)


# --- bucket() and credentials_provider() ---------------------------------------------------------


def test_bucket_is_a_plain_oss2_bucket_with_the_pods_role(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    pointed.put_object(BUCKET, "config.json", data=b'{"a": 1}')
    bucket = osslist.bucket(BUCKET, endpoint=pointed.oss_endpoint, region=REGION)
    assert isinstance(bucket, oss2.Bucket)
    assert bucket.get_object("config.json").read() == b'{"a": 1}'
    bucket.put_object("out/report.txt", b"done")
    assert pointed.object_data(BUCKET, "out/report.txt") == b"done"
    signed = [r for r in pointed.requests_for("oss")]
    assert signed and all(r.credentials_valid and "OSS4-HMAC-SHA256" in r.headers.get("authorization", "")
                          for r in signed)
    assert {r.access_key_id for r in signed} <= {c.access_key_id for c in pointed.issued_credentials}


def test_credentials_provider_feeds_a_bucket_the_caller_builds(pointed: Emulator) -> None:
    pointed.create_bucket(BUCKET)
    provider = osslist.credentials_provider("metadata")
    assert isinstance(provider, oss2.credentials.CredentialsProvider)
    bucket = oss2.Bucket(oss2.ProviderAuthV4(provider), pointed.oss_endpoint, BUCKET, region=REGION)
    bucket.put_object("k", b"v")
    assert bucket.get_object("k").read() == b"v"
    first = provider.get_credentials()
    assert first.access_key_id == pointed.issued_credentials[-1].access_key_id
    assert first.access_key_secret not in repr(provider)


def test_bucket_keeps_working_across_a_minute_of_5_second_credentials(make_emulator: Callable[..., Emulator],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's acceptance: a script's own oss2 loop (put, get) over a minute while the
    metadata server rotates 5-second credentials in hardened mode; every request is signed
    with a valid set, and many successive sets are used, each only until it is replaced."""
    emu = make_emulator(metadata_mode="required", credential_lifetime=5.0, rotation_window=2.0)
    monkeypatch.setenv("ALIBABA_CLOUD_IMDS_ENDPOINT", emu.metadata_url)
    emu.create_bucket(BUCKET)
    emu.faults.oss_latency = 0.1
    bucket = osslist.bucket(BUCKET, endpoint=emu.oss_endpoint, region=REGION)
    rounds, deadline = 0, time.monotonic() + 60
    while time.monotonic() < deadline:
        body = f"round {rounds}".encode()
        bucket.put_object(f"loop/{rounds % 10}", body)
        assert bucket.get_object(f"loop/{rounds % 10}").read() == body
        rounds += 1
    oss = emu.requests_for("oss")
    assert len(oss) == 2 * rounds
    assert all(r.status == 200 and r.credentials_valid for r in oss), {r.error_code for r in oss}
    key_ids = [r.access_key_id for r in oss]
    successive = [k for i, k in enumerate(key_ids) if i == 0 or k != key_ids[i - 1]]
    assert len(successive) >= 8, "a minute of 5-second credentials means many successive sets"
    assert len(successive) == len(set(successive)), "a set once replaced is never used again"
    metadata = emu.requests_for("metadata")
    assert all("x-aliyun-ecs-metadata-token" in r.headers for r in metadata if r.method == "GET")


def test_records_expose_restore_transition_time_and_owner_as_typed_optional_fields(pointed: Emulator) -> None:
    from osslist.emulator import Archive
    from osslist.records import Restore

    pointed.create_bucket("arc")
    pointed.put_object("arc", "cold", storage_class="Archive", archive=Archive(False, 1_704_153_600, 1_704_067_200))
    pointed.put_object("arc", "plain")
    cold, plain = list(listing(pointed, "arc"))
    assert cold.restore == Restore(False, datetime(2024, 1, 2, tzinfo=timezone.utc))
    assert cold.transition_time == datetime(2024, 1, 1, tzinfo=timezone.utc) and cold.owner is None
    assert (plain.restore, plain.transition_time, plain.owner, plain.type) == (None, None, None, "Normal")
    owned = list(listing(pointed, "arc", fetch_owner=True, list_api="v2"))
    assert [r.owner for r in owned] == ["1234567890123456"] * 2
    assert [r.key for r in listing(pointed, "arc", restore_states="restored")] == ["cold"]
