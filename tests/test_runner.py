"""The run loop (osslist.runner, osslist.feed): source -> events -> sink -> hooks.

Unit tests drive the loop with the two real sources over an in-memory bucket (so a sequential
and a parallel run can be compared event by event) and a real writer; then prepared runs against
the emulator.
"""

from __future__ import annotations

import io
from typing import Any, Iterator

import pytest

from osslist import feed, runner
from osslist import job as jobs
from osslist.errors import Interrupted
from osslist.filters import keep_all
from osslist.listing import Position
from osslist.output import make_writer
from osslist.pages import ObjectRecord, PrefixRecord, Record
from osslist.ranges import KeyRange, ranges_from_cuts
from osslist.summary import Summary
from tests.helpers import RangeBucket, flat_keys


def _record(i: int) -> ObjectRecord:
    return ObjectRecord(f"k{i:03d}", i, "2024-06-22T13:13:58.000Z", "e", "IA" if i % 2 else "Standard", "Normal")


def _pack(writer: Any, *, predicate: Any = keep_all, keep_records: bool = False) -> feed.Pack[bytes]:
    return feed.packer(writer.render, predicate, keep_records=keep_records)


def _source(kind: str, bucket: RangeBucket, todo: list[feed.Pending], pack: Any) -> feed.Source[Any]:
    if kind == "sequential":
        return feed.sequential(bucket.list_range, todo, pack)
    return feed.parallel(bucket.list_range, todo, pack, workers=4, prefix="", delimiter="", pages_ahead=4)


def drain(commits: runner.Steps) -> None:
    """The run loop to its end, as the runs take :func:`runner.steps`."""
    for _commit in commits:
        pass


def _run(kind: str, keys: list[str], *, fmt: str = "jsonl", limit: int | None = None,
         hooks: list[runner.Hook] = ()) -> tuple[bytes, Summary]:
    stream, summary = io.BytesIO(), Summary()
    writer = make_writer(fmt, stream)
    bucket = RangeBucket(keys, max_keys=7)
    source = _source(kind, bucket, [(KeyRange(), None)], _pack(writer, keep_records=limit is not None))
    drain(runner.steps(source, runner.Sink(writer, summary, limit=limit), hooks))
    writer.close()
    return stream.getvalue(), summary


# --- the loop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sequential", "parallel"])
def test_both_sources_write_the_same_bytes_and_totals(kind: str) -> None:
    keys = flat_keys(100)
    data, summary = _run(kind, keys)
    expected, _ = _run("sequential", keys)
    assert data == expected and data.count(b"\n") == 100
    assert summary.objects == 100


@pytest.mark.parametrize("kind", ["sequential", "parallel"])
@pytest.mark.parametrize("limit", [1, 7, 23, 100, 150])
def test_limit_cuts_the_rendered_bytes_at_a_record_boundary(kind: str, limit: int) -> None:
    keys = flat_keys(100)
    whole, _ = _run("sequential", keys, fmt="csv")
    data, summary = _run(kind, keys, fmt="csv", limit=limit)
    lines = whole.split(b"\r\n")
    assert data == b"\r\n".join(lines[: 1 + min(limit, 100)]) + b"\r\n"  # the header, then whole rows
    assert summary.objects == min(limit, 100)


def test_hooks_run_after_each_page_in_order_and_learn_the_count() -> None:
    seen: list[tuple[str, int, bool]] = []
    hooks = [lambda c: seen.append(("first", c.written, c.complete)),
             lambda c: seen.append(("second", c.written, c.complete))]
    _run("sequential", flat_keys(20), limit=10, hooks=hooks)
    assert seen == [("first", 7, False), ("second", 7, False), ("first", 3, True), ("second", 3, True)]


def test_the_loop_closes_the_source_when_the_limit_is_reached() -> None:
    closed: list[bool] = []

    def source() -> Iterator[feed.PageEvent[bytes]]:
        writer = make_writer("text", io.BytesIO())
        pack = _pack(writer, keep_records=True)
        try:
            for i in range(5):
                yield feed.PageEvent(pack([_record(i)]), Position(f"k{i:03d}"), list)
        finally:
            closed.append(True)

    sink = runner.Sink(make_writer("text", io.BytesIO()), Summary(), limit=2)
    drain(runner.steps(source(), sink))  # type: ignore[arg-type]
    assert sink.full and closed == [True]


def test_filters_run_in_the_source_and_the_sink_writes_what_they_kept() -> None:
    stream, summary = io.BytesIO(), Summary()
    writer = make_writer("text", stream)
    records: list[Record] = [_record(i) for i in range(6)] + [PrefixRecord("d/")]
    pack = _pack(writer, predicate=lambda r: not isinstance(r, ObjectRecord) or r.size % 3 == 0)
    source = (event for event in [feed.PageEvent(pack(records), Position(done=True), list)])
    drain(runner.steps(source, runner.Sink(writer, summary)))  # type: ignore[arg-type]
    writer.close()
    assert stream.getvalue() == b"k000\nk003\nd/\n"
    assert (summary.objects, summary.prefixes, summary.bytes) == (2, 1, 3)


def test_no_filter_means_no_call_per_record() -> None:
    records: list[Record] = [_record(1)]
    assert feed.select(records, keep_all) is records


# --- what a checkpoint saves -----------------------------------------------------------------


def test_sequential_source_says_what_remains_after_each_page() -> None:
    keys = flat_keys(20)
    ranges = [KeyRange("", keys[9] + "\x00"), KeyRange(keys[10], None)]  # not touching: two listings
    bucket = RangeBucket(keys, max_keys=6)
    left = [event.remaining() for event in feed.sequential(bucket.list_range, [(r, None) for r in ranges], list)]
    assert [[(r, p.marker if p else None) for r, p in step] for step in left] == [
        [(ranges[0], keys[5]), (ranges[1], None)],
        [(ranges[1], None)],  # the first range is done after its second page
        [(ranges[1], keys[16])],
        [],
    ]


def test_sequential_source_runs_through_touching_fresh_ranges_in_one_listing() -> None:
    keys = flat_keys(30)
    ranges = ranges_from_cuts([keys[4], keys[14], keys[24]])
    bucket = RangeBucket(keys, max_keys=10)
    pages = list(feed.sequential(bucket.list_range, [(r, None) for r in ranges], list))
    assert [k for event in pages for k in (r.key for r in event.page)] == keys  # type: ignore[attr-defined]
    assert bucket.requests == 3  # not one listing (and one partial page) per range


# --- SIGTERM ---------------------------------------------------------------------------------


class _Flag:
    def __init__(self, set_: bool) -> None:
        self._set = set_

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True


@pytest.mark.parametrize("saved", [True, False])
def test_the_stopper_ends_the_run_after_the_committed_page(saved: bool) -> None:
    stopper = runner.Stopper(_Flag(True), saved=saved)  # type: ignore[arg-type]
    with pytest.raises(Interrupted) as stopped:
        stopper(runner.Commit(5, False, list))
    assert ("checkpoint" in str(stopped.value)) is saved  # no checkpoint, no word of one


def test_the_stopper_leaves_a_complete_run_alone() -> None:
    runner.Stopper(_Flag(True), saved=False)(runner.Commit(5, True, list))  # type: ignore[arg-type]
    runner.Stopper(_Flag(False), saved=False)(runner.Commit(5, False, list))  # type: ignore[arg-type]


def test_sigterm_while_waiting_for_a_page_abandons_the_wait() -> None:
    """The signal lands while the source is busy getting the next page: that page is never
    written, the loop does not wait for it, and the pages before it stay written."""
    import os
    import signal

    stream, flag = io.BytesIO(), _Flag(False)
    writer = make_writer("text", stream)
    pack = _pack(writer)
    fetched: list[int] = []

    def source() -> Iterator[feed.PageEvent[bytes]]:
        for i in range(3):
            if i == 2:
                os.kill(os.getpid(), signal.SIGTERM)  # arrives "during the request" for page 2
                fetched.append(i)  # never reached: the wait was abandoned
            yield feed.PageEvent(pack([_record(i)]), Position(f"k{i:03d}"), list)

    stopper = runner.Stopper(flag, saved=False)  # type: ignore[arg-type]
    with pytest.raises(Interrupted), stopper.watching():
        drain(runner.steps(source(), runner.Sink(writer, Summary()), [stopper], waiting=stopper.waiting))  # type: ignore[arg-type]
    assert stream.getvalue() == b"k000\nk001\n" and fetched == [] and flag.is_set()
    assert signal.getsignal(signal.SIGTERM) is not stopper._handle  # handed back


# --- prepared runs against the emulator ----------------------------------------------------------


def _emulator_job(emulator, **selection) -> jobs.PreparedRun:  # type: ignore[no-untyped-def]
    conn = jobs.Connection(bucket="job-bucket", endpoint=emulator.oss_endpoint, region="cn-hangzhou",
                           credentials="metadata", metadata_endpoint=emulator.metadata_url)
    return jobs.prepare(jobs.ListJob(connection=conn, selection=jobs.Selection(**selection)), environ={})


def test_limit_stops_requesting_pages(emulator) -> None:  # type: ignore[no-untyped-def]
    emulator.create_bucket("job-bucket")
    for i in range(100):
        emulator.put_object("job-bucket", f"k{i:03d}")
    stream = io.StringIO()
    pages: list[int] = []
    summary = runner.run(_emulator_job(emulator, max_keys=10, limit=15), stream=stream, on_page=pages.append)
    assert stream.getvalue().split() == [f"k{i:03d}" for i in range(15)]
    assert pages == [10, 5]
    assert summary.objects == 15
    assert len(emulator.requests_for("oss")) == 2


def test_run_counts_requests_and_bytes(emulator) -> None:  # type: ignore[no-untyped-def]
    emulator.create_bucket("job-bucket")
    for i in range(25):
        emulator.put_object("job-bucket", f"k{i:03d}", size=i)
    summary = runner.run(_emulator_job(emulator, max_keys=10), stream=io.StringIO())
    assert summary.objects == 25 and summary.bytes == sum(range(25))
    assert summary.requests == len(emulator.requests_for("oss")) == 3
