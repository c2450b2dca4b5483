"""Sharding (osslist.sharding): the fixed shard rule, and shard plans (`osslist plan` writes even
boundaries once, `ls --shard-plan` lists one shard of them).

Unit tests of the plan file and the planner (fake folders and probes, no network), then the real
command line against the emulator: balance on a seeded tree, exactness under churn, every refusal
(exit 2, nothing sent), --dry-run, and the checkpoint fingerprint; then the fixed rule.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import pytest

from click.testing import CliRunner, Result

from osslist.cli import main
from osslist.emulator import Emulator
from osslist.listing import ListingSpec, iter_pages, iter_records
from osslist.pages import record_name
from osslist.ranges import KeyRange, range_spec, ranges_from_cuts
from osslist.errors import UsageError
from osslist.sharding import (
    MAX_SHARD_COUNT,
    WALK_PAGES,
    ShardPlan,
    balanced_cuts,
    folder_lister,
    plan_folder_cuts,
    shard_cuts,
    shard_ranges,
)
from tests.helpers import (
    BUCKET,
    byte_order,
    clean_env,
    emulator_client,
    fake_folders,
    flat_keys,
    hex_keys,
    ok,
    out,
    owners,
    put,
    sample_probe,
    tree_keys,
)


def osslist(emulator, *args: str, command: str = "ls") -> Result:  # type: ignore[no-untyped-def]
    """``osslist <command> --bucket B --endpoint <emulator>`` plus ``args``, nothing ambient."""
    argv = [command, "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, *args]
    return CliRunner().invoke(main, argv, env=clean_env(emulator))


def shard_plan(cuts: list[str], count: int, **fields: object) -> ShardPlan:
    return ShardPlan(bucket=BUCKET, shard_count=count, cuts=tuple(cuts), **fields)  # type: ignore[arg-type]


# --- the plan file ---------------------------------------------------------------------------


def test_plan_file_round_trips() -> None:
    plan = shard_plan(["b", "m/x"], 3, prefix="", end_before="z")
    assert ShardPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": 2}, "version"),
        ({"shard_count": 0}, "shard_count"),
        ({"shard_count": "4"}, "shard_count"),
        ({"cuts": ["m", "b"]}, "increase"),
        ({"cuts": ["b", "b"]}, "increase"),
        ({"cuts": ["zz"]}, "between"),
        ({"cuts": [7]}, "cuts"),
        ({"bucket": None}, "strings"),
    ],
)
def test_plan_file_rejects_what_would_shard_wrongly(change: dict[str, object], reason: str) -> None:
    data = {**shard_plan(["b", "m"], 3, end_before="z").to_json(), **change}
    with pytest.raises(ValueError, match=reason):
        ShardPlan.from_json(data)


@pytest.mark.parametrize("delimiter", ["", "/"])
@pytest.mark.parametrize(("count", "cuts"), [(3, ["a/1", "m/2"]), (2, ["a/1", "a/2", "q"]), (4, [])])
def test_plan_shards_partition_the_key_space(count: int, cuts: list[str], delimiter: str) -> None:
    keys = byte_order({f"{c}/{i}" for c in "amqz" for i in range(5)} | {"a", "m", "", "a/1"} - {""})
    plan = shard_plan(cuts, count)
    shards = [plan.ranges(i, delimiter=delimiter) for i in range(count)]
    assert owners([r for s in shards for r in s], keys) == {k: 1 for k in keys}
    if delimiter:  # no group "x/" straddles two shards
        groups = [{k.split("/")[0] for k in keys if "/" in k and any(r.contains(k) for r in s)} for s in shards]
        assert sum(len(g) for g in groups) == len(set().union(*groups))


def test_plan_with_count_minus_one_cuts_gives_contiguous_shards() -> None:
    plan = shard_plan(["d", "k"], 3)
    assert [plan.ranges(i) for i in range(3)] == [
        [KeyRange("", "d\x00")], [KeyRange("d", "k\x00")], [KeyRange("k", None)]
    ]


# --- the planner -----------------------------------------------------------------------------


def _sizes(cuts: list[str], keys: list[str], count: int) -> list[int]:
    plan = shard_plan(cuts, count)
    return [sum(1 for k in keys if any(r.contains(k) for r in plan.ranges(i))) for i in range(count)]


def test_tree_is_cut_at_leaf_folders_into_even_shards() -> None:
    keys = sorted(f"{area}/{day:02d}/f-{i:04d}" for area in "abcde" for day in range(8) for i in range(300))
    _calls, folders = fake_folders(keys)
    probes: list[str] = []
    cuts, estimates = balanced_cuts(None, _Spec(), count=4, probe=sample_probe(keys, probes), folders=folders)
    assert len(cuts) == 3 and all(c.endswith("/") and c.count("/") == 2 for c in cuts)
    assert _sizes(cuts, keys, 4) == [3000, 3000, 3000, 3000]
    assert estimates == [3000.0] * 4
    assert len(probes) <= WALK_PAGES + 25


@pytest.mark.parametrize("count", [1, 4, 1000, 5000])
def test_a_range_that_ends_within_the_walk_is_cut_exactly(count: int) -> None:
    """Issue 10 item 13: 5,000 keys, --shard-count 1 estimated ~3,000 in 79 requests, and
    1,000 shards got 3 cuts. Now the whole range is read (5 pages) and cut at its keys."""
    keys = sorted(f"{area}/{i:05d}" for area in "ab" for i in range(2500)) if count != 4 else hex_keys(5000)
    probes: list[str] = []
    cuts, estimates = balanced_cuts(None, _Spec(), count=count, probe=sample_probe(keys, probes),
                                    folders=fake_folders(keys)[1])
    assert len(cuts) == count - 1 and len(estimates) == count and cuts == sorted(set(cuts))
    if count <= 4:
        assert _sizes(cuts, keys, count) == [round(e) for e in estimates]
    assert sum(estimates) == len(keys) and max(estimates) - min(estimates) <= 1
    assert len(probes) == 5


def test_a_tree_with_fewer_leaves_than_shards_is_cut_inside_the_leaves() -> None:
    """150 leaf folders of 400 keys and 1,000 shards: every leaf's page is read (O(shards))."""
    keys = sorted(f"{area}/{day:02d}/f-{i:04d}" for area in "abcde" for day in range(30) for i in range(400))
    _calls, folders = fake_folders(keys)
    probes: list[str] = []
    cuts, estimates = balanced_cuts(None, _Spec(), count=1000, probe=sample_probe(keys, probes), folders=folders)
    assert len(cuts) == 999 and cuts == sorted(set(cuts))
    assert sum(estimates) == len(keys) and set(estimates) == {60.0}
    assert len(probes) <= WALK_PAGES + 151


def test_more_shards_than_the_limit_is_refused_before_any_request() -> None:
    probes: list[str] = []
    with pytest.raises(UsageError, match=f"1 to {MAX_SHARD_COUNT:,} shards"):
        balanced_cuts(None, _Spec(), count=MAX_SHARD_COUNT + 1, probe=sample_probe(hex_keys(10), probes))
    assert probes == []


def test_small_leaves_weigh_less_than_big_ones() -> None:
    """Leaves of 10 and of 200 keys: cutting by leaf count alone would give 4x unequal shards."""
    keys = sorted([f"a/{d:02d}/k{i:03d}" for d in range(16) for i in range(10)]
                  + [f"b/{d:02d}/k{i:03d}" for d in range(16) for i in range(200)])
    _calls, folders = fake_folders(keys)
    cuts, _estimates = balanced_cuts(None, _Spec(), count=4, probe=sample_probe(keys, []), folders=folders)
    sizes = _sizes(cuts, keys, 4)
    assert max(sizes) <= 1.25 * len(keys) / 4, sizes


@pytest.mark.parametrize("keys", [flat_keys(40_000), hex_keys(30_000), flat_keys(700)], ids=["flat", "hex", "one-page"])
def test_flat_keys_are_cut_at_sampled_quantiles(keys: list[str]) -> None:
    _calls, folders = fake_folders(keys)
    probes: list[str] = []
    cuts, estimates = balanced_cuts(None, _Spec(), count=4, probe=sample_probe(keys, probes), folders=folders)
    sizes = _sizes(cuts, keys, 4)
    assert len(cuts) == 3 and max(sizes) < 1.3 * len(keys) / 4, sizes
    assert abs(sum(estimates) - len(keys)) < 0.2 * len(keys)
    assert len(probes) < 50


class _Spec:
    """The fields of a ListingSpec the planner reads."""

    prefix = ""
    delimiter = ""
    start_after = ""
    end_before = None


# --- the command line against the emulator -----------------------------------------------------


def make_plan(emulator, tmp_path: Path, *args: str, count: int = 4) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.json"
    result = ok(osslist(emulator, "--shard-count", str(count), "--output", str(path), *args, command="plan"))
    assert "plan: " in result.stderr and "per shard" in result.stderr
    return path


def shard(emulator, plan: Path, index: int, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    listed = out(ok(osslist(emulator, "-0", "--shard-plan", str(plan), "--shard-index", str(index), *args)))
    return listed[:-1].split("\0") if listed else []


def test_planned_shards_are_even_exact_and_in_order_on_a_seeded_tree(emulator, tmp_path: Path) -> None:
    emulator.seed(BUCKET, 12_000)
    sequential = out(ok(osslist(emulator, "--no-progress"))).splitlines()
    emulator.clear_requests()
    plan = make_plan(emulator, tmp_path)
    assert len([r for r in emulator.requests if r.service == "oss"]) < 50  # a few dozen at most
    data = json.loads(plan.read_text())
    assert data["version"] == 1 and data["shard_count"] == 4 and len(data["cuts"]) == 3
    shards = [shard(emulator, plan, i, "--max-keys", "500") for i in range(4)]
    assert [k for s in shards for k in s] == sequential  # contiguous: concatenated in index order
    assert max(map(len, shards)) <= 1.2 * len(sequential) / 4, list(map(len, shards))


def test_a_prefix_of_one_folder_is_still_split_evenly(emulator, tmp_path: Path) -> None:
    """The fixed rule puts all of ``data/`` in one shard (one character after the prefix)."""
    emulator.seed(BUCKET, 24_000)  # 12 days: data/events/ holds 12 leaf folders
    sequential = out(ok(osslist(emulator, "--prefix", "data/"))).splitlines()
    plan = make_plan(emulator, tmp_path, "--prefix", "data/")
    shards = [shard(emulator, plan, i, "--prefix", "data/", "--parallel", "2") for i in range(4)]
    assert [k for s in shards for k in s] == sequential
    assert min(map(len, shards)) >= 0.8 * len(sequential) / 4, list(map(len, shards))


def test_planned_shards_exact_while_keys_come_and_go(emulator, tmp_path: Path) -> None:
    """The plan is made on one bucket; keys are then added and deleted between shard runs (and
    around the cuts themselves): keys present throughout appear once, nothing appears twice."""
    stable = hex_keys(1600)[::2]
    churn = hex_keys(1600)[1::2]
    put(emulator, stable)
    plan = make_plan(emulator, tmp_path)
    cuts = json.loads(plan.read_text())["cuts"]
    near = {c + suffix for c in cuts for suffix in ("", "\x01", "0")} - set(stable)  # at and next to each cut
    churn += sorted(near)
    seen: list[str] = []
    for index in range(4):
        put(emulator, churn[index::4])
        for key in churn[(index + 2) % 4 :: 4]:
            emulator.delete_object(BUCKET, key)
        seen += shard(emulator, plan, index, "--max-keys", "100")
    assert len(seen) == len(set(seen))
    assert set(stable) <= set(seen)


def test_planned_shards_exact_while_keys_change_between_pages(emulator) -> None:
    """Keys are added and deleted after every page of every shard, all four shards in turn,
    with a plan made by the real planner: keys present throughout appear exactly once."""
    stable, churn = hex_keys(2400)[::2], hex_keys(2400)[1::2]
    put(emulator, stable)
    client = emulator_client(emulator, BUCKET)
    cuts, _estimates = balanced_cuts(client, ListingSpec(), count=4)
    plan = shard_plan(cuts, 4)
    seen, step = [], 0
    for index in range(4):
        for key_range in plan.ranges(index):
            for page, _position in iter_pages(client, range_spec(ListingSpec(max_keys=50), key_range)):
                seen += [record_name(r) for r in page.records]
                emulator.put_object(BUCKET, churn[step % len(churn)])
                emulator.delete_object(BUCKET, churn[(step * 7 + 3) % len(churn)])
                step += 1
    assert step > 20 and len(seen) == len(set(seen))
    assert set(stable) <= set(seen)


def test_delimiter_with_a_plan_reports_each_common_prefix_once(emulator, tmp_path: Path) -> None:
    emulator.seed(BUCKET, 6_000)
    whole = out(ok(osslist(emulator, "--delimiter", "/", "--prefix", "data/events/"))).splitlines()
    plan = make_plan(emulator, tmp_path, "--prefix", "data/events/", count=3)
    parts = [shard(emulator, plan, i, "--delimiter", "/", "--prefix", "data/events/") for i in range(3)]
    assert [p for part in parts for p in part] == whole


def test_dry_run_shows_the_shards_ranges_from_the_plan(emulator, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(shard_plan(["g", "p"], 3).to_json()))
    result = ok(osslist(emulator, "--shard-plan", str(plan), "--shard-index", "1", "--dry-run"))
    scale = json.loads(result.stdout)["scale"]
    assert scale["shard_count"] == 3 and scale["shard_ranges"] == [["g", "p\x00"]]
    assert emulator.requests == []


def _refused(emulator, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = osslist(emulator, *args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert emulator.requests == []  # nothing sent, not even for credentials
    return result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "logs/"], "made for --prefix ''"),
        (["--start-after", "a"], "--start-after"),
        (["--end-before", "zz"], "--end-before"),
        (["--shard-count", "3"], "differs from the plan's 4"),
        (["--shard-index", "4"], "0..3"),
    ],
)
def test_a_plan_for_another_listing_is_refused_before_any_request(
    emulator, tmp_path: Path, args: list[str], message: str
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(shard_plan(["g", "m", "t"], 4).to_json()))
    index = [] if "--shard-index" in args else ["--shard-index", "0"]
    assert message in _refused(emulator, "--shard-plan", str(plan), *index, *args)


def test_a_plan_for_another_bucket_is_refused(emulator, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(ShardPlan(bucket="other-bucket", shard_count=2, cuts=("m",)).to_json()))
    assert "--bucket 'other-bucket'" in _refused(emulator, "--shard-plan", str(plan), "--shard-index", "0")


@pytest.mark.parametrize("content", [b"{not json", b'{"version": 1}', b"\xff\xfe", b"[]"])
def test_a_corrupt_plan_is_refused(emulator, tmp_path: Path, content: bytes) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(content)
    assert "not a valid plan" in _refused(emulator, "--shard-plan", str(plan), "--shard-index", "0")


def test_a_missing_plan_or_index_is_refused(emulator, tmp_path: Path) -> None:
    assert "cannot read" in _refused(emulator, "--shard-plan", str(tmp_path / "nope.json"), "--shard-index", "0")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(shard_plan([], 2).to_json()))
    assert "--shard-index" in _refused(emulator, "--shard-plan", str(plan))


def test_plan_output_in_a_missing_directory_is_refused_before_sampling(emulator, tmp_path: Path) -> None:
    result = osslist(emulator, "--shard-count", "2", "--output", str(tmp_path / "no" / "plan.json"), command="plan")
    assert result.exit_code == 2 and "no such directory" in result.stderr
    assert emulator.requests == []


def test_resuming_with_a_different_plan_is_refused(emulator, tmp_path: Path) -> None:
    put(emulator, [f"k{i:03d}" for i in range(60)])
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(shard_plan(["k020", "k040"], 3).to_json()))
    second.write_text(json.dumps(shard_plan(["k025", "k040"], 3).to_json()))
    run = ["--shard-index", "0", "--output", str(tmp_path / "out.txt"), "--checkpoint", str(tmp_path / "cp")]
    ok(osslist(emulator, "--shard-plan", str(first), *run))
    assert (tmp_path / "out.txt").read_text().split() == [f"k{i:03d}" for i in range(21)]
    ok(osslist(emulator, "--shard-plan", str(first), *run))  # same plan: resumes (a no-op)
    result = osslist(emulator, "--shard-plan", str(second), *run)
    assert result.exit_code == 2 and "different arguments" in result.stderr


def test_plan_to_stdout_is_the_plan_file(emulator) -> None:
    put(emulator, [f"k{i:03d}" for i in range(90)])
    result = ok(osslist(emulator, "--shard-count", "3", command="plan"))
    plan = ShardPlan.from_json(json.loads(result.stdout))
    assert plan.cuts == ("k029", "k059") and plan.bucket == BUCKET
    assert "30 / 30 / 30" in result.stderr
    assert bisect.bisect_left(list(plan.cuts), "k059") == 1


TRICKY = ["", "-", ".", "0", "0\x00", "0\x01", "00", "09", "9", "A", "Z", "_", "a", "a/", "a/b", "z", "z~", "~",
          "\x7f", "é", "日本", "😀", "k" * 300, "p/", "p/0", "p/z", "p0"]


# --- the fixed shard rule --------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 4, 7, 100])
def test_shards_partition_the_key_space(count: int) -> None:
    keys = sorted(set(TRICKY + hex_keys(300) + flat_keys(50) + tree_keys()[:100]) - {""})
    shards = [shard_ranges(index=i, count=count) for i in range(count)]
    assert owners([r for s in shards for r in s], keys) == {k: 1 for k in keys}


def test_shards_respect_prefix_and_bounds() -> None:
    keys = sorted(set(TRICKY) - {""})
    whole = KeyRange("p/", "p/z")
    shards = [shard_ranges(index=i, count=3, prefix="p/", start_after="p/", end_before="p/z") for i in range(3)]
    assert owners([r for s in shards for r in s], keys) == {k: int(whole.contains(k)) for k in keys}


def test_shard_rule_spreads_hashed_keys_over_every_shard() -> None:
    keys = hex_keys(4000)
    counts = [sum(1 for k in keys for r in shard_ranges(index=i, count=4) if r.contains(k)) for i in range(4)]
    assert min(counts) > 0.6 * max(counts)


def test_shard_cuts_never_hold_the_delimiter() -> None:
    cuts = shard_cuts(prefix="logs", delimiter="/")
    assert "logs/" not in cuts and "logs0" in cuts


def list_shard(emu: Emulator, bucket: str, spec: ListingSpec, index: int, count: int) -> list[str]:
    client = emulator_client(emu, bucket)
    ranges = shard_ranges(index=index, count=count, prefix=spec.prefix, delimiter=spec.delimiter,
                          start_after=spec.start_after, end_before=spec.end_before)
    return [record_name(r) for k in ranges for page, _ in iter_pages(client, range_spec(spec, k)) for r in page.records]


@pytest.mark.parametrize("shape", ["deep", "flat"])
def test_emulator_four_shards_give_the_sequential_listing(emulator: Emulator, shape: str) -> None:
    if shape == "deep":
        emulator.seed("bkt", 3000)
    else:
        emulator.create_bucket("bkt")
        for key in hex_keys(1500) + flat_keys(500):
            emulator.put_object("bkt", key)
    spec = ListingSpec(max_keys=200)
    sequential = [record_name(r) for r in iter_records(emulator_client(emulator, "bkt"), spec)]
    shards = [list_shard(emulator, "bkt", spec, i, 4) for i in range(4)]
    assert sorted(k for s in shards for k in s) == sequential
    assert all(s == sorted(s) for s in shards)


def test_emulator_shards_exact_while_keys_come_and_go(emulator: Emulator) -> None:
    """Shards run one after another while keys change: keys present throughout, once each."""
    emulator.create_bucket("live")
    stable = hex_keys(1200)[::2]
    churn = hex_keys(1200)[1::2]
    for key in stable:
        emulator.put_object("live", key)
    seen: list[str] = []
    for index in range(4):
        for key in churn[index::4]:
            emulator.put_object("live", key)
        for key in churn[(index + 2) % 4 :: 4]:
            emulator.delete_object("live", key)
        seen += list_shard(emulator, "live", ListingSpec(max_keys=100), index, 4)
    assert len(seen) == len(set(seen))
    assert set(stable) <= set(seen)


def test_emulator_sampled_cuts_with_the_real_listing_cover_everything(emulator: Emulator) -> None:
    emulator.seed("bkt", 5000)
    client = emulator_client(emulator, "bkt")
    spec = ListingSpec(max_keys=1000)
    keys = [record_name(r) for r in iter_records(client, spec)]
    cuts, _estimates = balanced_cuts(client, spec, count=4, folders=lambda prefix: [])
    shards = ranges_from_cuts(cuts)
    assert len(shards) > 1 and owners(shards, keys) == {k: 1 for k in keys}


def test_folder_plan_expands_levels_until_enough_folders() -> None:
    keys = sorted(f"t{a}/d{b:02d}/f{c}" for a in range(3) for b in range(20) for c in range(3))
    calls, folders = fake_folders(keys)
    cuts = plan_folder_cuts(folders, prefix="", target=16)  # type: ignore[arg-type]
    assert cuts == sorted(f"t{a}/d{b:02d}/" for a in range(3) for b in range(20))
    assert calls[0] == "" and sorted(calls[1:]) == ["t0/", "t1/", "t2/"]
    ranges = ranges_from_cuts(cuts)
    assert all(v == 1 for v in owners(ranges, keys).values())


def test_folder_plan_of_flat_keys_is_no_cut() -> None:
    calls, folders = fake_folders(flat_keys(50))
    assert plan_folder_cuts(folders, prefix="", target=16) == []  # type: ignore[arg-type]
    assert calls == [""]


def test_emulator_folder_plan_cuts_before_each_folder(emulator: Emulator) -> None:
    emulator.seed("tree", 20_000)  # 5 areas x 10 days: 50 leaf folders, 3 levels deep
    client = emulator_client(emulator, "tree")
    spec = ListingSpec()
    cuts = plan_folder_cuts(folder_lister(client, spec), prefix="", target=20)
    assert client.requests_made == 1 + 5 + 5  # one request per folder expanded, not per leaf
    keys = [record_name(r) for r in iter_records(client, spec)]
    assert len(cuts) == 50 and all(c.count("/") == 3 for c in cuts)
    assert all(v == 1 for v in owners(ranges_from_cuts(cuts), keys).values())
    assert all(bisect.bisect_left(keys, c) < len(keys) and keys[bisect.bisect_left(keys, c)].startswith(c)
               for c in cuts)  # folders are never empty


# --- plan estimates and bounds through the command line (issue 10 items 8 and 13) --------------


def _plan_line(emulator, tmp_path: Path, count: int, *args: str) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    emulator.clear_requests()
    path = tmp_path / f"plan-{count}.json"
    result = ok(osslist(emulator, "--shard-count", str(count), "--output", str(path), *args, command="plan"))
    return json.loads(path.read_text())["cuts"], result.stderr


def _estimates(line: str) -> list[int]:
    per_shard = line.split("per shard: ", 1)[1].split(";", 1)[0].removeprefix("smallest / median / largest: ")
    return [int(part.replace(",", "")) for part in per_shard.split(" / ")]


def _real_counts(keys: list[str], cuts: list[str]) -> list[int]:
    encoded = [k.encode() for k in keys]
    bounds = [0, *(bisect.bisect_right(encoded, c.encode()) for c in cuts), len(keys)]
    return [hi - lo for lo, hi in zip(bounds, bounds[1:])]


@pytest.mark.parametrize(("objects", "count"), [(5_000, 1), (5_000, 4), (24_000, 1), (24_000, 7), (24_000, 16)])
def test_plan_estimates_are_within_20_percent_on_seeded_buckets(emulator, tmp_path: Path, objects: int,
                                                                 count: int) -> None:
    """`--shard-count 1` on 5,000 objects estimated ~3,000 keys from 79 requests."""
    emulator.seed(BUCKET, objects)
    keys = byte_order(out(ok(osslist(emulator, "--no-progress"))).splitlines())
    cuts, line = _plan_line(emulator, tmp_path, count)
    assert len(cuts) == count - 1
    for estimate, real in zip(_estimates(line), _real_counts(keys, cuts), strict=True):
        assert abs(estimate - real) <= 0.2 * real, line
    assert len(emulator.requests_for("oss")) <= (5 if objects == 5_000 else 40 + 5 * count)  # O(pages + shards)


def test_a_thousand_shard_plan_has_999_cuts_and_one_line(emulator, tmp_path: Path) -> None:
    """1,000 shards on 5,000 objects gave 3 cuts and printed 4 estimates."""
    emulator.seed(BUCKET, 5_000)
    keys = byte_order(out(ok(osslist(emulator, "--no-progress"))).splitlines())
    cuts, line = _plan_line(emulator, tmp_path, 1000)
    assert len(cuts) == 999 and set(_real_counts(keys, cuts)) == {5}
    assert len(line.splitlines()) == 1 and "1000 shards, 999 cuts, about 5,000 keys" in line
    assert _estimates(line) == [5, 5, 5]


def test_a_shard_count_past_the_limit_is_refused_naming_it(emulator, tmp_path: Path) -> None:
    """`plan --shard-count 100000` on 5,000 objects grew past 4.4 GB before it was bounded."""
    emulator.seed(BUCKET, 5_000)
    result = osslist(emulator, "--shard-count", "100000", "--output", str(tmp_path / "p.json"), command="plan")
    assert result.exit_code == 2 and "1<=x<=10000" in result.stderr and len(result.stderr.splitlines()) == 1
    assert emulator.requests == [] and not (tmp_path / "p.json").exists()


def test_the_largest_plan_costs_requests_by_pages_not_by_shards(emulator, tmp_path: Path) -> None:
    emulator.seed(BUCKET, 5_000)
    cuts, line = _plan_line(emulator, tmp_path, MAX_SHARD_COUNT)
    assert len(cuts) == 4_999  # one key per shard; the shards past them list nothing
    assert len(emulator.requests_for("oss")) == 5 and "estimated from 5 requests" in line
