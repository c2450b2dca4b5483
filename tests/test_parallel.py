"""Parallel ordered listing (osslist.parallel) over an in-memory fake of OSS's ListObjects.

The fake follows OSS's v1 rules (byte order, strictly after the marker, common prefixes
counted once and never at or before the marker, NextMarker = last item), and the pages it
hands out are counted, so buffering can be measured independently of the lister."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from osslist.emulator import Emulator
from osslist.errors import ListingError
from osslist.listing import ListingSpec, Position, iter_pages, iter_records
from osslist.pages import Page, record_name
from osslist.parallel import ParallelLister
from osslist.ranges import KeyRange, range_spec, ranges_from_cuts
from tests.helpers import RangeBucket, emulator_client, flat_keys, hex_keys, tree_keys


def sequential(bucket: RangeBucket) -> list[str]:
    return [record_name(r) for page, _ in bucket.list_range(KeyRange(), None) for r in page.records]


def run(bucket: RangeBucket, ranges: list[KeyRange], **kw: Any) -> list[str]:
    events = ParallelLister(bucket.list_range, ranges, **kw)
    return [record_name(r) for e in events for r in e.page.records]


@pytest.mark.parametrize("keys", [flat_keys(1500), tree_keys(), hex_keys(1200)], ids=["flat", "tree", "hex"])
@pytest.mark.parametrize("workers", [1, 4, 8])
def test_parallel_output_is_the_sequential_listing(keys: list[str], workers: int) -> None:
    bucket = RangeBucket(keys=keys, max_keys=50)
    assert run(bucket, [KeyRange()], workers=workers) == sequential(bucket) == keys


def test_ranges_are_split_while_running_and_stay_exact() -> None:
    bucket = RangeBucket(keys=flat_keys(3000), max_keys=20)
    lister = ParallelLister(bucket.list_range, [KeyRange()], workers=6)
    got = [record_name(r) for e in lister for r in e.page.records]
    assert got == bucket.keys
    assert lister.splits > 10


def test_split_off_ranges_are_not_relisted_wholesale() -> None:
    """A guessed cut lands about one page ahead: splitting wastes few requests."""
    bucket = RangeBucket(keys=flat_keys(4000), max_keys=40)
    assert run(bucket, [KeyRange()], workers=8) == bucket.keys
    assert bucket.requests < 2 * (4000 // 40)


def test_given_ranges_in_order_without_splitting() -> None:
    keys = tree_keys()
    bucket = RangeBucket(keys=keys, max_keys=25)
    ranges = [KeyRange("", "d02\x00"), KeyRange("d02", "d04/s03\x00"), KeyRange("d04/s03", None)]
    assert run(bucket, ranges, workers=3, split=False) == keys


def test_memory_bound_holds_while_the_first_range_is_slow() -> None:
    """Range 0 is slow, the rest are fast: later ranges may not run ahead without bound."""
    keys = flat_keys(2000)
    cuts = [keys[i] for i in range(100, 2000, 100)]
    ranges = [KeyRange("", cuts[0] + "\x00")] + [
        KeyRange(a, b + "\x00") for a, b in zip(cuts, cuts[1:])
    ] + [KeyRange(cuts[-1], None)]
    bucket = RangeBucket(keys=keys, max_keys=10, delay={"": 0.01})
    workers, ahead, per = 4, 3, 2
    lister = ParallelLister(
        bucket.list_range, ranges, workers=workers, max_pages_ahead=per, max_ranges_ahead=ahead, split=False
    )
    consumed, peak, got = 0, 0, []
    for event in lister:
        consumed += 1
        peak = max(peak, bucket.produced - consumed)
        got += [record_name(r) for r in event.page.records]
    assert got == keys
    assert peak <= ahead * per + workers


def test_worker_error_reaches_the_consumer_and_stops_everyone() -> None:
    bucket = RangeBucket(keys=flat_keys(500), max_keys=10, fail_after=7)
    lister = ParallelLister(bucket.list_range, [KeyRange()], workers=4)
    with pytest.raises(ListingError):
        for _ in lister:
            pass
    lister.close()  # the iterator stopped them without waiting; close() waits
    assert not any(t.is_alive() for t in lister._threads)


def test_closing_early_stops_the_workers() -> None:
    bucket = RangeBucket(keys=flat_keys(5000), max_keys=10)
    lister = ParallelLister(bucket.list_range, [KeyRange()], workers=4)
    for _ in lister:
        break
    lister.close()
    assert not any(t.is_alive() for t in lister._threads)
    assert bucket.requests < 50


def test_remaining_resumes_exactly_from_any_page() -> None:
    """Stop after each k pages, resume from remaining(): every key once, in order."""
    keys = hex_keys(600)
    bucket = RangeBucket(keys=keys, max_keys=20)
    for stop_after in (1, 3, 7, 15, 29):
        lister = ParallelLister(bucket.list_range, [KeyRange()], workers=4)
        first: list[str] = []
        for n, event in enumerate(lister, 1):
            first += [record_name(r) for r in event.page.records]
            if n == stop_after:
                left = lister.remaining()
                break
        ranges, positions = [r for r, _ in left], [p for _, p in left]
        rest = run(bucket, ranges, workers=3, positions=positions)
        assert first + rest == keys, stop_after


def test_keys_added_and_deleted_during_the_run() -> None:
    """Keys present throughout appear exactly once; the output stays in key order."""
    stable = flat_keys(1200)[::2]
    churn = flat_keys(1200)[1::2]
    bucket = RangeBucket(keys=sorted(stable + churn[::2]), max_keys=15)
    flips = iter(range(10**6))

    def mutate() -> None:
        n = next(flips)
        with bucket.lock:
            live = set(bucket.keys)
            key = churn[(n * 7) % len(churn)]
            live.symmetric_difference_update({key})
            bucket.keys = sorted(live)

    bucket.on_page = mutate
    got = run(bucket, [KeyRange()], workers=5)
    assert got == sorted(got) and len(got) == len(set(got))
    assert [k for k in got if k in set(stable)] == stable


def test_delimiter_listing_reports_each_common_prefix_once() -> None:
    keys = sorted([f"top{i:04d}" for i in range(300)] + [f"dir{i:02d}/x{j:03d}" for i in range(30) for j in range(40)])
    bucket = RangeBucket(keys=keys, delimiter="/", max_keys=10)
    expected = sequential(bucket)
    assert len(expected) == 330
    lister = ParallelLister(bucket.list_range, [KeyRange()], workers=6, delimiter="/")
    got = [record_name(r) for e in lister for r in e.page.records]
    assert got == expected


def folder_keys(folders: int, per: int) -> list[str]:
    return sorted(f"f{a:03d}/k{b:04d}" for a in range(folders) for b in range(per))


def test_small_folder_ranges_are_listed_as_chains_not_one_request_each() -> None:
    """60 folders of 6 keys, 10-key pages: a listing runs on into fresh neighbours."""
    keys = folder_keys(60, 6)
    bucket = RangeBucket(keys=keys, max_keys=10)
    ranges = ranges_from_cuts([f"f{a:03d}/" for a in range(1, 60)])
    assert run(bucket, ranges, workers=4, max_pages_ahead=3) == keys
    assert len(ranges) == 60 and bucket.requests < 50  # 36 sequential; one per folder would be 60


def test_a_piece_ending_on_a_page_boundary_costs_no_extra_request() -> None:
    keys = flat_keys(1000)
    bucket = RangeBucket(keys=keys, max_keys=100)
    ranges = [KeyRange("", keys[299] + "\x00"), KeyRange(keys[299], None)]
    assert run(bucket, ranges, workers=2, split=False) == keys
    assert bucket.requests == 3 + 7  # the first range stops at its last key, no request past it


def test_parked_slots_resume_exactly_within_the_page_budget() -> None:
    """A slow head: full slots are parked and resumed later from their position, exactly,
    and the pages buffered never exceed max_ranges_ahead x max_pages_ahead."""
    keys = flat_keys(2000)
    cuts = [keys[i] for i in range(199, 2000, 200)]
    bucket = RangeBucket(keys=keys, max_keys=20, delay={"": 0.02})
    lister = ParallelLister(bucket.list_range, ranges_from_cuts(cuts), workers=4, max_pages_ahead=2,
                            max_ranges_ahead=3, split=False)
    got = [record_name(r) for e in lister for r in e.page.records]
    assert got == keys
    assert lister.peak_buffered <= 3 * 2


# --- against the emulator, with the real listing and bucket client ----------------------------


def emulator_lister(emu: Emulator, bucket: str, spec: ListingSpec, *, workers: int) -> ParallelLister:
    client = emulator_client(emu, bucket)
    return ParallelLister(
        lambda r, p, b: iter_pages(client, range_spec(spec, r), position=p, bound=b),
        [KeyRange(spec.start_after, spec.end_before)],
        workers=workers,
        prefix=spec.prefix,
        delimiter=spec.delimiter,
    )


def names(lister: ParallelLister) -> list[str]:
    return [record_name(r) for e in lister for r in e.page.records]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_emulator_parallel_4_equals_sequential_on_a_deep_tree(emulator: Emulator, api: str) -> None:
    emulator.seed("deep", 6000)
    spec = ListingSpec(list_api=api, max_keys=100)
    sequential_keys = [record_name(r) for r in iter_records(emulator_client(emulator, "deep"), spec)]
    lister = emulator_lister(emulator, "deep", spec, workers=4)
    assert names(lister) == sequential_keys
    assert len(sequential_keys) == 6000 and lister.splits > 0


def test_emulator_parallel_4_on_flat_keys_with_a_prefix_and_bounds(emulator: Emulator) -> None:
    emulator.create_bucket("flat")
    for i in range(2500):
        emulator.put_object("flat", f"img{i:05d}.jpg")
        emulator.put_object("flat", f"zz{i:04d}")
    spec = ListingSpec(prefix="img", start_after="img00042.jpg", end_before="img02400", max_keys=50)
    expected = [f"img{i:05d}.jpg" for i in range(43, 2400)]
    assert names(emulator_lister(emulator, "flat", spec, workers=4)) == expected


def test_emulator_parallel_with_a_delimiter(emulator: Emulator) -> None:
    emulator.seed("tree", 3000)
    spec = ListingSpec(prefix="", delimiter="/", max_keys=7)
    sequential_keys = [record_name(r) for r in iter_records(emulator_client(emulator, "tree"), spec)]
    assert names(emulator_lister(emulator, "tree", spec, workers=4)) == sequential_keys


def test_emulator_keys_added_and_deleted_while_listing(emulator: Emulator) -> None:
    emulator.create_bucket("live")
    stable = [f"s{i:05d}" for i in range(0, 4000, 2)]
    churn = [f"s{i:05d}" for i in range(1, 4000, 2)]
    for key in stable + churn[::2]:
        emulator.put_object("live", key)
    lister = emulator_lister(emulator, "live", ListingSpec(max_keys=50), workers=4)
    got: list[str] = []
    for n, event in enumerate(lister):
        got += [record_name(r) for r in event.page.records]
        for key in churn[n * 13 % len(churn) :][:5]:
            if not emulator.delete_object("live", key):
                emulator.put_object("live", key)
    assert got == sorted(got) and len(got) == len(set(got))
    stable_set = set(stable)
    assert [k for k in got if k in stable_set] == stable


@pytest.mark.parametrize("keys", [flat_keys(1500), tree_keys()], ids=["flat", "tree"])
def test_each_page_is_cut_once_by_the_listing_and_packed_once(keys: list[str]) -> None:
    """The slot's end is cut in one place: the listing asks the lister for it (``bound``) for
    each page, so a page reaching past its slot arrives cut and is packed once, never again."""
    bucket = RangeBucket(keys, max_keys=37)
    packed_calls: list[int] = []

    def pack(records: list[Any]) -> tuple[str, ...]:
        packed_calls.append(len(records))
        return tuple(record_name(r) for r in records)

    def live_end_only(key_range: KeyRange, position: Position | None, bound: Any) -> Iterator[tuple[Page, Position]]:
        return bucket.list_range(KeyRange(key_range.start_after), position, bound)  # no static end: the bound's

    ranges = ranges_from_cuts([keys[len(keys) // 3], keys[2 * len(keys) // 3]])
    resumed = [Position(r.start_after) for r in ranges]  # resumed slots are never absorbed: each is cut
    lister = ParallelLister(live_end_only, ranges, positions=resumed, workers=4, split=False, pack=pack)
    events = list(lister)
    assert all(type(e.page) is tuple for e in events)
    assert [k for e in events for k in e.page] == keys
    assert len(packed_calls) == len(events)  # no page packed twice
