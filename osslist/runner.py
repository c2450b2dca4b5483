"""Running a prepared listing: one loop, ``source -> events -> sink -> hooks``.

::

    source (feed.sequential | feed.parallel)      pages listed, filtered, rendered: PageEvents
      -> Sink.take(event.page)                   --limit, write the bytes, add the totals
      -> hooks(Commit)                           progress, checkpoint save, SIGTERM stop

The source is sequential (one worker) or parallel (``--parallel N``); both yield the same
``feed.PageEvent``, so the loop (:func:`steps`) and everything after it are one code path.
``run`` writes records, ``run_du`` sums them per prefix, ``run_resumable`` (--checkpoint)
adds the hook that makes the output durable and saves the state after every page. Which
ranges a run lists was decided before (``PreparedRun.ranges``). Nothing here imports click
or writes to the terminal.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Generator, Generic, Iterator, Protocol, Sequence, TypeVar, cast

from osslist import checkpoint, feed
from osslist.prefixtotals import DuRow, DuTotals
from osslist.errors import Interrupted
from osslist.feed import Pending, Rendered, Source
from osslist.job import ListJob, PreparedRun
from osslist.listing import Bound, Position, iter_pages
from osslist.output import Stream, make_writer
from osslist.pages import Page, Record
from osslist.ranges import KeyRange, range_spec
from osslist.sharding import spread_ranges
from osslist.summary import Summary
from osslist.uploads import UploadRecord, UploadTotals, iter_uploads, totals_of, upload_sizes
from osslist.versions import VersionPosition, iter_version_pages

if TYPE_CHECKING:
    from osslist.client import BucketClient

RECORD_PAGES_AHEAD = 8
"""Pages a parallel slot may buffer when they hold records (du: ~0.45 MB a page of 1000)."""
PACKED_PAGES_AHEAD = 16
"""... and as rendered bytes (~45 KB as text, ~200 KB as jsonl): twice the run-ahead for a
fraction of the memory. Measured at 50 ms, 1M objects, --parallel 8: 8 -> 16 pages made the
run about an eighth faster, peak RSS unchanged; 24 gave nothing more."""

P = TypeVar("P")

OnPage = Callable[[int], None]
"""Progress callback: called once per page with the number of records that page wrote."""


class Writer(Protocol[P]):
    """What the sink writes into: ``render`` runs in the source (worker threads), the rest
    in the loop's thread. ``output.Writer`` is a ``Writer[bytes]``."""

    def render(self, records: Sequence[Record], /) -> P: ...

    def write_rendered(self, data: P, /) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class UploadWriter(Protocol[P]):
    """A ``Writer`` of upload pages (``output.UploadWriter``: bytes; the API's: records)."""

    def render(self, records: Sequence[UploadRecord], /) -> P: ...

    def write_rendered(self, data: P, /) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Commit:
    """What the hooks learn after each page is written: how many records it wrote, whether
    the run is complete (--limit reached), and what is left to list after it."""

    written: int
    complete: bool
    remaining: Callable[[], list[Pending]]


Hook = Callable[[Commit], None]
Steps = Generator[Commit, None, None]
"""The run loop one page at a time (:func:`steps`): a Commit after each page is written."""


class Sink(Generic[P]):
    """Where pages go: cut at --limit, write, total. Counting the records it wrote, it says
    when the limit is reached (``full``: the run stops, successfully)."""

    def __init__(self, writer: Writer[P], summary: Summary, *, limit: int | None = None) -> None:
        self._writer = writer
        self._summary = summary
        self._remaining = limit

    @property
    def full(self) -> bool:
        """True once --limit records were written."""
        return self._remaining is not None and self._remaining <= 0

    def take(self, page: Rendered[P]) -> int:
        """Write one page (its first records only, if the limit falls inside it); return how
        many records it wrote."""
        if self._remaining is not None:
            if page.count > self._remaining:
                page = self._first(page, max(self._remaining, 0))
            self._remaining -= page.count
        if page.count:
            self._writer.write_rendered(page.data)
            self._summary.merge(page.totals)
        return page.count

    def _first(self, page: Rendered[P], count: int) -> Rendered[P]:
        """The page cut after its first ``count`` records (at a record boundary, re-rendered
        from the kept records that ride along under --limit)."""
        assert page.records is not None, "a run with --limit packs pages with their records"
        kept = page.records[:count]
        totals = Summary()
        totals.add_many(kept)
        return Rendered(self._writer.render(kept), len(kept), totals, kept)


def steps(source: Source[P], sink: Sink[P], hooks: Sequence[Hook] = (),
          waiting: Callable[[], AbstractContextManager[object]] = nullcontext) -> Steps:
    """The run loop: each page from the source into the sink, then the hooks, until the
    source ends or the sink is full; it yields each page's Commit after its hooks, so a
    caller can act between pages (the Python API hands out that page's records). ``waiting``
    wraps each wait for the next page (where SIGTERM may abandon it). The source is closed
    either way (stopping its workers), also when the caller closes this generator."""
    try:
        while True:
            with waiting():
                event = next(source, None)
            if event is None:
                return
            written = sink.take(event.page)
            commit = Commit(written, sink.full, event.remaining)
            for hook in hooks:
                hook(commit)
            yield commit
            if sink.full:
                return
    finally:
        source.close()


# --- sources ---------------------------------------------------------------------------------


def open_source(
    prepared: PreparedRun, todo: list[Pending], writer: Writer[P], *, keep_records: bool, pages_ahead: int,
    join_workers: bool = False,
) -> Source[P]:
    """The run's source: sequential with one worker, else parallel (a fresh run of one range
    spread over the folders of the tree first, ``pages_ahead`` buffered per range); pages
    packed with ``writer.render``."""
    spec, workers = prepared.spec, prepared.job.scale.parallel
    pack = feed.packer(writer.render, prepared.predicate, keep_records=keep_records)

    as_of = prepared.as_of

    def list_range(key_range: KeyRange, position: Position | None, bound: Bound | None) -> Iterator[tuple[Page, Position]]:
        if prepared.versions:  # the version source: ListObjectVersions, the same pages and positions
            return iter_version_pages(prepared.client, range_spec(spec, key_range), position=position, bound=bound,
                                      as_of=as_of)
        return iter_pages(prepared.client, range_spec(spec, key_range), position=position, bound=bound)

    if workers == 1:
        return feed.sequential(list_range, todo, pack)
    # The folder walk asks ListObjects: a version run (which may hold only oss:ListObjectVersions,
    # and whose keys may have no current object) splits while it lists instead.
    if all(position is None for _, position in todo) and not prepared.versions:
        todo = [(r, None) for r in spread_ranges(prepared.client, spec, [r for r, _ in todo], workers=workers)]
    return feed.parallel(list_range, todo, pack, workers=workers, prefix=spec.prefix, delimiter=spec.delimiter,
                         pages_ahead=pages_ahead, join_workers=join_workers)


def _pages_ahead(compact: bool) -> int:
    return PACKED_PAGES_AHEAD if compact else RECORD_PAGES_AHEAD


# --- hooks -----------------------------------------------------------------------------------


def progress_hook(on_page: OnPage) -> Hook:
    """Progress: the records each page wrote."""
    return lambda commit: on_page(commit.written)


class StopRequested(BaseException):
    """Raised by the SIGTERM handler into a wait for the next page. Not an Exception, so no
    retry loop of a client library can swallow it; the run loop turns it into Interrupted."""


class Stopper:
    """SIGTERM for one run, on top of the CLI's StopFlag, so that exit never waits on the network.

    After a committed page (it is a hook) a set flag ends the run with Interrupted (exit 143),
    unless that page completed the run. While the loop waits for the next page (a request in
    flight, or workers still listing) a SIGTERM abandons the wait at once: the requests in
    flight are not pages being committed, and nothing of theirs was written. So the time from
    SIGTERM to exit is at most the commit of one page (write, fsync, checkpoint save)."""

    def __init__(self, flag: checkpoint.StopFlag, *, saved: bool) -> None:
        self._flag = flag
        self._waiting = False
        self.message = "stopped by SIGTERM " + (
            "after saving the checkpoint; rerun the same command to resume" if saved
            else "after the last whole page; the output is incomplete: rerun the listing")

    def __call__(self, commit: Commit) -> None:
        if self._flag.is_set() and not commit.complete:
            raise Interrupted(self.message)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Handle SIGTERM for the run (main thread only, Python's rule; elsewhere the flag
        alone is checked after each page), then hand it back to the previous handler."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGTERM, self._handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around the wait for the next page: a SIGTERM now (or already) ends the run."""
        if self._flag.is_set():
            raise Interrupted(self.message)
        self._waiting = True
        try:
            yield
        except StopRequested:
            raise Interrupted(self.message) from None
        finally:
            self._waiting = False

    def _handle(self, _number: int, _frame: FrameType | None) -> None:
        self._flag.set()
        if self._waiting:
            raise StopRequested()


def _hooks(on_page: OnPage | None, stopper: Stopper | None, save: Hook | None = None) -> list[Hook]:
    """Progress, then the checkpoint save, then the stop flag: a stopped run has saved."""
    hooks = [] if on_page is None else [progress_hook(on_page)]
    hooks += [] if save is None else [save]
    return hooks + ([] if stopper is None else [stopper])


def _steps(source: Source[P], sink: Sink[P], hooks: list[Hook], stopper: Stopper | None) -> Steps:
    """``steps`` with SIGTERM handled by ``stopper`` when there is one."""
    if stopper is None:
        yield from steps(source, sink, hooks)
        return
    with stopper.watching():
        yield from steps(source, sink, hooks, waiting=stopper.waiting)


def _pump(source: Source[P], sink: Sink[P], hooks: list[Hook], stopper: Stopper | None) -> None:
    """The run loop (:func:`steps`) run to its end, SIGTERM handled by ``stopper`` when there is one."""
    for _commit in _steps(source, sink, hooks, stopper):
        pass


# --- runs ------------------------------------------------------------------------------------


def execute(prepared: PreparedRun, writer: Writer[P], *, on_page: OnPage | None = None,
            stop: checkpoint.StopFlag | None = None, compact: bool = True) -> Summary:
    """List the run's ranges into ``writer``; the Summary gets requests and time. ``compact``:
    the writer renders pages smaller than their records (bytes), so more are buffered ahead."""
    summary = Summary()
    for _commit in executing(prepared, writer, summary, on_page=on_page, stop=stop, compact=compact):
        pass
    return summary


def executing(prepared: PreparedRun, writer: Writer[P], summary: Summary, *, on_page: OnPage | None = None,
              stop: checkpoint.StopFlag | None = None, compact: bool = True,
              join_workers: bool = False) -> Steps:
    """:func:`execute` one page at a time: yields after each page is written into ``writer``
    (the Python API's iterator takes that page's records then). When it ends, or is closed
    half way, the writer is closed and ``summary`` gets requests and time; ``join_workers``:
    closing it also waits for the parallel workers' last request (see ``feed.parallel``)."""
    started = time.monotonic()
    limit = prepared.job.selection.limit
    todo: list[Pending] = [(r, None) for r in prepared.ranges]
    try:
        source = open_source(prepared, todo, writer, keep_records=limit is not None,
                             pages_ahead=_pages_ahead(compact and limit is None), join_workers=join_workers)
        stopper = None if stop is None else Stopper(stop, saved=False)
        yield from _steps(source, Sink(writer, summary, limit=limit), _hooks(on_page, stopper), stopper)
    finally:
        writer.close()
        summary.requests = prepared.client.requests_made
        summary.elapsed = time.monotonic() - started


def run(prepared: PreparedRun, *, stream: Stream, on_page: OnPage | None = None,
        stop: checkpoint.StopFlag | None = None) -> Summary:
    """Run a prepared listing, writing records to ``stream`` in the chosen format; return the
    Summary."""
    out = prepared.job.output
    writer = make_writer(out.format, stream, null=out.null, human=out.human, bucket=prepared.job.connection.bucket,
                         versions=prepared.versions, owner=prepared.job.selection.fetch_owner)
    return execute(prepared, writer, on_page=on_page, stop=stop)


def run_du(prepared: PreparedRun, *, depth: int, by_class: bool, by_state: bool = False,
           include_uploads: bool = False, on_page: OnPage | None = None) -> tuple[list[DuRow], Summary]:
    """Run a prepared listing into per-prefix totals; return (rows sorted by size, Summary).
    ``include_uploads`` adds the parts of unfinished uploads of this run's ranges (ListParts)."""
    totals = DuTotals(prefix=prepared.spec.prefix, depth=depth, by_class=by_class, by_state=by_state)
    summary = execute(prepared, _TotalsWriter(totals), on_page=on_page, compact=False)
    if include_uploads:
        from osslist.ossobjects import ObjectClient  # oss2 stays out of the CLI's start-up

        for key, size in upload_sizes(prepared.client, ObjectClient(prepared.client).list_parts,
                                      prefix=prepared.spec.prefix, ranges=prepared.ranges):
            totals.add_upload(key, size)
        summary.requests = prepared.client.requests_made
    return totals.rows(), summary


def run_uploads(client: BucketClient, writer: UploadWriter[bytes], *, prefix: str, parts: bool,
                older_than: float | None = None, on_page: OnPage | None = None) -> UploadTotals:
    """``osslist uploads``: unfinished uploads as a source of pages into the same run loop."""
    totals = UploadTotals()
    for _commit in uploading(client, writer, totals, prefix=prefix, parts=parts, older_than=older_than,
                             on_page=on_page):
        pass
    return totals


def uploading(client: BucketClient, writer: UploadWriter[P], totals: UploadTotals, *, prefix: str, parts: bool,
              older_than: float | None = None, max_uploads: int = 1000, on_page: OnPage | None = None) -> Steps:
    """:func:`run_uploads` one page at a time (the Python API's ``list_uploads`` takes each
    page's records between steps). Only uploads initiated before ``older_than`` (epoch
    seconds) are kept. When it ends, or is closed half way, the writer is closed and
    ``totals`` gets requests and time."""
    from osslist.ossobjects import ObjectClient  # oss2 stays out of the CLI's start-up

    started = time.monotonic()
    parts_of = ObjectClient(client).list_parts if parts else None

    def source() -> Source[P]:
        for records in iter_uploads(client, parts_of, prefix=prefix, max_uploads=max_uploads):
            kept = [r for r in records if older_than is None or r.initiated_epoch() < older_than]
            # UploadTotals stands in for a Summary: the Sink only merges the totals it is given
            page = Rendered(writer.render(kept), len(kept), totals_of(kept))  # type: ignore[arg-type]
            yield feed.PageEvent(page, Position(), list)

    try:
        yield from steps(source(), Sink(writer, totals), _hooks(on_page, None))  # type: ignore[arg-type]  # the same
    finally:
        writer.close()
        totals.requests = client.requests_made
        totals.elapsed = time.monotonic() - started


class _RecordPages:
    """A ``Writer[list[Record]]`` that keeps pages as records and writes nothing: for
    consumers that take the records themselves (du's totals, ``listed_records``)."""

    def render(self, records: Sequence[Record]) -> list[Record]:
        return list(records)

    def write_rendered(self, records: list[Record]) -> None:
        """Nothing to write: the consumer has the records."""

    def flush(self) -> None:
        """Nothing buffered."""

    def close(self) -> None:
        """Nothing buffered."""


class _TotalsWriter(_RecordPages):
    """du's accumulator: pages stay records (du needs each key), summed in the loop's thread."""

    def __init__(self, totals: DuTotals) -> None:
        self._totals = totals

    def write_rendered(self, records: list[Record]) -> None:
        self._totals.add_all(records)


def listed_records(prepared: PreparedRun) -> Iterator[Record]:
    """The run's records in key order, pulled page by page from the run's own source
    (sequential or ``--parallel``, filtered), for a consumer that pulls: ``osslist diff
    --live`` merges them with a report. Closing the iterator stops the source's workers."""
    todo: list[Pending] = [(r, None) for r in prepared.ranges]
    source = open_source(prepared, todo, _RecordPages(), keep_records=False, pages_ahead=RECORD_PAGES_AHEAD)
    try:
        for event in source:
            yield from event.page.data
    finally:
        source.close()


# --- --checkpoint ----------------------------------------------------------------------------


def checkpoint_fingerprint(prepared: PreparedRun) -> str:
    """What a checkpoint must agree with: everything that changes the records or their bytes.

    Page size and parallelism only change speed, so a resumed run may change them."""
    job = prepared.job
    arguments = {
        "bucket": job.connection.bucket,
        "endpoint": prepared.client.endpoint,
        "selection": _selection_view(job),
        "output": asdict(replace(job.output, path=None, summary_json=None)),  # the checkpoint names its output
        "shard": [job.scale.shard_index, job.scale.shard_count],
    }
    if prepared.shard_plan is not None:  # its cuts define the shard (the file's path does not)
        arguments["shard_plan"] = prepared.shard_plan.to_json()
    return checkpoint.fingerprint(arguments)


def _selection_view(job: ListJob) -> dict[str, Any]:  # Any: JSON values
    """The selection a checkpoint must agree with; the version options only when given, so
    a plain run's fingerprint is what it was before they existed."""
    view = asdict(replace(job.selection, max_keys=0))
    for name in ("all_versions", "as_of"):
        if not view[name]:
            del view[name]
    return view


def run_resumable(prepared: PreparedRun, *, on_page: OnPage | None = None,
                  stop: checkpoint.StopFlag | None = None) -> Summary:
    """--checkpoint: list into --output, saving the state after every page; rerunning the same
    command continues where the last save left off. A finished checkpoint lists nothing and
    raises CheckpointFinished; another run holding it, CheckpointBusy (see ``checkpoint``).

    ``stop`` (the StopFlag the CLI installs for SIGTERM) ends the run after the current page
    is written and saved, with Interrupted (exit 143)."""
    job, path = prepared.job, prepared.job.scale.checkpoint
    assert path is not None and job.output.path is not None, "prepare() checks --checkpoint has --output"
    printed = checkpoint_fingerprint(prepared)
    with checkpoint.RunLock(path):  # one run per checkpoint, held until the output is closed
        saved = checkpoint.resume_state(path, expected_fingerprint=printed, output=job.output.path,
                                        position_from=VersionPosition.from_dict if prepared.versions else None)
        todo: list[Pending] = [(r, None) for r in prepared.ranges] if saved is None else saved_todo(saved)
        summary = Summary() if saved is None else checkpoint.restore_summary(saved.summary)
        stream = checkpoint.open_output(job.output.path, saved)
        fresh_file = saved is None or saved.output_offset == 0
        try:
            writer = make_writer(
                job.output.format, stream, null=job.output.null, human=job.output.human,
                bucket=job.connection.bucket, header=fresh_file, versions=prepared.versions,
                owner=job.selection.fetch_owner,
            )
            saver = checkpoint.Checkpointer(path, fingerprint=printed, output=stream, output_path=job.output.path)
            resume_into(prepared, todo, writer, summary, saver, on_page=on_page, stop=stop)
        finally:
            stream.close()
    return summary


def saved_todo(saved: checkpoint.CheckpointState) -> list[Pending]:
    """What a saved checkpoint leaves to list, as the run's sources take it."""
    # the positions were read by the run's own position_from (a listing's or a versions' Position)
    return cast("list[Pending]", list(saved.remaining))


class Saver(Protocol):
    """A checkpoint's save hook: ``checkpoint.Checkpointer`` (a file), ``ossresume.PartSaver``
    (an upload) or ``inventoryresume.InventorySaver`` (an inventory's data files); ``commit``
    once per written page, with nothing remaining at the end."""

    def commit(self, remaining: checkpoint.Remaining,
               summary: Summary) -> object: ...


def resume_into(
    prepared: PreparedRun, todo: list[Pending], writer: Writer[P], summary: Summary,
    saver: Saver, *, on_page: OnPage | None, stop: checkpoint.StopFlag | None,
) -> None:
    """The checkpointed run: the same loop with a save hook (write -> make durable -> save)."""
    limit = prepared.job.selection.limit
    if limit is not None:
        limit -= summary.objects + summary.prefixes  # what earlier runs wrote counts
    base_requests, base_elapsed, started = summary.requests, summary.elapsed, time.monotonic()

    def save(remaining: list[Pending]) -> None:
        summary.requests = base_requests + prepared.client.requests_made
        summary.elapsed = base_elapsed + time.monotonic() - started
        writer.flush()
        saver.commit(remaining, summary)

    sink = Sink(writer, summary, limit=limit)
    if todo and not sink.full:
        source = open_source(prepared, todo, writer, keep_records=limit is not None,
                             pages_ahead=_pages_ahead(limit is None))
        hook = lambda commit: save([] if commit.complete else commit.remaining())  # noqa: E731
        stopper = None if stop is None else Stopper(stop, saved=True)
        _pump(source, sink, _hooks(on_page, stopper, save=hook), stopper)
    save([])
