"""Unfinished uploads (issue 13 points 3-4): `osslist uploads` (ListMultipartUploads paged with
key-marker + upload-id-marker, --parts from ListParts, --older-than) and du --include-uploads /
--by-version-state, each equal to the emulator's state to the byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from osslist.cli import main
from osslist.emulator import Emulator
from osslist.uploads import iter_upload_pages
from tests.helpers import BUCKET, clean_env, emulator_client, ok, start_uploads
from tests.helpers import UPLOADS_BASE as BASE

NOW = 1_800_000_000


def uploads_cli(emu: Emulator, *args: str) -> list[dict[str, object]]:
    argv = ["uploads", "--bucket", BUCKET, "--endpoint", emu.oss_endpoint, "--format", "jsonl", *args]
    result = ok(CliRunner().invoke(main, argv, env=clean_env(emu)))
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_uploads_with_parts_over_1000_uploads_equal_the_emulator_state(emulator: Emulator) -> None:
    truth = start_uploads(emulator, 1000)
    listed = uploads_cli(emulator, "--parts")
    assert [(r["key"], r["upload_id"]) for r in listed] == emulator.open_uploads(BUCKET)
    assert {(r["key"], r["upload_id"]): (r["part_count"], r["size"]) for r in listed} == {
        pair: (parts, size) for pair, (parts, size, _) in truth.items()
    }


@pytest.mark.parametrize("page", [1, 7, 1000])
def test_upload_pages_follow_both_markers(emulator: Emulator, page: int) -> None:
    start_uploads(emulator, 40)
    client = emulator_client(emulator, BUCKET)
    listed = [(r.key, r.upload_id) for records, _ in iter_upload_pages(client, max_uploads=page) for r in records]
    assert listed == emulator.open_uploads(BUCKET)


def test_older_than_keeps_uploads_initiated_before_the_cutoff(emulator: Emulator) -> None:
    truth = start_uploads(emulator, 30)
    cutoff = BASE + 86400 * 10
    stamp = "2024-01-11T00:00:00Z"
    listed = uploads_cli(emulator, "--older-than", stamp)
    assert {(r["key"], r["upload_id"]) for r in listed} == {p for p, (_, _, t) in truth.items() if t < cutoff}
    assert set(listed[0]) == {"key", "upload_id", "initiated"}


def test_uploads_formats_and_summary(emulator: Emulator) -> None:
    start_uploads(emulator, 5)
    argv = ["uploads", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--parts", "--format", "csv"]
    result = ok(CliRunner().invoke(main, argv, env=clean_env(emulator)))
    assert result.stdout_bytes.split(b"\r\n")[0] == b"Bucket,Key,UploadId,Initiated,PartCount,Size"
    assert "5 unfinished uploads" in result.stderr


@pytest.mark.parametrize("command", [["uploads", "--parts"], ["du", "--include-uploads"]])
def test_the_summary_counts_the_listparts_requests_too(emulator: Emulator, tmp_path: Path, command: list[str]) -> None:
    """Parts come from one ListParts per upload on top of the listings: the summary's request
    count is every request OSS received, as the emulator logged them."""
    start_uploads(emulator, 5)
    emulator.clear_requests()
    path = tmp_path / "summary.json"
    argv = [*command, "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--summary-json", str(path)]
    ok(CliRunner().invoke(main, argv, env=clean_env(emulator)))
    sent = emulator.requests_for("oss")
    assert sum("uploadId" in r.query for r in sent) == 5
    assert json.loads(path.read_text())["requests"] == len(sent)


def test_du_by_version_state_and_uploads_equal_the_emulator_bytes(emulator: Emulator) -> None:
    truth = start_uploads(emulator, 12)
    emulator.set_versioning(BUCKET, "Enabled")
    for i, key in enumerate(["a/1", "a/2", "b/1", "c"]):
        for j in range(3):
            emulator.put_object(BUCKET, key, size=1000 * i + j + 1)
        if i % 2:
            emulator.delete_object(BUCKET, key)
    emulator.seed_versions(BUCKET, "b/heavy", 200, delete_every=5)
    states = {"current": [0, 0], "noncurrent": [0, 0], "delete_markers": [0, 0]}
    for entry in emulator.versions(BUCKET):
        v = entry.version
        name = "delete_markers" if v.delete_marker else "current" if entry.is_latest else "noncurrent"
        states[name][0] += 1
        states[name][1] += v.size
    states["uploads"] = [len(truth), sum(size for _, size, _ in truth.values())]
    argv = ["du", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--by-version-state",
            "--include-uploads", "--format", "jsonl"]
    rows = [json.loads(line) for line in ok(CliRunner().invoke(main, argv, env=clean_env(emulator))).stdout.splitlines()]
    got = {name: [0, 0] for name in states}
    for row in rows:
        for name, pair in row["version_states"].items():
            got[name][0] += pair["count"]
            got[name][1] += pair["bytes"]
    assert got == states
    assert sum(r["bytes"] for r in rows) == states["current"][1] + states["noncurrent"][1] + states["uploads"][1]


@pytest.mark.parametrize(("args", "action"), [
    (["ls", "--all-versions"], "oss:ListObjectVersions"),
    (["du", "--by-version-state"], "oss:ListObjectVersions"),
    (["uploads"], "oss:ListMultipartUploads"),
    (["uploads", "--parts"], "oss:ListParts"),
    (["ls"], "oss:ListObjects"),
])
def test_a_refusal_names_the_ram_action_the_role_lacks(emulator: Emulator, args: list[str], action: str) -> None:
    start_uploads(emulator, 3)
    emulator.faults.deny(BUCKET, "", {action})
    argv = [*args, "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint]
    result = CliRunner().invoke(main, argv, env=clean_env(emulator))
    assert result.exit_code == 4
    assert f"the role needs {action}" in result.stderr and "Traceback" not in result.stderr


def test_output_and_summary_into_oss_probed_before_listing(emulator: Emulator) -> None:
    start_uploads(emulator, 5)
    emulator.create_bucket("reports")
    argv = ["uploads", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--format", "jsonl",
            "--output", "oss://reports/{bucket}/uploads.jsonl.gz", "--summary-json", "oss://reports/{bucket}/s.json"]
    result = ok(CliRunner().invoke(main, argv, env=clean_env(emulator)))
    assert result.stdout == ""
    import gzip

    lines = gzip.decompress(emulator.object_data("reports", f"{BUCKET}/uploads.jsonl.gz")).splitlines()
    assert [(r["key"], r["upload_id"]) for r in map(json.loads, lines)] == emulator.open_uploads(BUCKET)
    assert json.loads(emulator.object_data("reports", f"{BUCKET}/s.json"))["uploads"] == 5
    emulator.faults.deny("reports", "locked/")
    for option in ("--output", "--summary-json"):
        emulator.clear_requests()
        refused = CliRunner().invoke(main, [*argv[:7], option, "oss://reports/locked/x"], env=clean_env(emulator))
        assert refused.exit_code == 4 and "oss://reports/locked/x" in refused.stderr, refused.stderr
        assert not any("uploads" in r.query for r in emulator.requests_for("oss") if r.path == f"/{BUCKET}/")
        assert emulator.open_uploads("reports") == []


def test_local_output_paths_expand_placeholders(emulator: Emulator, tmp_path: Path) -> None:
    start_uploads(emulator, 3)
    argv = ["uploads", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--format", "jsonl",
            "--output", str(tmp_path / "{bucket}.jsonl"), "--summary-json", str(tmp_path / "{bucket}-{date}.json")]
    ok(CliRunner().invoke(main, argv, env=clean_env(emulator)))
    assert len((tmp_path / f"{BUCKET}.jsonl").read_text().splitlines()) == 3
    (summary,) = tmp_path.glob(f"{BUCKET}-20*.json")
    assert json.loads(summary.read_text())["uploads"] == 3
    emulator.clear_requests()
    refused = CliRunner().invoke(main, [*argv[:7], "--output", str(tmp_path / "{shard}.jsonl")], env=clean_env(emulator))
    assert refused.exit_code == 2 and "{shard}" in refused.stderr and emulator.requests_for("oss") == []
