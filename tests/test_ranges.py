"""Key ranges (osslist.ranges, osslist.planning): exact coverage by construction, the fixed shard rule, the
sampling planner, and shards against the emulator while keys are added and deleted."""

from __future__ import annotations

import bisect
import random

import pytest

from osslist.emulator import Emulator
from osslist.listing import ListingSpec, iter_pages, iter_records
from osslist.pages import record_name
from osslist.planning import KeyModel, extrapolate_cuts, folder_lister, piece_cuts, plan_folder_cuts, plan_ranges
from osslist.ranges import KeyRange, clean_cut, range_spec, ranges_from_cuts, shard_cuts, shard_ranges
from tests.test_listing import emulator_client
from tests.test_parallel import flat_keys, hex_keys, tree_keys

TRICKY = ["", "-", ".", "0", "0\x00", "0\x01", "00", "09", "9", "A", "Z", "_", "a", "a/", "a/b", "z", "z~", "~",
          "\x7f", "é", "日本", "😀", "k" * 300, "p/", "p/0", "p/z", "p0"]


def owners(ranges: list[KeyRange], keys: list[str]) -> dict[str, int]:
    """How many of ``ranges`` each key falls in."""
    return {k: sum(r.contains(k) for r in ranges) for k in keys}


def test_split_after_puts_the_cut_below_and_everything_after_it_above() -> None:
    low, high = KeyRange("a", "z").split_after("m")
    assert [low.contains(k) for k in ("m", "m\x00", "m0", "l")] == [True, False, False, True]
    assert [high.contains(k) for k in ("m", "m\x00", "m0", "y")] == [False, True, True, True]


def test_intersection_and_emptiness() -> None:
    assert KeyRange("a", "m").intersect(KeyRange("c", None)) == KeyRange("c", "m")
    assert KeyRange("a", "c").intersect(KeyRange("d", None)) is None
    assert KeyRange("a", "a\x00").is_empty() and not KeyRange("a", "a\x01").is_empty()


def test_json_round_trip_and_validation() -> None:
    r = KeyRange("a\n", None)
    assert KeyRange.from_json(r.to_json()) == r
    with pytest.raises(ValueError):
        KeyRange.from_json(["a", 3])


@pytest.mark.parametrize("seed", range(5))
def test_ranges_from_any_cuts_cover_each_key_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "0a/-zé\x01~"
    keys = sorted({"".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(300)} | set(TRICKY) - {""})
    cuts = rng.sample(keys, 20) + ["".join(rng.choices(alphabet, k=3)) for _ in range(10)]
    for start, end in [("", None), ("0", "z"), ("a/", "a/\x00")]:
        ranges = ranges_from_cuts(cuts, start_after=start, end_before=end)
        whole = KeyRange(start, end)
        assert owners(ranges, keys) == {k: int(whole.contains(k)) for k in keys}
        assert all(a.end_before is not None and a.end_before == b.start_after + "\x00" for a, b in zip(ranges, ranges[1:]))


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
    assert clean_cut("a/b/c", prefix="a/", delimiter="/") == "a/b"
    assert clean_cut("ab/c", prefix="", delimiter="/") == "ab"


def test_key_model_counts_decimal_positions_in_base_10() -> None:
    sample = [f"obj-{i:07d}" for i in range(1000)]
    model = KeyModel(sample)
    assert model.to_key(model.to_number("obj-0000999") + 999) == "obj-0001998"
    cuts = extrapolate_cuts(sample, steps=3, within=KeyRange("obj-0000999", "obj-0002500"), fill=1.0)
    assert cuts == ["obj-0001998", "obj-0002997"][:1] + [c for c in cuts[1:] if c < "obj-0002500"]


def sample_probe(keys: list[str], calls: list[str]):  # type: ignore[no-untyped-def]
    def probe(after: str) -> tuple[list[str], bool]:
        calls.append(after)
        i = bisect.bisect_right(keys, after)
        return keys[i : i + 1000], i + 1000 < len(keys)

    return probe


@pytest.mark.parametrize("keys", [flat_keys(60000), hex_keys(40000)], ids=["flat", "hex"])
def test_plan_is_exact_deterministic_and_balanced(keys: list[str]) -> None:
    spec = ListingSpec()
    calls: list[str] = []
    plan = plan_ranges(None, spec, target=8, probe=sample_probe(keys, calls))
    assert plan == plan_ranges(None, spec, target=8, probe=sample_probe(keys, []))
    assert owners(plan, keys) == {k: 1 for k in keys}
    sizes = [sum(map(r.contains, keys)) for r in plan]
    assert len(plan) >= 6 and max(sizes) < 3 * len(keys) / len(plan)
    assert len(calls) < 80


def test_small_listing_is_one_range() -> None:
    assert plan_ranges(None, ListingSpec(), target=8, probe=sample_probe(flat_keys(10), [])) == [KeyRange()]


# --- against the emulator ------------------------------------------------------------------


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


def test_emulator_plan_with_the_real_listing_covers_everything(emulator: Emulator) -> None:
    emulator.seed("bkt", 5000)
    client = emulator_client(emulator, "bkt")
    spec = ListingSpec(max_keys=1000)
    keys = [record_name(r) for r in iter_records(client, spec)]
    plan = plan_ranges(client, spec, target=4)
    assert len(plan) > 1 and owners(plan, keys) == {k: 1 for k in keys}


def test_piece_cuts_land_on_page_boundaries_of_numbered_keys() -> None:
    """One page of ``obj-NNNNNNN`` predicts the last key of each following page exactly."""
    keys = flat_keys(10_000)
    page = keys[1000:2000]
    cuts = piece_cuts(page, after=page[-1], within=KeyRange(page[-1], None), pages=3, steps=2)
    assert cuts == [keys[4999], keys[7999]]


def test_piece_cuts_leave_no_sliver_before_the_end() -> None:
    keys = flat_keys(10_000)
    page = keys[:1000]
    end = keys[4200]  # 2.2 pieces of 1000 keys after the page: the third would be a sliver
    cuts = piece_cuts(page, after=page[-1], within=KeyRange(page[-1], end), pages=1, steps=5)
    assert cuts == [keys[1999], keys[2999]]


def fake_folders(keys: list[str]) -> tuple[list[str], object]:
    calls: list[str] = []

    def folders(prefix: str) -> list[str]:
        calls.append(prefix)
        found = {k[: k.index("/", len(prefix)) + 1] for k in keys if k.startswith(prefix) and "/" in k[len(prefix):]}
        return sorted(found)

    return calls, folders


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
