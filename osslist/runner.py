"""Running a prepared plan: pages -> filter -> limit -> writer -> summary.

``list_range`` lists one range sequentially into a ``Sink`` and the parallel lister feeds the
same Sink in key order, and ``Sink.commit`` is the one place a finished page is acknowledged;
with --checkpoint the resumable loop then makes the output durable and saves the state
(``run_resumable``). ``run`` writes records, ``run_du`` sums them per prefix; both go through
``execute``. Which ranges a run lists was decided before (``PreparedRun.ranges``). Nothing here imports
click or writes to the terminal.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import IO, Any, Callable, Iterable

from osslist import checkpoint
from osslist.du import DuTotals
from osslist.job import PreparedRun, keep_all
from osslist.listing import iter_pages
from osslist.output import make_writer
from osslist.parallel import ParallelLister
from osslist.ranges import KeyRange, range_spec
from osslist.sharding import spread_ranges
from osslist.summary import Summary

RECORD_PAGES_AHEAD = 8
"""Pages a parallel slot may buffer as records (~0.45 MB a page of 1000)."""
PACKED_PAGES_AHEAD = 16
"""... and as rendered bytes (~45 KB as text, ~200 KB as jsonl): twice the run-ahead for a
fraction of the memory. Measured at 50 ms, 1M objects, --parallel 8: 8 -> 16 pages took the
run from ~11.7 s to ~10.2 s, peak RSS unchanged (~77 MB); 24 gave nothing more."""

OnPage = Callable[[int], None]
"""Progress callback: called once per page with the number of records that page wrote."""


def select(records: Iterable[Any], predicate: Callable[[Any], bool]) -> list[Any]:
    """The records ``predicate`` keeps; without filters (the common case) no call per record,
    which is a tenth of the client's CPU per key."""
    if predicate is keep_all:
        return list(records)
    return [record for record in records if predicate(record)]


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page as a parallel worker leaves it for the consumer: the output bytes of the records
    that passed the filter, how many there were, and their totals. A buffered page of text
    output takes ~45 bytes a key this way, against ~450 as records, so more pages can be
    listed ahead within the same memory."""

    data: bytes
    count: int
    totals: Summary


class Sink:
    """Where listed pages go: filter, limit, write, count, then commit.

    ``commit`` is called once per page after its records are written; it is the single place
    where a finished page is acknowledged (progress; the resumable loop saves right after)."""

    def __init__(
        self,
        *,
        writer: Any,
        summary: Any,
        predicate: Callable[[Any], bool],
        limit: int | None = None,
        on_page: OnPage | None = None,
        stop: Any = None,
    ) -> None:
        self._stop = stop  # a checkpoint.StopFlag: SIGTERM ends the run after this page
        self._writer = writer
        self._summary = summary
        self._predicate = predicate
        self._remaining = limit
        self._on_page = on_page
        self._page_written = 0

    @property
    def full(self) -> bool:
        """True once --limit records were written: the run stops, successfully."""
        return self._remaining is not None and self._remaining <= 0

    def feed(self, records: Iterable[Any]) -> None:
        """Write the records that pass the filter, up to the limit, as one write per page."""
        kept = select(records, self._predicate)
        if self._remaining is not None:
            kept = kept[: max(self._remaining, 0)]
            self._remaining -= len(kept)
        if not kept:
            return
        self._writer.write_many(kept)
        self._summary.add_many(kept)
        self._page_written += len(kept)

    def feed_page(self, page: Any) -> None:
        """One page from the parallel lister: a RenderedPage (see ``packer``) or a Page."""
        if type(page) is not RenderedPage:
            self.feed(page.records)
        elif page.count:
            self._writer.write_rendered(page.data)
            self._summary.merge(page.totals)
            self._page_written += page.count

    def packer(self) -> Callable[[list[Any]], RenderedPage] | None:
        """What workers run on each page, off the consumer's thread: filter, render, count.

        None (pages stay records) when a page may have to be cut (--limit: cutting bytes
        would need per-record offsets; records are simply correct) or when the writer cannot
        render (du's totals)."""
        render = getattr(self._writer, "render", None)
        if render is None or self._remaining is not None:
            return None
        predicate = self._predicate

        def pack(records: list[Any]) -> RenderedPage:
            kept = select(records, predicate)
            totals = Summary()
            totals.add_many(kept)
            return RenderedPage(render(kept), len(kept), totals)

        return pack

    def commit(self, position: Any) -> None:
        """A page is fully written; ``position`` says where listing would resume."""
        if self._on_page is not None:
            self._on_page(self._page_written)
        self._page_written = 0
        if self._stop is not None:
            self._stop.raise_if_set()


def list_range(client: Any, spec: Any, sink: Sink, *, position: Any = None) -> None:
    """List one half-open key range page by page into ``sink``, stopping early when it is full."""
    for page, after in iter_pages(client, spec, position=position):
        sink.feed(page.records)
        sink.commit(after)
        if sink.full:
            return


def _list_plan(plan: PreparedRun, sink: Sink) -> None:
    """One range with one worker: the plain sequential listing. Otherwise ranges go to the
    parallel lister, which merges pages back in key order (and splits ranges while they run
    when there are spare workers), so the output is the same either way."""
    ranges, workers = list(plan.ranges), plan.job.scale.parallel
    if workers == 1 and len(ranges) == 1:
        list_range(plan.client, range_spec(plan.spec, ranges[0]), sink)
        return
    lister = _parallel_lister(plan, ranges, pack=sink.packer())
    try:
        for event in lister:
            sink.feed_page(event.page)
            sink.commit(event.position)
            if sink.full:
                return
    finally:
        lister.close()


def _planned(plan: PreparedRun, ranges: list[KeyRange], positions: list[Any] | None) -> list[KeyRange]:
    """A fresh run spreads its workers over the folders of the tree (``sharding.spread_ranges``)."""
    if positions is not None and any(p is not None for p in positions):
        return ranges
    return spread_ranges(plan.client, plan.spec, ranges, workers=plan.job.scale.parallel)


def _parallel_lister(
    plan: PreparedRun, ranges: list[KeyRange], positions: list[Any] | None = None, *, pack: Any = None
) -> ParallelLister:
    """Pages of ``ranges`` (resumed from ``positions``) in key order, --parallel workers;
    ``pack`` (``Sink.packer``) turns each page into bytes in the worker that listed it."""
    workers = plan.job.scale.parallel
    planned = _planned(plan, ranges, positions)
    if planned is not ranges:
        ranges, positions = planned, None
    return ParallelLister(
        lambda key_range, position: iter_pages(plan.client, range_spec(plan.spec, key_range), position=position),
        ranges,
        positions=positions,
        workers=workers,
        split=workers > 1,
        prefix=plan.spec.prefix,
        delimiter=plan.spec.delimiter,
        pack=pack,
        max_pages_ahead=PACKED_PAGES_AHEAD if pack is not None else RECORD_PAGES_AHEAD,
    )


def checkpoint_fingerprint(plan: PreparedRun) -> str:
    """What a checkpoint must agree with: everything that changes the records or their bytes.

    Page size and parallelism only change speed, so a resumed run may change them."""
    job = plan.job
    arguments = {
        "bucket": job.connection.bucket,
        "endpoint": plan.client.endpoint,
        "selection": asdict(replace(job.selection, max_keys=0)),
        "output": asdict(replace(job.output, path=None, summary_json=None)),  # the checkpoint names its output
        "shard": [job.scale.shard_index, job.scale.shard_count],
    }
    if plan.shard_plan is not None:  # its cuts define the shard (the file's path does not)
        arguments["shard_plan"] = plan.shard_plan.to_json()
    return checkpoint.fingerprint(arguments)


def run_resumable(plan: PreparedRun, *, on_page: OnPage | None = None, stop: Any = None) -> Summary:
    """--checkpoint: list into --output, saving the state after every page; rerunning the same
    command continues where the last save left off. A finished checkpoint lists nothing and
    raises CheckpointFinished; another run holding it, CheckpointBusy (see ``checkpoint``).

    ``stop`` (a checkpoint.StopFlag the CLI installs for SIGTERM) ends the run after the
    current page is written and saved, with Interrupted (exit 143)."""
    job, path = plan.job, plan.job.scale.checkpoint
    assert path is not None and job.output.path is not None, "prepare() checks --checkpoint has --output"
    printed = checkpoint_fingerprint(plan)
    with checkpoint.RunLock(path):  # one run per checkpoint, held until the output is closed
        saved = checkpoint.resume_state(path, expected_fingerprint=printed, output=job.output.path)
        if saved is None:
            todo, summary = [(r, None) for r in list(plan.ranges)], Summary()
        else:
            todo, summary = saved.remaining, checkpoint.restore_summary(saved.summary)
        stream = checkpoint.open_output(job.output.path, saved)
        fresh_file = saved is None or saved.output_offset == 0
        try:
            writer = make_writer(
                job.output.format, stream, null=job.output.null, human=job.output.human,
                bucket=job.connection.bucket, header=fresh_file,
            )
            saver = checkpoint.Checkpointer(path, fingerprint=printed, output=stream, output_path=job.output.path)
            _resume_into(plan, todo, writer, summary, saver, on_page=on_page, stop=stop)
        finally:
            stream.close()
    return summary


def _resume_into(
    plan: PreparedRun, todo: list[tuple[KeyRange, Any]], writer: Any, summary: Summary, saver: Any, *,
    on_page: OnPage | None, stop: Any,
) -> None:
    """The checkpointed loop: per page, write -> make durable -> save; stop at the limit."""
    job = plan.job
    done_before = summary.objects + summary.prefixes
    limit = None if job.selection.limit is None else job.selection.limit - done_before
    sink = Sink(writer=writer, summary=summary, predicate=plan.predicate, limit=limit, on_page=on_page)
    base_requests, base_elapsed, started = summary.requests, summary.elapsed, time.monotonic()

    def save(remaining: list[tuple[KeyRange, Any]]) -> None:
        summary.requests = base_requests + plan.client.requests_made
        summary.elapsed = base_elapsed + time.monotonic() - started
        writer.flush()
        saver.commit(remaining, summary)

    if not todo or sink.full:
        save([])
        return
    lister = _parallel_lister(plan, [r for r, _ in todo], [p for _, p in todo], pack=sink.packer())
    try:
        for event in lister:
            sink.feed_page(event.page)
            sink.commit(event.position)
            save([] if sink.full else lister.remaining())
            if sink.full:
                return
            if stop is not None:
                stop.raise_if_set()
    finally:
        lister.close()
    save([])


def run(plan: PreparedRun, *, stream: IO[Any], on_page: OnPage | None = None, stop: Any = None) -> Summary:
    """Run a prepared listing, writing records to ``stream`` in the chosen format; return the
    Summary."""
    out = plan.job.output
    writer = make_writer(out.format, stream, null=out.null, human=out.human, bucket=plan.job.connection.bucket)
    return execute(plan, writer, on_page=on_page, stop=stop)


def run_du(plan: PreparedRun, *, depth: int, by_class: bool, on_page: OnPage | None = None) -> tuple[list[Any], Summary]:
    """Run a prepared listing into per-prefix totals; return (rows sorted by size, Summary)."""
    totals = DuTotals(prefix=plan.spec.prefix, depth=depth, by_class=by_class)
    summary = execute(plan, _TotalsWriter(totals), on_page=on_page)
    return totals.rows(), summary


class _TotalsWriter:
    """Adapts du's accumulator to the writer interface the Sink feeds."""

    def __init__(self, totals: Any) -> None:
        self._totals = totals

    def write_many(self, records: Iterable[Any]) -> None:
        self._totals.add_all(records)

    def close(self) -> None:
        """Nothing buffered: the totals are read after the run."""


def execute(plan: PreparedRun, writer: Any, *, on_page: OnPage | None = None, stop: Any = None) -> Summary:
    """List the plan's range into ``writer`` through a Sink; the Summary gets requests and time."""
    summary = Summary()
    started = time.monotonic()
    sink = Sink(
        writer=writer,
        summary=summary,
        predicate=plan.predicate,
        limit=plan.job.selection.limit,
        on_page=on_page,
        stop=stop,
    )
    try:
        _list_plan(plan, sink)
    finally:
        writer.close()
        summary.requests = plan.client.requests_made
        summary.elapsed = time.monotonic() - started
    return summary
