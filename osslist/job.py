"""The listing job the CLI runs: options in, records out, a Summary back.

The CLI parses and hands over plain values; this module validates them all before any network
call (so a bad option exits 2 having sent nothing), and then wires the library together:

    provider -> bucket client -> ListingSpec -> pages -> filter -> limit -> writer -> summary

The run is split so the scale work slots in without reshaping it: ``key_ranges`` says which
ranges this run lists (the whole range, or a shard's cells), ``list_range`` lists one range
sequentially into a ``Sink`` and the parallel lister feeds the same Sink in key order, and
``Sink.commit`` is the one place a finished page is acknowledged; with --checkpoint the
resumable loop then makes the output durable and saves the state (``run_resumable``).
Nothing here imports click or writes to the terminal.

The credential and oss2 modules are imported inside the functions that need them: oss2 alone
takes a quarter of a second to import, which ``--help`` should not pay.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import IO, Any, Callable, Iterable, Mapping

from osslist import checkpoint, filters
from osslist.du import DuTotals
from osslist.errors import UsageError
from osslist.listing import ListingSpec, iter_pages
from osslist.output import FORMATS, make_writer
from osslist.parallel import ParallelLister
from osslist.planning import folder_lister, plan_folder_cuts
from osslist.ranges import KeyRange, range_spec, ranges_from_cuts, shard_ranges
from osslist.shardplan import ShardPlan, balanced_cuts
from osslist.summary import Summary

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "oss-cn-hangzhou-internal.aliyuncs.com"
LIST_APIS = ("v1", "v2")
OUTPUT_FORMATS = FORMATS
CREDENTIAL_SOURCES = ("auto", "env", "rrsa", "metadata")
SIGNATURE_VERSIONS = ("1", "4")

RECORD_PAGES_AHEAD = 8
"""Pages a parallel slot may buffer as records (~0.45 MB a page of 1000)."""
PACKED_PAGES_AHEAD = 16
"""... and as rendered bytes (~45 KB as text, ~200 KB as jsonl): twice the run-ahead for a
fraction of the memory. Measured at 50 ms, 1M objects, --parallel 8: 8 -> 16 pages took the
run from ~11.7 s to ~10.2 s, peak RSS unchanged (~77 MB); 24 gave nothing more."""

OnPage = Callable[[int], None]
"""Progress callback: called once per page with the number of records that page wrote."""


@dataclass(frozen=True, kw_only=True)
class Connection:
    """Where the bucket is and how to get credentials for it."""

    bucket: str
    endpoint: str = DEFAULT_ENDPOINT
    region: str | None = None
    signature_version: str = "4"
    credentials: str = "auto"
    role_name: str | None = None
    metadata_endpoint: str | None = None


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Which objects: the key range, paging and filters, as the user typed them."""

    list_api: str = "v1"
    max_keys: int = 1000
    prefix: str = ""
    delimiter: str = ""
    start_after: str = ""
    end_before: str | None = None
    limit: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_size: str | None = None
    max_size: str | None = None
    modified_after: str | None = None
    modified_before: str | None = None
    storage_classes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """How records are written (the summary is the CLI's business)."""

    format: str = "text"
    null: bool = False
    human: bool = False
    path: str | None = None
    """--output FILE; None is stdout (opened by the CLI)."""


@dataclass(frozen=True, kw_only=True)
class Scale:
    """Parallel workers, this pod's shard, and the checkpoint file that makes a run resumable."""

    parallel: int = 1
    shard_index: int | None = None
    shard_count: int | None = None
    shard_plan: str | None = None
    """--shard-plan FILE: the shard boundaries written by `osslist plan` (else the fixed rule)."""
    checkpoint: str | None = None


@dataclass(frozen=True, kw_only=True)
class ListJob:
    """Everything one `osslist ls` run needs, before validation."""

    connection: Connection
    selection: Selection = field(default_factory=Selection)
    output: OutputOptions = field(default_factory=OutputOptions)
    scale: Scale = field(default_factory=Scale)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A validated job: parsed sizes and times, the listing spec, the record predicate."""

    job: ListJob
    client: Any  # client.BucketClient, built but not yet used
    spec: ListingSpec
    predicate: Callable[[Any], bool]
    filters: dict[str, Any]
    shard_plan: ShardPlan | None = None

    def to_dict(self) -> dict[str, Any]:
        """The resolved plan printed by --dry-run: every value the run would use, no secret."""
        conn = asdict(self.job.connection)
        conn["endpoint"] = self.client.endpoint
        conn["region"] = self.client.region
        return {
            "command": "ls",
            "connection": conn,
            "listing": asdict(self.spec),
            "limit": self.job.selection.limit,
            "filters": self.filters,
            "output": asdict(self.job.output),
            "scale": {**asdict(self.job.scale), **self._shard_view()},
        }

    def _shard_view(self) -> dict[str, Any]:
        """The shard's count (the plan's when there is one) and the ranges it lists."""
        if self.job.scale.shard_index is None:
            return {}
        count = self.shard_plan.shard_count if self.shard_plan else self.job.scale.shard_count
        return {"shard_count": count, "shard_ranges": [r.to_json() for r in key_ranges(self)]}


# --- validation ------------------------------------------------------------------------------

def _check_choice(name: str, value: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise UsageError(f"invalid {name} {value!r}: choose one of {', '.join(choices)}")


def _check_selection(sel: Selection) -> None:
    """Range and limit; list API, max-keys and UTF-8 are ListingSpec's own checks."""
    if sel.limit is not None and sel.limit < 1:
        raise UsageError(f"invalid --limit {sel.limit}: must be at least 1")
    if sel.end_before is not None and sel.end_before.encode() <= sel.start_after.encode():
        raise UsageError("--end-before must sort after --start-after (the range would be empty)")


def _check_scale(scale: Scale, output_path: str | None) -> None:
    if scale.checkpoint is not None and output_path is None:
        raise UsageError("--checkpoint needs --output FILE: a resumed run continues that file")
    if scale.parallel < 1:
        raise UsageError(f"invalid --parallel {scale.parallel}: must be at least 1")
    if scale.shard_plan is not None:
        if scale.shard_index is None:
            raise UsageError("--shard-plan needs --shard-index (the shard count comes from the plan)")
        return
    if (scale.shard_index is None) != (scale.shard_count is None):
        raise UsageError("--shard-index and --shard-count go together")
    if scale.shard_count is not None and scale.shard_index is not None:
        if scale.shard_count < 1 or not 0 <= scale.shard_index < scale.shard_count:
            raise UsageError("--shard-index must be in 0..--shard-count-1")


def _check_output(out: OutputOptions) -> None:
    _check_choice("--format", out.format, OUTPUT_FORMATS)
    if out.null and out.format not in ("text", "long"):
        raise UsageError("-0/--null applies to --format text and long only")


def _check_connection(conn: Connection) -> None:
    _check_choice("--signature-version", conn.signature_version, SIGNATURE_VERSIONS)
    _check_choice("--credentials", conn.credentials, CREDENTIAL_SOURCES)


def _maybe(parse: Callable[[str], Any], text: str | None) -> Any:
    return None if text is None else parse(text)


def _build_filter(sel: Selection, *, now: float) -> tuple[Callable[[Any], bool], dict[str, Any]]:
    """Parse sizes and times with the filters module; return the predicate and its plan view."""
    parsed: dict[str, Any] = {
        "include": list(sel.include),
        "exclude": list(sel.exclude),
        "min_size": _maybe(filters.parse_size, sel.min_size),
        "max_size": _maybe(filters.parse_size, sel.max_size),
        "modified_after": _maybe(lambda text: filters.parse_time(text, now=now), sel.modified_after),
        "modified_before": _maybe(lambda text: filters.parse_time(text, now=now), sel.modified_before),
        "storage_classes": [filters.parse_storage_class(c) for c in sel.storage_classes],
    }
    lo, hi = parsed["min_size"], parsed["max_size"]
    if lo is not None and hi is not None and lo > hi:
        raise UsageError("--min-size is larger than --max-size: nothing could match")
    if all(value is None or value == [] for value in parsed.values()):
        return keep_all, parsed
    return filters.build_filter(**parsed), parsed


def _listing_spec(sel: Selection) -> ListingSpec:
    return ListingSpec(
        prefix=sel.prefix,
        delimiter=sel.delimiter,
        start_after=sel.start_after,
        end_before=sel.end_before,
        list_api=sel.list_api,
        max_keys=sel.max_keys,
    )


def prepare(job: ListJob, *, now: float | None = None, environ: Mapping[str, str] | None = None) -> Plan:
    """Validate every option and build the client; raises UsageError, makes no network call.

    The bucket client is built here (the credential provider fetches lazily) so --dry-run
    checks exactly what a run would use: bucket name, endpoint, region for V4 signing."""
    _check_connection(job.connection)
    _check_selection(job.selection)
    _check_output(job.output)
    _check_scale(job.scale, job.output.path)
    shards = None if job.scale.shard_plan is None else _shard_plan_for(job)
    predicate, parsed = _build_filter(job.selection, now=time.time() if now is None else now)
    spec = _listing_spec(job.selection)
    client = open_client(job.connection, environ=environ)
    return Plan(job=job, client=client, spec=spec, predicate=predicate, filters=parsed, shard_plan=shards)


# --- shard plans -----------------------------------------------------------------------------


def load_shard_plan(path: str) -> ShardPlan:
    """Read a plan file written by `osslist plan`; a missing or corrupt one is bad input."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(1 << 20))
        return ShardPlan.from_json(data)
    except OSError as exc:
        raise UsageError(f"cannot read --shard-plan {path}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--shard-plan {path} is not a valid plan ({_first_line(exc)}); rerun osslist plan") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _shard_plan_for(job: ListJob) -> ShardPlan:
    """The plan of --shard-plan, checked against this command line: a plan made for another
    bucket, prefix or range would shard the wrong key space, so it is refused (exit 2)."""
    path, scale, sel = job.scale.shard_plan, job.scale, job.selection
    assert path is not None and scale.shard_index is not None, "_check_scale checks --shard-index"
    shards = load_shard_plan(path)
    made_for = {"bucket": shards.bucket, "prefix": shards.prefix, "start-after": shards.start_after,
                "end-before": shards.end_before}
    given = {"bucket": job.connection.bucket, "prefix": sel.prefix, "start-after": sel.start_after,
             "end-before": sel.end_before}
    for name, value in made_for.items():
        if given[name] != value:
            raise UsageError(f"--shard-plan {path} was made for --{name} {value!r}, not {given[name]!r}")
    if scale.shard_count is not None and scale.shard_count != shards.shard_count:
        raise UsageError(f"--shard-count {scale.shard_count} differs from the plan's {shards.shard_count} shards")
    if not scale.shard_index < shards.shard_count:
        raise UsageError(f"--shard-index must be in 0..{shards.shard_count - 1} (the plan has {shards.shard_count})")
    return shards


def make_shard_plan(plan: Plan, *, count: int, workers: int = 8) -> tuple[ShardPlan, list[float]]:
    """Sample the bucket once (a few dozen requests) and return the plan every pod will share,
    with the estimated keys of each shard."""
    spec = plan.spec
    cuts, estimates = balanced_cuts(plan.client, spec, count=count, workers=workers)
    shards = ShardPlan(bucket=plan.job.connection.bucket, prefix=spec.prefix, start_after=spec.start_after,
                       end_before=spec.end_before, shard_count=count, cuts=tuple(cuts))
    return shards, estimates


# --- running ---------------------------------------------------------------------------------


def keep_all(record: Any) -> bool:
    """The predicate of a run without filters; ``select`` recognises it and skips the calls."""
    return True


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


def key_ranges(plan: Plan) -> list[KeyRange]:
    """The key ranges this run lists, in key order: this shard's cells, or the whole range."""
    spec, scale = plan.spec, plan.job.scale
    if plan.shard_plan is not None and scale.shard_index is not None:
        return plan.shard_plan.ranges(scale.shard_index, delimiter=spec.delimiter)
    if scale.shard_count is None or scale.shard_index is None:
        return [KeyRange(spec.start_after, spec.end_before)]
    return shard_ranges(
        index=scale.shard_index,
        count=scale.shard_count,
        prefix=spec.prefix,
        delimiter=spec.delimiter,
        start_after=spec.start_after,
        end_before=spec.end_before,
    )


def _list_plan(plan: Plan, sink: Sink) -> None:
    """One range with one worker: the plain sequential listing. Otherwise ranges go to the
    parallel lister, which merges pages back in key order (and splits ranges while they run
    when there are spare workers), so the output is the same either way."""
    ranges, workers = key_ranges(plan), plan.job.scale.parallel
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


def _planned(plan: Plan, ranges: list[KeyRange], positions: list[Any] | None) -> list[KeyRange]:
    """One fresh range with spare workers and no delimiter: cut before each folder of the
    tree (a few concurrent delimiter requests) so the workers start spread out at once;
    the parallel lister cuts big folders further while it runs. Otherwise as given."""
    workers = plan.job.scale.parallel
    fresh = positions is None or all(p is None for p in positions)
    if workers < 2 or len(ranges) != 1 or not fresh or plan.spec.delimiter:
        return ranges
    whole = ranges[0]
    cuts = plan_folder_cuts(
        folder_lister(plan.client, plan.spec), prefix=plan.spec.prefix, target=8 * workers, workers=workers
    )
    return ranges_from_cuts(cuts, start_after=whole.start_after, end_before=whole.end_before)


def _parallel_lister(
    plan: Plan, ranges: list[KeyRange], positions: list[Any] | None = None, *, pack: Any = None
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


def checkpoint_fingerprint(plan: Plan) -> str:
    """What a checkpoint must agree with: everything that changes the records or their bytes.

    Page size and parallelism only change speed, so a resumed run may change them."""
    job = plan.job
    arguments = {
        "bucket": job.connection.bucket,
        "endpoint": plan.client.endpoint,
        "selection": asdict(replace(job.selection, max_keys=0)),
        "output": asdict(replace(job.output, path=None)),
        "shard": [job.scale.shard_index, job.scale.shard_count],
    }
    if plan.shard_plan is not None:  # its cuts define the shard (the file's path does not)
        arguments["shard_plan"] = plan.shard_plan.to_json()
    return checkpoint.fingerprint(arguments)


def run_resumable(plan: Plan, *, on_page: OnPage | None = None, stop: Any = None) -> Summary:
    """--checkpoint: list into --output, saving the state after every page; rerunning the same
    command continues where the last save left off (a finished checkpoint makes it a no-op).

    ``stop`` (a checkpoint.StopFlag the CLI installs for SIGTERM) ends the run after the
    current page is written and saved, with Interrupted (exit 143)."""
    job, path = plan.job, plan.job.scale.checkpoint
    assert path is not None and job.output.path is not None, "prepare() checks --checkpoint has --output"
    printed = checkpoint_fingerprint(plan)
    saved = checkpoint.load(path, expected_fingerprint=printed)
    if saved is None:
        todo, summary = [(r, None) for r in key_ranges(plan)], Summary()
        stream: IO[bytes] = open(job.output.path, "wb")
    else:
        todo, summary = saved.remaining, checkpoint.restore_summary(saved.summary)
        stream = checkpoint.open_output_for_resume(job.output.path, saved.output_offset)
    fresh_file = saved is None or saved.output_offset == 0
    try:
        writer = make_writer(
            job.output.format, stream, null=job.output.null, human=job.output.human,
            bucket=job.connection.bucket, header=fresh_file,
        )
        _resume_into(plan, todo, writer, summary, checkpoint.Checkpointer(path, fingerprint=printed, output=stream),
                     on_page=on_page, stop=stop)
    finally:
        stream.close()
    return summary


def _resume_into(
    plan: Plan, todo: list[tuple[KeyRange, Any]], writer: Any, summary: Summary, saver: Any, *,
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


def open_provider(
    source: str,
    *,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The credential provider (auto, env, rrsa or metadata); it fetches lazily, on first use."""
    from osslist.sources import resolve_provider

    return resolve_provider(source, role_name=role_name, metadata_endpoint=metadata_endpoint, environ=environ)


def open_client(conn: Connection, *, environ: Mapping[str, str] | None = None) -> Any:
    """Credential provider, then the bucket client (which validates bucket name, endpoint and
    region); neither contacts the network yet."""
    from osslist.client import make_bucket_client

    provider = open_provider(
        conn.credentials, role_name=conn.role_name, metadata_endpoint=conn.metadata_endpoint, environ=environ
    )
    return make_bucket_client(
        conn.bucket,
        conn.endpoint,
        provider,
        region=conn.region,
        signature_version=int(conn.signature_version),
    )


def run(plan: Plan, *, stream: IO[Any], on_page: OnPage | None = None, stop: Any = None) -> Summary:
    """Run a prepared listing, writing records to ``stream`` in the chosen format; return the
    Summary."""
    out = plan.job.output
    writer = make_writer(out.format, stream, null=out.null, human=out.human, bucket=plan.job.connection.bucket)
    return execute(plan, writer, on_page=on_page, stop=stop)


def run_du(plan: Plan, *, depth: int, by_class: bool, on_page: OnPage | None = None) -> tuple[list[Any], Summary]:
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


def execute(plan: Plan, writer: Any, *, on_page: OnPage | None = None, stop: Any = None) -> Summary:
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


def whoami(
    source: str,
    *,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Fetch credentials once and describe them: source, role, masked key id, expiry, hardened mode."""
    from osslist.client import describe_identity

    provider = open_provider(source, role_name=role_name, metadata_endpoint=metadata_endpoint, environ=environ)
    return describe_identity(provider)
