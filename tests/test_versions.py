"""--all-versions and --as-of (issue 13 points 1-2): the version source against the emulator,
exact and in order at every page size, with --parallel, shards, and kill -9 + resume; --as-of
against a brute-force reconstruction from the version history."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from osslist.cli import main
from osslist.emulator import Emulator
from osslist.listing import ListingSpec, Position
from osslist.versions import VersionPosition, iter_version_pages
from tests.emulator.keys import TRICKY_KEYS
from tests.helpers import BUCKET, CLI_ARGV, child_env, clean_env, emulator_client, ok

BASE = 1_704_067_200
HEAVY = "m/heavy"  # the key with many versions
Entry = tuple[str, str, bool, bool, int]  # key, version id, is latest, is delete marker, size


def versioned_bucket(emu: Emulator, *, heavy: int, keys: list[str] = TRICKY_KEYS) -> list[Entry]:
    """Keys with 1-3 versions and delete markers interleaved, plus HEAVY with ``heavy`` versions
    (every 9th a delete marker); returns the emulator's state in ListObjectVersions order."""
    emu.create_bucket(BUCKET)
    emu.set_versioning(BUCKET, "Enabled")
    clock = BASE
    for i, key in enumerate(keys):
        for j in range(1 + i % 3):
            clock += 60
            emu.put_object(BUCKET, key, size=100 * i + j, last_modified=clock)
            if (i + j) % 4 == 1:
                clock += 60
                emu.delete_object(BUCKET, key, last_modified=clock)
    emu.seed_versions(BUCKET, HEAVY, heavy, start=BASE, step=30, delete_every=9)
    return state(emu)


def state(emu: Emulator) -> list[Entry]:
    return [(e.key, e.version.version_id, e.is_latest, e.version.delete_marker, e.version.size)
            for e in emu.versions(BUCKET)]


def from_jsonl(text: str) -> list[Entry]:
    rows = [json.loads(line) for line in text.splitlines()]
    return [(r["key"], r["version_id"], r["is_latest"], r["is_delete_marker"], r["size"] or 0) for r in rows]


def cli(emu: Emulator, *args: str) -> str:
    argv = ["ls", "--bucket", BUCKET, "--endpoint", emu.oss_endpoint, "--all-versions", "--format", "jsonl", *args]
    return ok(CliRunner().invoke(main, argv, env=clean_env(emu))).stdout_bytes.decode()


@pytest.fixture(scope="module")
def small() -> tuple[Emulator, list[Entry]]:
    with Emulator() as emu:
        yield emu, versioned_bucket(emu, heavy=60)


@pytest.fixture(scope="module")
def big() -> tuple[Emulator, list[Entry]]:
    with Emulator() as emu:
        yield emu, versioned_bucket(emu, heavy=10_000)


@pytest.mark.parametrize("page", [1, 7, 1000])
def test_pages_of_versions_equal_the_emulator_state(small: tuple[Emulator, list[Entry]], page: int) -> None:
    emu, expected = small
    client = emulator_client(emu, BUCKET)
    got = []
    for listed, position in iter_version_pages(client, ListingSpec(max_keys=page)):
        got += [(r.key, r.version_id, r.is_latest, r.is_delete_marker, r.size) for r in listed.records]
        assert isinstance(position, VersionPosition)
    assert got == expected
    assert client.requests_made >= len(expected) // page


def test_a_range_holds_every_version_of_its_keys_and_no_other(small: tuple[Emulator, list[Entry]]) -> None:
    emu, expected = small
    spec = ListingSpec(start_after="a+b", end_before=HEAVY + "\0", max_keys=7)  # ends just past HEAVY
    got = [(r.key, r.version_id) for page, _ in iter_version_pages(emulator_client(emu, BUCKET), spec)
           for r in page.records]
    assert got == [(e[0], e[1]) for e in expected if "a+b" < e[0] < HEAVY + "\0"]


def test_a_position_inside_one_key_continues_after_that_version(small: tuple[Emulator, list[Entry]]) -> None:
    emu, expected = small
    heavy = [e for e in expected if e[0] == HEAVY]
    at = Position(marker=HEAVY, token=heavy[9][1])
    pages = iter_version_pages(emulator_client(emu, BUCKET), ListingSpec(max_keys=5), position=at)
    first, _ = next(pages)
    assert [r.version_id for r in first.records] == [e[1] for e in heavy[10:15]]
    assert VersionPosition.from_dict({"marker": HEAVY, "token": "x", "done": False, "settled": True}).settled


def test_cli_lists_every_version_once_in_order(big: tuple[Emulator, list[Entry]]) -> None:
    emu, expected = big
    assert from_jsonl(cli(emu)) == expected


def test_cli_with_parallel_8_is_the_same(big: tuple[Emulator, list[Entry]]) -> None:
    emu, expected = big
    assert from_jsonl(cli(emu, "--parallel", "8", "--max-keys", "500")) == expected


def test_a_version_run_needs_only_list_object_versions(small: tuple[Emulator, list[Entry]]) -> None:
    emu, expected = small
    emu.faults.deny(BUCKET, "", {"oss:ListObjects"})
    try:
        assert from_jsonl(cli(emu, "--parallel", "4", "--max-keys", "7")) == expected
    finally:
        emu.faults.denials.clear()


def test_four_shards_union_is_exact_and_no_key_is_split(big: tuple[Emulator, list[Entry]]) -> None:
    emu, expected = big
    shards = [from_jsonl(cli(emu, "--shard-index", str(i), "--shard-count", "4")) for i in range(4)]
    assert all(shards), "every shard gets some keys"
    union = [e for shard in shards for e in shard]  # cells are dealt round-robin: order by key
    assert sorted(union, key=lambda e: e[0].encode()) == expected  # a stable sort: versions keep their order
    owners = {}
    for index, shard in enumerate(shards):
        for entry in shard:
            assert owners.setdefault(entry[0], index) == index, f"{entry[0]!r} split across shards"


def test_kill_9_and_resume_lists_every_version_exactly_once(
    make_emulator: object, tmp_path: Path
) -> None:
    emu = make_emulator()  # type: ignore[operator]
    expected = versioned_bucket(emu, heavy=10_000, keys=TRICKY_KEYS[:6])
    emu.faults.oss_latency = 0.02
    out, ck = tmp_path / "out.jsonl", tmp_path / "ck.json"
    args = ["ls", "--bucket", BUCKET, "--endpoint", emu.oss_endpoint, "--all-versions", "--format", "jsonl",
            "--max-keys", "500", "--output", str(out), "--checkpoint", str(ck), "--no-progress"]
    child = subprocess.Popen([*CLI_ARGV, *args], env=child_env(emu))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if ck.exists() and out.exists() and out.read_bytes().count(b"\n") >= 3000:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    emu.faults.oss_latency = 0
    assert out.read_bytes().count(b"\n") < len(expected), "the run finished before it could be killed"
    ok(CliRunner().invoke(main, args, env=clean_env(emu)))
    assert from_jsonl(out.read_text()) == expected


def as_of_truth(entries: list[Entry], mtimes: dict[str, int], instant: int) -> list[tuple[str, str]]:
    """Brute force: per key, the newest version dated at or before ``instant``; none when
    that is a delete marker."""
    result = []
    for key in dict.fromkeys(e[0] for e in entries):
        versions = [e for e in entries if e[0] == key and mtimes[e[1]] <= instant]
        newest = max(versions, key=lambda e: (mtimes[e[1]], -entries.index(e)), default=None)
        if newest is not None and not newest[3]:
            result.append((key, newest[1]))
    return result


def test_as_of_equals_a_brute_force_reconstruction_at_five_instants(small: tuple[Emulator, list[Entry]]) -> None:
    emu, entries = small
    mtimes = {e.version.version_id: e.version.last_modified for e in emu.versions(BUCKET)}
    stamps = sorted(mtimes.values())
    instants = [stamps[0] - 1, stamps[len(stamps) // 4], stamps[len(stamps) // 2] + 1, stamps[-5], stamps[-1] + 1]
    for instant in instants:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(instant))
        for page in ("7", "1000"):
            got = [(e[0], e[1]) for e in from_jsonl(cli(emu, "--as-of", when, "--max-keys", page))]
            assert got == as_of_truth(entries, mtimes, instant), when
        split = from_jsonl(cli(emu, "--as-of", when, "--max-keys", "7", "--parallel", "4"))
        assert [(e[0], e[1]) for e in split] == as_of_truth(entries, mtimes, instant), when
    assert cli(emu, "--as-of", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamps[0] - 1))) == ""


def test_all_versions_formats(small: tuple[Emulator, list[Entry]]) -> None:
    emu, entries = small
    csv_text = cli(emu, "--format", "csv", "--prefix", HEAVY)
    lines = csv_text.split("\r\n")
    assert lines[0] == ("Bucket,Key,VersionId,IsLatest,IsDeleteMarker,Size,LastModifiedDate,ETag,StorageClass,ObjectType,"
                        "TransitionTime,RestoreState,RestoreExpiry")
    heavy = [e for e in entries if e[0] == HEAVY]
    marker = next(e for e in heavy if e[3])
    row = next(line for line in lines if marker[1] in line).split(",")
    assert row[1:5] == [HEAVY, marker[1], "false", "true"] and row[5] == row[7] == ""
    jsonl = [json.loads(line) for line in cli(emu, "--prefix", HEAVY).splitlines()]
    dm = next(r for r in jsonl if r["is_delete_marker"])
    assert dm["size"] is None and dm["etag"] is None and jsonl[0]["is_latest"] is True
    long = cli(emu, "--format", "long", "--prefix", HEAVY).splitlines()
    assert len(long) == len(heavy) and long[0].split()[-2:] == ["latest" if not heavy[0][3] else "latest", HEAVY]
    assert any(" DEL " in line for line in long)


def test_all_versions_refuses_list_api_v2(emulator: Emulator) -> None:
    emulator.create_bucket(BUCKET)
    argv = ["ls", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--all-versions", "--list-api", "v2"]
    result = CliRunner().invoke(main, argv, env=clean_env(emulator))
    assert result.exit_code == 2 and "--all-versions" in result.stderr and emulator.requests_for("oss") == []


def test_a_plan_serves_all_versions_shards(big: tuple[Emulator, list[Entry]], tmp_path: Path) -> None:
    emu, expected = big
    plan = tmp_path / "plan.json"
    argv = ["plan", "--bucket", BUCKET, "--endpoint", emu.oss_endpoint, "--shard-count", "3", "--output", str(plan)]
    ok(CliRunner().invoke(main, argv, env=clean_env(emu)))
    shards = [from_jsonl(cli(emu, "--shard-plan", str(plan), "--shard-index", str(i))) for i in range(3)]
    union = [e for shard in shards for e in shard]
    assert sorted(union, key=lambda e: e[0].encode()) == expected
    assert len({e[0] for e in union}) == sum(len({e[0] for e in shard}) for shard in shards)  # no key in two
