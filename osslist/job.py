"""The listing job the CLI runs: options in, a validated ``PreparedRun`` out, no network call.

The CLI parses and hands over plain values; this module validates them all before any network
call (so a bad option exits 2 having sent nothing) and builds a ``PreparedRun``: the bucket
client (built, not yet used), the ``ListingSpec``, the record predicate, and the key ranges this
run lists (decided once, by ``sharding``: the whole range, or a shard's cells from the fixed
rule or a shard plan file). Running it is ``runner``'s business; opening clients and providers
is ``connect``'s. Nothing here imports click or writes to the terminal.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, TypeVar

from osslist import filters
from osslist.backoff import DEFAULT_RETRY_BUDGET
from osslist.checkpoint import lock_path, temp_path
from osslist.filters import Predicate, keep_all
from osslist.connect import open_client
from osslist.errors import UsageError
from osslist.listing import ListingSpec
from osslist.output import FORMATS, gzips
from osslist.ranges import KeyRange
from osslist.sharding import ShardPlan, checked_shard_plan, run_ranges

if TYPE_CHECKING:
    from osslist.client import BucketClient
    from osslist.osstarget import OssTarget

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_ENDPOINT = "oss-cn-hangzhou-internal.aliyuncs.com"
LIST_APIS = ("v1", "v2")
INVENTORY_FORMAT = "oss-inventory"
OUTPUT_FORMATS = (*FORMATS, INVENTORY_FORMAT)
MIN_FILE_SIZE = 1024
CREDENTIAL_SOURCES = ("auto", "env", "rrsa", "metadata")
SIGNATURE_VERSIONS = ("1", "4")
MAX_KEY_BYTES = 1023
"""The longest OSS object key, in UTF-8 bytes: --prefix, --start-after, --end-before longer
than that cannot select anything."""
MAX_PARALLEL = 64
"""--parallel bound. Each worker holds up to a few pages (~0.5 MB each) plus one in flight,
so 64 workers stay within a few hundred MB; one process parses pages on one core, which
more workers only queue behind (more throughput: shards in more pods)."""


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
    retry_budget: float = DEFAULT_RETRY_BUDGET
    """Seconds one OSS request keeps retrying throttling and 5xx (per page: progress resets it)."""


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
    restore_states: tuple[str, ...] = ()
    """--restore-state: archive-class objects in these states (none, ongoing, restored)."""
    fetch_owner: bool = False
    """--fetch-owner: records carry their owner's ID."""
    all_versions: bool = False
    """--all-versions: every version and delete marker (ListObjectVersions), not the objects."""
    as_of: str | None = None
    """--as-of TIME: each key's version at that time (implies a version listing)."""


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """How records are written (the summary is the CLI's business)."""

    format: str = "text"
    null: bool = False
    human: bool = False
    path: str | None = None
    """--output FILE or oss://BUCKET/KEY; None is stdout (opened by the CLI)."""
    part_size: str = "8M"
    """--part-size of a report written into OSS."""
    compress: str = "auto"
    """--compress of a report written into OSS: auto (by the key's .gz), gzip or none."""
    oss_endpoint: str | None = None
    """--output-endpoint: where the report's bucket is (default: the listing's endpoint)."""
    oss_region: str | None = None
    """--output-region: its region for V4 signing (default: the listing's)."""
    summary_json: str | None = None
    """--summary-json FILE (written by the CLI at the end); here so prepare can check that no
    file serves two roles."""
    file_size: str | None = None
    """--file-size: where --format oss-inventory cuts its data files (compressed bytes)."""


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
class PreparedRun:
    """A validated job: the client, the listing spec, the record predicate and the key ranges
    this run lists (decided once here, so every later step lists the same ones)."""

    job: ListJob
    client: BucketClient  # built but not yet used
    spec: ListingSpec
    predicate: Predicate
    filters: dict[str, Any]  # Any: the parsed filter values by name (lists, ints, floats, None) for --dry-run
    ranges: tuple[KeyRange, ...]
    shard_plan: ShardPlan | None = None
    output_target: OssTarget | None = None
    """The object --output oss://... names for this run (built, nothing sent yet)."""
    as_of: float | None = None
    """--as-of, parsed (epoch seconds)."""

    @property
    def versions(self) -> bool:
        """The run lists versions (--all-versions or --as-of): the version source."""
        return self.job.selection.all_versions or self.as_of is not None

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of the --dry-run view
        """The resolved run printed by --dry-run: every value it would use, no secret."""
        conn = asdict(self.job.connection)
        conn["endpoint"] = self.client.endpoint
        conn["region"] = self.client.region
        # the metadata server the chain would ask (ALIBABA_CLOUD_IMDS_ENDPOINT too); null when
        # the source is not the metadata server. describe() makes no call.
        conn["metadata_endpoint"] = self.client.provider.describe().get("metadata_endpoint")
        return {
            "command": "ls",
            "connection": conn,
            "listing": asdict(self.spec),
            "limit": self.job.selection.limit,
            "versions": {"all_versions": self.job.selection.all_versions,
                         "as_of": None if self.as_of is None else filters.iso_utc(self.as_of)},
            "filters": self.filters,
            "output": self._output_view(),
            "scale": {**asdict(self.job.scale), **self._shard_view()},
        }

    def _output_view(self) -> dict[str, Any]:  # Any: JSON values
        view: dict[str, Any] = asdict(self.job.output)
        if self.output_target is not None:
            view["path"] = str(self.output_target.url)
            view["oss"] = self.output_target.view()
        return view

    def _shard_view(self) -> dict[str, Any]:  # Any: JSON values
        """The shard's count (the plan's when there is one) and the ranges it lists."""
        if self.job.scale.shard_index is None:
            return {}
        count = self.shard_plan.shard_count if self.shard_plan else self.job.scale.shard_count
        return {"shard_count": count, "shard_ranges": [r.to_json() for r in self.ranges]}


# --- validation ------------------------------------------------------------------------------

def _check_choice(name: str, value: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise UsageError(f"invalid {name} {value!r}: choose one of {', '.join(choices)}")


def _check_selection(sel: Selection) -> None:
    """Range and limit; list API and max-keys are ListingSpec's own checks. The range options
    are checked as keys: UTF-8 (bytes a terminal could not decode are refused, not mangled)
    and at most 1,023 bytes, since no OSS key is longer."""
    if sel.limit is not None and sel.limit < 1:
        raise UsageError(f"invalid --limit {sel.limit}: must be at least 1")
    _key_bytes("--delimiter", sel.delimiter, limit=None)
    _key_bytes("--prefix", sel.prefix)
    start = _key_bytes("--start-after", sel.start_after)
    if sel.end_before is not None and _key_bytes("--end-before", sel.end_before) <= start:
        raise UsageError("--end-before must sort after --start-after (the range would be empty)")


def _key_bytes(option: str, value: str, *, limit: int | None = MAX_KEY_BYTES) -> bytes:
    """``value`` as UTF-8, or UsageError naming ``option`` (not UTF-8, or over ``limit`` bytes)."""
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"invalid {option} {value[:40]!r}: not valid UTF-8 (OSS keys are UTF-8)") from None
    if limit is not None and len(data) > limit:
        raise UsageError(f"invalid {option}: {len(data):,} bytes, over the {limit:,} bytes of the longest OSS key")
    return data


def _check_checkpoint(checkpoint: str | None, output_path: str | None) -> None:
    if checkpoint is None:
        return
    if output_path is None:
        raise UsageError("--checkpoint needs --output FILE or oss://...: a resumed run continues that output")
    if checkpoint.startswith("oss://") and not output_path.startswith("oss://"):
        raise UsageError("--checkpoint oss://... needs --output oss://...: a local output file does not "
                         "outlive the pod, so give a local --checkpoint FILE with it")


def _check_scale(scale: Scale, output_path: str | None) -> None:
    _check_checkpoint(scale.checkpoint, output_path)
    if not 1 <= scale.parallel <= MAX_PARALLEL:
        raise UsageError(f"invalid --parallel {scale.parallel}: must be 1..{MAX_PARALLEL}")
    if scale.shard_plan is not None:
        if scale.shard_index is None:
            raise UsageError("--shard-plan needs --shard-index (the shard count comes from the plan)")
        return
    if (scale.shard_index is None) != (scale.shard_count is None):
        raise UsageError("--shard-index and --shard-count go together")
    if scale.shard_count is not None and scale.shard_index is not None:
        if scale.shard_count < 1 or not 0 <= scale.shard_index < scale.shard_count:
            raise UsageError("--shard-index must be in 0..--shard-count-1")


def _check_versions(sel: Selection, out: OutputOptions) -> None:
    """--all-versions / --as-of list with ListObjectVersions: no v2 of it; an inventory of all
    versions has its own columns, of the bucket --as-of a time none (yet)."""
    if not (sel.all_versions or sel.as_of is not None):
        return
    option = "--all-versions" if sel.all_versions else "--as-of"
    if sel.list_api != "v1":
        raise UsageError(f"{option} lists with ListObjectVersions, which has no v2: leave --list-api at v1")
    if out.format == INVENTORY_FORMAT and sel.as_of is not None:
        raise UsageError(f"--as-of cannot write --format {INVENTORY_FORMAT}; use jsonl or csv")


def _check_checkpoint_files(scale: Scale, output: OutputOptions) -> None:
    """A checkpoint truncates its output to a byte offset and renames a file over itself:
    both need regular files (or names not yet taken), never /dev/null, /dev/stdout or a pipe.
    An inventory's output is a directory (checked when the run opens it)."""
    if scale.checkpoint is None:
        return
    output_path = None if output.format == INVENTORY_FORMAT else output.path
    if output_path is not None and not output_path.startswith("oss://") and gzips(output_path, output.compress):
        raise UsageError(f"--checkpoint cannot resume a local gzip output ({output_path}): give an uncompressed "
                         "--output (or --compress none), or --output oss://BUCKET/KEY.gz, which resumes")
    for option, path in (("--output", output_path), ("--checkpoint", scale.checkpoint)):
        kind = None if path is None else _special_kind(path)
        if kind is not None:
            raise UsageError(
                f"--checkpoint needs {option} to be a regular file, and {path} is {kind}: "
                "a resumed run truncates the output at the saved offset"
            )


def _special_kind(path: str) -> str | None:
    """What ``path`` is when it is a device or stream alias (/dev/stdout, /proc/self/fd/1, a
    symlink to one: whatever fd 1 happens to be now) or exists and is not a regular file."""
    if any(hop.startswith(("/dev/", "/proc/")) for hop in _link_hops(path)):
        return "a device or stream alias"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = ((stat.S_ISREG, None), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISBLK, "a block device"))
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def _link_hops(path: str, *, limit: int = 40) -> list[str]:
    """``path`` and each symlink target it leads to (absolute, unresolved), in order."""
    hops = [os.path.abspath(path)]
    while len(hops) < limit and os.path.islink(hops[-1]):
        hops.append(os.path.abspath(os.path.join(os.path.dirname(hops[-1]), os.readlink(hops[-1]))))
    return hops


def _check_distinct_files(job: ListJob) -> None:
    """No file in two roles: records, summary JSON, checkpoint (with its lock and temporary
    file) and the shard plan it reads, compared as the files they are (symlinks, hard links,
    /dev/stdout and /proc/self/fd/1 resolve to the same file). Otherwise the last writer
    silently wins, e.g. --output X --checkpoint X leaves only the checkpoint in X."""
    out, scale = job.output, job.scale
    roles: list[tuple[str, str | None]] = [
        ("--output" if out.path is not None else "the records on stdout", out.path or STDOUT_PATH),
        ("--summary-json", out.summary_json),
        ("--shard-plan", scale.shard_plan),
        ("--checkpoint", scale.checkpoint),
    ]
    if scale.checkpoint is not None:
        roles += [("--checkpoint's lock file", str(lock_path(scale.checkpoint))),
                  ("--checkpoint's temporary file", str(temp_path(scale.checkpoint)))]
    seen: dict[tuple[str | int, ...], tuple[str, str]] = {}
    null = file_identity(os.devnull)
    for role, path in roles:
        if path is None or (key := file_identity(path)) == null:
            continue
        if key in seen:
            first, first_path = seen[key]
            raise UsageError(f"{role} {path} is the same file as {first} {first_path}: give each its own file")
        seen[key] = (role, path)


STDOUT_PATH = "/dev/stdout"


def file_identity(path: str) -> tuple[str | int, ...]:
    """Device and inode of an existing file (symlinks followed, so /dev/stdout is fd 1's file);
    else the path with every symlink resolved."""
    try:
        info = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", info.st_dev, info.st_ino)


def _check_output(out: OutputOptions) -> None:
    _check_choice("--format", out.format, OUTPUT_FORMATS)
    if out.file_size is not None and (out.format != INVENTORY_FORMAT or filters.parse_size(out.file_size) < MIN_FILE_SIZE):
        raise UsageError(f"--file-size applies to --format {INVENTORY_FORMAT} and must be at least 1K")
    if out.null and out.format not in ("text", "long"):
        raise UsageError("-0/--null applies to --format text and long only")
    if out.human and out.format != "long":
        raise UsageError("--human-readable applies to --format long only (jsonl and csv keep exact bytes)")


def _check_inventory(job: ListJob) -> None:
    """--format oss-inventory: a directory or oss:// prefix, objects only."""
    if job.output.format != INVENTORY_FORMAT:
        return
    if job.output.path is None:
        raise UsageError(f"--format {INVENTORY_FORMAT} needs --output DIR or --output oss://BUCKET/PREFIX/")
    if job.selection.delimiter:
        raise UsageError(f"--format {INVENTORY_FORMAT} lists objects: it takes no --delimiter")
    if not job.output.path.startswith("oss://"):  # an oss:// one is checked with its target
        from osslist.osstarget import ReportSettings  # oss2 stays out of --help

        ReportSettings(part_size=job.output.part_size).part_bytes()


def _check_connection(conn: Connection) -> None:
    _check_choice("--signature-version", conn.signature_version, SIGNATURE_VERSIONS)
    _check_choice("--credentials", conn.credentials, CREDENTIAL_SOURCES)


def _maybe(parse: Callable[[str], T], text: str | None) -> T | None:
    return None if text is None else parse(text)


def _build_filter(sel: Selection, *, now: float) -> tuple[Predicate, dict[str, Any]]:  # Any: as PreparedRun.filters
    """Parse sizes and times with the filters module; return the predicate and its plan view
    (times there as ISO 8601 UTC, what a person compares with the bucket's LastModified)."""
    parsed: dict[str, Any] = {
        "include": list(sel.include),
        "exclude": list(sel.exclude),
        "min_size": _maybe(filters.parse_size, sel.min_size),
        "max_size": _maybe(filters.parse_size, sel.max_size),
        "modified_after": _maybe(lambda text: filters.parse_time(text, now=now), sel.modified_after),
        "modified_before": _maybe(lambda text: filters.parse_time(text, now=now), sel.modified_before),
        "storage_classes": [filters.parse_storage_class(c) for c in sel.storage_classes],
        "restore_states": [filters.parse_restore_state(s) for s in sel.restore_states],
    }
    lo, hi = parsed["min_size"], parsed["max_size"]
    if lo is not None and hi is not None and lo > hi:
        raise UsageError("--min-size is larger than --max-size: nothing could match")
    after, before = parsed["modified_after"], parsed["modified_before"]
    if after is not None and before is not None and after >= before:
        raise UsageError("--modified-after is not earlier than --modified-before: nothing could match")
    view = {**parsed, "modified_after": None if after is None else filters.iso_utc(after),
            "modified_before": None if before is None else filters.iso_utc(before)}
    if all(value is None or value == [] for value in parsed.values()):
        return keep_all, view
    return filters.build_filter(**parsed), view


def _listing_spec(sel: Selection) -> ListingSpec:
    return ListingSpec(
        prefix=sel.prefix,
        delimiter=sel.delimiter,
        start_after=sel.start_after,
        end_before=sel.end_before,
        list_api=sel.list_api,
        max_keys=sel.max_keys,
        fetch_owner=sel.fetch_owner,
    )


def prepare(job: ListJob, *, now: float | None = None, environ: Mapping[str, str] | None = None) -> PreparedRun:
    """Validate every option, decide the key ranges and build the client; raises UsageError,
    makes no network call.

    The bucket client is built here (the credential provider fetches lazily) so --dry-run
    checks exactly what a run would use: bucket name, endpoint, region for V4 signing."""
    _check_connection(job.connection)
    _check_selection(job.selection)
    _check_output(job.output)
    _check_versions(job.selection, job.output)
    _check_inventory(job)
    _check_scale(job.scale, job.output.path)
    _check_checkpoint_files(job.scale, job.output)
    _check_distinct_files(job)
    moment = time.time() if now is None else now
    predicate, parsed = _build_filter(job.selection, now=moment)
    as_of = _maybe(lambda text: filters.parse_time(text, now=moment), job.selection.as_of)
    spec = _listing_spec(job.selection)
    shards = _shard_plan(job, spec)
    ranges = run_ranges(spec, shard_index=job.scale.shard_index, shard_count=job.scale.shard_count, shard_plan=shards)
    conn = job.connection
    client = open_client(
        conn.bucket, conn.endpoint, region=conn.region, signature_version=conn.signature_version,
        credentials=conn.credentials, role_name=conn.role_name, metadata_endpoint=conn.metadata_endpoint,
        retry_budget=conn.retry_budget, environ=environ,
    )
    target = _output_target(job, client, now=now, environ=environ)
    return PreparedRun(job=job, client=client, spec=spec, predicate=predicate, filters=parsed,
                       ranges=tuple(ranges), shard_plan=shards, output_target=target, as_of=as_of)


def _output_target(
    job: ListJob, client: BucketClient, *, now: float | None, environ: Mapping[str, str] | None
) -> OssTarget | None:
    """--output oss://...: the object this run writes, on the listing's credentials."""
    path = job.output.path
    if path is None or not path.startswith("oss://") or job.output.format == INVENTORY_FORMAT:
        return None  # an inventory writes many objects under a prefix (its own store)
    return oss_target(job, client, "--output", path, now=now, environ=environ)


def oss_target(
    job: ListJob, client: BucketClient, option: str, text: str, *, now: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> OssTarget:
    """The object an ``oss://`` value of ``option`` (--output, --summary-json) names for this
    run, with the job's report settings; UsageError when it is not one. Sends nothing."""
    from osslist.osstarget import ReportSettings, run_facts, target_for  # oss2 stays out of --help

    out = job.output
    settings = ReportSettings(endpoint=out.oss_endpoint, region=out.oss_region, part_size=out.part_size,
                              compress=out.compress)
    facts = run_facts(bucket=job.connection.bucket, shard=job.scale.shard_index, now=now)
    return target_for(option, text, listing=client, settings=settings, facts=facts,
                      environ=os.environ if environ is None else environ)


def _shard_plan(job: ListJob, spec: ListingSpec) -> ShardPlan | None:
    """--shard-plan's file, checked against the command line; None without one."""
    scale = job.scale
    if scale.shard_plan is None:
        return None
    assert scale.shard_index is not None, "_check_scale checks --shard-plan has --shard-index"
    return checked_shard_plan(scale.shard_plan, bucket=job.connection.bucket, spec=spec,
                              shard_index=scale.shard_index, shard_count=scale.shard_count)
