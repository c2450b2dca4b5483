"""Command line of osslist: the only module that imports click or tqdm, or calls sys.exit.

Commands parse options into plain values and hand them to the library (job, du, credentials,
demo, emulator). Errors become exit codes here and only here: our OsslistError carries its own
``exit_code``; click usage errors are 2; anything unexpected is 1. Each error is one line on
stderr; the traceback is shown only with -v/--verbose. stdout carries records only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import posixpath
import sys
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, NoReturn, Sequence, TypeVar

import click
from click.core import ParameterSource

from osslist import job as jobs
from osslist.backoff import DEFAULT_RETRY_BUDGET
from osslist import runner
from osslist.checkpoint import StopFlag
from osslist.connect import open_client, whoami
from osslist import diff as diffs
from osslist.prefixtotals import DU_FORMATS
from osslist.errors import CheckpointFinished, ListingError, OsslistError, UsageError
from osslist.errortext import error_line, one_line, safe_traceback
from osslist.output import LocalGzip, OutputFile, Stream, gzips
from osslist.sharding import MAX_SHARD_COUNT, make_shard_plan

if TYPE_CHECKING:
    from tqdm import tqdm

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("osslist")

_EXIT_MEANINGS = {
    0: "success",
    1: "anything else: OSS kept failing past the retries, the listing protocol broke",
    2: "usage or bad input (bad option, invalid bucket name, a checkpoint of another run or output, "
       "one file in two roles); no network call was made",
    3: "credentials: no role attached, metadata server unreachable, STS refused",
    4: "OSS refused: AccessDenied, NoSuchBucket, a key or token a refresh did not cure",
    130: "Ctrl-C (SIGINT)",
    141: "the reader of stdout went away (e.g. | head): stopped quietly",
    143: "SIGTERM: stopped after the current page (saved, with --checkpoint)",
}


def exit_codes_epilog(*codes: int, **meanings: str) -> str:
    """The "Exit codes" block of a command's --help: the codes it can end with, each with its
    meaning (``meanings`` overrides one by name: ``c0="..."``)."""
    lines = ["\b", "Exit codes:"]
    lines += [f"  {code:<4} {meanings.get(f'c{code}', _EXIT_MEANINGS[code])}" for code in codes]
    return "\n".join(lines) + "\n"


INTERRUPTED = ("stopped by Ctrl-C: the output is incomplete; a run with --checkpoint continues from its last "
               "save when the same command is rerun")
EXIT_CODES_EPILOG = exit_codes_epilog(0, 1, 2, 3, 4, 130, 141, 143,
                                      c0="success (also when --limit stopped the listing; a finished "
                                         "--checkpoint lists nothing)")


GROUP_FLAGS = ("--version",)
HELP_OPTIONS = ["-h", "--help"]


class DefaultCommandGroup(click.Group):
    """A group whose default command is ``ls``, so the seed's ``osslist --bucket B`` works.

    It also owns the edge: errors become one line on stderr and an exit code."""

    default_command = "ls"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``ls`` when the first argument is an option other than the group's own. A
        first word that is no command is a mistyped one (``ls`` takes no argument), so click
        says "No such command" instead of ls's "unexpected extra argument"."""
        if not args or (args[0].startswith("-") and args[0] not in (*GROUP_FLAGS, *ctx.help_option_names)):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,  # Any: click.Command.main's own
    ) -> NoReturn:
        """Run with click's own error handling off, so usage errors print as one line too."""
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            click.echo(f"Error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl-C: click turns KeyboardInterrupt into Abort
            click.echo(INTERRUPTED, err=True)
            sys.exit(130)
        sys.exit(_flushed_stdout(rv if isinstance(rv, int) else 0))


def _flushed_stdout(code: int) -> int:
    """Flush stdout now, while a failure can still be one line and an exit code (at
    interpreter exit it would be Python's "Exception ignored" and 120); ``code`` if it worked."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except OSError as exc:
        _silence_stdout()
        click.echo(f"Error: cannot write stdout: {exc.strerror or type(exc).__name__}", err=True)
        return code or 1
    return code


def edge(func: F, *, least: int = 1) -> F:
    """Turn what a command raises into an exit code and one line (traceback with --verbose).
    ``least``: the lowest code a failure gets (diff keeps 1 for "the listings differ")."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(kwargs.get("verbose"))
        _configure_logging(verbose)
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except BrokenPipeError:
            # The reader went away (`| head`): not an error of ours, and nothing more to say.
            _silence_stdout()
            raise click.exceptions.Exit(141) from None
        except Exception as exc:  # the edge: every failure becomes a line and a code
            if verbose:
                sys.stderr.write(safe_traceback(exc))
            click.echo(error_line(exc), err=True)
            code = exc.exit_code if isinstance(exc, OsslistError) else 1
            raise click.exceptions.Exit(max(code, least)) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps types it as _Wrapped, not as F


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real fd (e.g. under CliRunner)
        pass


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # [TextIO] needs Python 3.11 at run time
    """Writes to whatever sys.stderr is at the time of the record (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def _configure_logging(verbose: bool) -> None:
    """osslist's own loggers: warnings by default, DEBUG with -v, always to stderr. oss2 stays at
    WARNING whatever happens (its DEBUG output dumps Authorization and token headers)."""
    logging.getLogger("oss2").setLevel(logging.WARNING)
    handler = _StderrHandler()
    detail = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s"
    handler.setFormatter(logging.Formatter(detail))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False


class EnvOption(click.Option):
    """A click.Option whose errors name its env var only where that helps: as the source of a
    bad value that came from it, or as the other way to give a missing one. (click names it
    in every error, which misleads when the flag was typed.)"""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        hint = click.Parameter.get_error_hint(self, ctx)
        source = ctx.get_parameter_source(self.name) if ctx is not None and self.name else None
        if source is ParameterSource.ENVIRONMENT:
            return f"{hint} (from env var {self.envvar})"
        if source is ParameterSource.COMMANDLINE or not self.envvar:
            return hint
        return f"{hint} (or env var {self.envvar})"


if TYPE_CHECKING:  # click 8.5's ParamType is generic; an older click (>= 8.2 is allowed) cannot be subscripted
    _TextParam = click.ParamType[str, object]
else:
    _TextParam = click.ParamType


class LinesParam(_TextParam):
    """A repeatable option's type. Its env var holds one value per line, not per word: a glob
    may hold spaces (``my file*.gz``), and a ConfigMap block scalar (``|``) writes one per
    line. Blank lines (the scalar's final newline) are skipped; ``\\r\\n`` works too."""

    name = "text"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return str(value)

    def split_envvar_value(self, rv: str) -> list[str]:
        return [line.removesuffix("\r") for line in (rv or "").split("\n") if line.strip()]


LINES = LinesParam()
ENV_LIST_NOTE = "repeatable; in its env var, one per line"


def _opt(*names: str, env: str, **kwargs: Any) -> Callable[[F], F]:
    """click.option with its OSSLIST_<NAME> env var, shown in --help. A repeatable option
    reads its env var line by line (LinesParam) unless it has a type of its own."""
    if kwargs.get("multiple"):
        kwargs.setdefault("type", LINES)
    return click.option(*names, cls=EnvOption, envvar=f"OSSLIST_{env}", show_envvar=True, **kwargs)


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


credential_options = _stack(
    _opt(
        "--credentials",
        env="CREDENTIALS",
        type=click.Choice(jobs.CREDENTIAL_SOURCES),
        default="auto",
        show_default=True,
        help="Credential source: auto tries env keys, then RRSA, then the instance RAM role.",
    ),
    _opt("--role-name", env="ROLE_NAME", help="RAM role name; skips discovery (else ALIBABA_CLOUD_ECS_METADATA)."),
    _opt(
        "--metadata-endpoint",
        env="METADATA_ENDPOINT",
        help="Metadata server base URL (else ALIBABA_CLOUD_IMDS_ENDPOINT, else the instance's).",
    ),
)

endpoint_options = _stack(
    _opt(
        "--endpoint",
        env="ENDPOINT",
        default=jobs.DEFAULT_ENDPOINT,
        show_default=True,
        help="OSS endpoint host or URL; https:// when no scheme is given.",
    ),
    _opt("--region", env="REGION", help="Region for V4 signing (default: taken from the endpoint)."),
    _opt(
        "--signature-version",
        env="SIGNATURE_VERSION",
        type=click.Choice(jobs.SIGNATURE_VERSIONS),
        default="4",
        show_default=True,
        help="OSS request signature version.",
    ),
    _opt(
        "--retry-budget",
        env="RETRY_BUDGET",
        type=click.FloatRange(min=0, max=86400),
        default=DEFAULT_RETRY_BUDGET,
        show_default=True,
        help="Seconds each request (a page, an object call) keeps retrying while OSS throttles "
        "(503/429) or fails (5xx); one that succeeds resets it. 0: no retries.",
    ),
    credential_options,
)

connection_options = _stack(
    _opt("--bucket", env="BUCKET", required=True, help="Bucket to list."),
    endpoint_options,
)

list_api_option = _opt(
    "--list-api",
    env="LIST_API",
    type=click.Choice(jobs.LIST_APIS),
    default="v1",
    show_default=True,
    help="ListObjects with marker (v1) or ListObjectsV2 with continuation token (v2).",
)

paging_options = _stack(
    list_api_option,
    _opt(
        "--max-keys",
        env="MAX_KEYS",
        type=click.IntRange(1, 1000),
        default=1000,
        show_default=True,
        help="Keys per page (1..1000).",
    ),
)

key_range_options = _stack(
    _opt("--prefix", env="PREFIX", default="", help="Only keys starting with this prefix."),
    _opt(
        "--start-after",
        "--marker",
        "start_after",
        env="START_AFTER",
        default="",
        help="Only keys sorting strictly after this key (alias --marker).",
    ),
    _opt("--end-before", env="END_BEFORE", help="Only keys sorting strictly before this key."),
)

delimiter_option = _opt(
    "--delimiter",
    env="DELIMITER",
    default="",
    help="Group keys one level deep at this character (e.g. /); common prefixes become records.",
)

filter_options = _stack(
    _opt("--include", env="INCLUDE", multiple=True, help=f"Only keys matching this glob ({ENV_LIST_NOTE})."),
    _opt("--exclude", env="EXCLUDE", multiple=True, help=f"Skip keys matching this glob ({ENV_LIST_NOTE})."),
    _opt("--min-size", env="MIN_SIZE", help="Only objects at least this big (bytes, or 10K, 5M, 1G)."),
    _opt("--max-size", env="MAX_SIZE", help="Only objects at most this big (bytes, or 10K, 5M, 1G)."),
    _opt(
        "--modified-after",
        env="MODIFIED_AFTER",
        help="Only objects modified at or after this time (ISO 8601 like 2024-01-01, or an age like 7d).",
    ),
    _opt(
        "--modified-before",
        env="MODIFIED_BEFORE",
        help="Only objects modified before this time (ISO 8601, or an age like 7d).",
    ),
    _opt(
        "--storage-class",
        "storage_classes",
        env="STORAGE_CLASS",
        multiple=True,
        help=f"Only this storage class: Standard, IA, Archive, ColdArchive, DeepColdArchive ({ENV_LIST_NOTE}).",
    ),
    _opt(
        "--restore-state",
        "restore_states",
        env="RESTORE_STATE",
        multiple=True,
        help="Only archive-class objects (Archive, ColdArchive, DeepColdArchive) in this restore state: none "
        f"(not restored), ongoing (being restored), restored (readable until its expiry) ({ENV_LIST_NOTE}).",
    ),
)

version_options = _stack(
    _opt(
        "--all-versions",
        env="ALL_VERSIONS",
        is_flag=True,
        help="Every version and delete marker (ListObjectVersions; RAM action oss:ListObjectVersions), "
        "keys ascending, each key's versions newest first.",
    ),
    _opt(
        "--as-of",
        env="AS_OF",
        help="The bucket as it was at this time (ISO 8601 or an age like 7d): each key's newest version "
        "at or before it, none if that is a delete marker (oss:ListObjectVersions).",
    ),
)

record_format_options = _stack(
    _opt(
        "--format",
        "fmt",
        env="FORMAT",
        type=click.Choice(jobs.OUTPUT_FORMATS),
        default="text",
        show_default=True,
        help="text: keys; long: time, size, class, etag, key; jsonl: one JSON object per line; csv: inventory columns; "
        "oss-inventory: OSS's bucket inventory layout (manifest.json + data/*.csv.gz) in --output.",
    ),
    _opt(
        "--file-size",
        env="FILE_SIZE",
        help="With --format oss-inventory: cut data files at this many compressed bytes (default 64M; at least 1K).",
    ),
    _opt("-0", "--null", env="NULL", is_flag=True, help="With --format text, end each key with NUL, not newline."),
    _opt(
        "--human-readable",
        "human",
        env="HUMAN_READABLE",
        is_flag=True,
        help="Human sizes (1.5K, 23M) with --format long (-h is --help).",
    ),
)

def _destination_options(output_help: str, part_size_help: str) -> Callable[[F], F]:
    """--output and its oss:// companions; the help of --output and --part-size says how the
    command writes (ls streams its records, du writes its totals at the end)."""
    return _stack(
        _opt("--output", env="OUTPUT", type=click.Path(), help=output_help),
        _summary_json_option,
        _opt("--part-size", env="PART_SIZE", default="8M", show_default=True, help=part_size_help),
        *_oss_output_options,
    )


_summary_json_option = _opt(
    "--summary-json",
    env="SUMMARY_JSON",
    type=click.Path(dir_okay=False),
    help="Also write the summary as JSON to this file (or oss://BUCKET/KEY).",
)
_oss_output_options = (
    _opt(
        "--compress",
        env="COMPRESS",
        type=click.Choice(["auto", "gzip", "none"]),
        default="auto",
        show_default=True,
        help="gzip the --output (a file or oss://): auto when its name ends in .gz.",
    ),
    _opt("--output-endpoint", env="OUTPUT_ENDPOINT", help="Endpoint of the oss:// output's bucket (default: --endpoint)."),
    _opt("--output-region", env="OUTPUT_REGION", help="Region of the oss:// output's bucket (default: --region)."),
    _opt("--no-progress", env="NO_PROGRESS", is_flag=True, help="No progress bar (it shows only on a terminal)."),
)

destination_options = _destination_options(
    "Write records to this file, not stdout; or stream them into OSS: oss://BUCKET/KEY, the key "
    "with {date} {time} {bucket} {shard} {env:NAME} filled in (a .gz key is gzipped); --format "
    "oss-inventory: a directory or oss://BUCKET/PREFIX/.",
    "Part size of an oss:// output (100K..5G); it doubles every 1000 parts, so OSS's 10,000 suffice. "
    "An oss-inventory data file in a directory is made durable (fsync) this often, for --checkpoint.",
)

du_destination_options = _destination_options(
    "Write the totals to this file, not stdout; or to OSS: oss://BUCKET/KEY, written as one object when "
    "the totals are complete, the key with {date} {time} {bucket} {env:NAME} filled in (a .gz key "
    "is gzipped).",
    "Part size of an oss:// output (100K..5G): totals larger than one part go up in parts.",
)


parallel_option = _opt(
    "--parallel",
    env="PARALLEL",
    type=click.IntRange(1, jobs.MAX_PARALLEL),
    default=1,
    show_default=True,
    help=f"List this many key ranges concurrently, 1..{jobs.MAX_PARALLEL} (output order unchanged).",
)

scale_options = _stack(
    parallel_option,
    _opt("--shard-index", env="SHARD_INDEX", type=click.IntRange(min=0), help="This worker's shard (0-based)."),
    _opt("--shard-count", env="SHARD_COUNT", type=click.IntRange(min=1), help="Number of shards in all."),
    _opt(
        "--shard-plan",
        env="SHARD_PLAN",
        type=click.Path(dir_okay=False),
        help="Shard boundaries from `osslist plan` (even shards); with --shard-index, the count comes from it.",
    ),
    _opt(
        "--checkpoint",
        env="CHECKPOINT",
        type=click.Path(dir_okay=False),
        help="Save progress here after every page; rerun the same command to resume (needs --output). With "
        "--output oss://..., also oss://BUCKET/KEY: saved after every uploaded part, resumed by a new pod.",
    ),
)

verbose_option = _opt(
    "-v", "--verbose", env="VERBOSE", is_flag=True, help="Debug logs and tracebacks on stderr (never secrets)."
)

run_options = _stack(
    _opt("--dry-run", env="DRY_RUN", is_flag=True, help="Validate everything, print the plan as JSON, call nothing."),
    verbose_option,
)


@click.group(
    cls=DefaultCommandGroup,
    context_settings={"help_option_names": HELP_OPTIONS, "max_content_width": 110},
    epilog=EXIT_CODES_EPILOG,
)
@click.version_option(package_name="osslist")
def main() -> None:
    """List every object of an Alibaba Cloud OSS bucket from a pod, with the pod's RAM role.

    The default command is ls: `osslist --bucket B` is `osslist ls --bucket B`.
    Every option can also be set with the environment variable shown beside it.
    """


def _list_job(params: dict[str, Any]) -> jobs.ListJob:
    """Copy the parsed options into the job's plain values."""
    return jobs.ListJob(
        connection=_connection(params),
        selection=jobs.Selection(
            list_api=params["list_api"],
            max_keys=params["max_keys"],
            prefix=params["prefix"],
            delimiter=params.get("delimiter", ""),
            start_after=params["start_after"],
            end_before=params["end_before"],
            limit=params.get("limit"),
            include=tuple(params["include"]),
            exclude=tuple(params["exclude"]),
            min_size=params["min_size"],
            max_size=params["max_size"],
            modified_after=params["modified_after"],
            modified_before=params["modified_before"],
            storage_classes=tuple(params["storage_classes"]),
            restore_states=tuple(params.get("restore_states", ())),
            fetch_owner=params.get("fetch_owner", False),
            all_versions=params.get("all_versions", False),
            as_of=params.get("as_of"),
        ),
        output=jobs.OutputOptions(
            format=params.get("fmt", "text"),
            null=params.get("null", False),
            human=params.get("human", False),
            path=_local_path("--output", params.get("output"), params),
            part_size=params.get("part_size") or "8M",
            compress=params.get("compress") or "auto",
            oss_endpoint=params.get("output_endpoint"),
            oss_region=params.get("output_region"),
            summary_json=_local_path("--summary-json", params.get("summary_json"), params),
            file_size=params.get("file_size"),
        ),
        scale=jobs.Scale(
            parallel=params.get("parallel", 1),
            shard_index=params.get("shard_index"),
            shard_count=params.get("shard_count"),
            shard_plan=params.get("shard_plan"),
            checkpoint=params.get("checkpoint"),
        ),
    )


def _local_path(option: str, path: str | None, params: dict[str, Any], *, report: str = "") -> str | None:
    """A local --output / --summary-json with an oss:// key's placeholders expanded ({date} {time}
    {bucket} {shard} {env:NAME}, {report} in diff), before anything checks or opens it: never a
    file named ``{date}.jsonl``, and a placeholder that cannot be expanded is exit 2 up front."""
    from osslist.ossurl import RunFacts, expand_path, is_oss_url

    if path is None or is_oss_url(path):
        return path
    facts = RunFacts(datetime.now(timezone.utc), params.get("bucket") or "", params.get("shard_index"), report)
    return expand_path(option, path, facts, os.environ)


def _connection(params: dict[str, Any]) -> jobs.Connection:
    return jobs.Connection(
        bucket=params["bucket"],
        endpoint=params["endpoint"],
        region=params["region"],
        signature_version=params["signature_version"],
        credentials=params["credentials"],
        role_name=params["role_name"],
        metadata_endpoint=params["metadata_endpoint"],
        retry_budget=params["retry_budget"],
    )


def _print_plan(plan: dict[str, Any]) -> None:
    _emit(json.dumps(plan, indent=2, sort_keys=True) + "\n")


def _emit(text: str) -> None:
    """Text for stdout (a plan, whoami's answer), written so that a failure names stdout."""
    stream = _open_output(None)
    try:
        stream.write(text)
    finally:
        _release(stream)


class _Progress:
    """A tqdm bar on stderr when it is a terminal (and not --no-progress); else nothing."""

    def __init__(self, *, disabled: bool) -> None:
        self._bar: tqdm[NoReturn] | None = None
        if not disabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(unit=" obj", unit_scale=True, file=sys.stderr, leave=False, dynamic_ncols=True)

    def __call__(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _open_output(path: str | None, option: str = "--output", *, compress: str = "auto") -> OutputFile:
    """The record stream, as bytes: FILE (created or truncated; gzipped when its name ends in
    .gz or with --compress gzip) or stdout. A write that fails later (disk full, /dev/full)
    then names it."""
    if path is None:
        stdout = _stdout()
        stdout.flush()  # anything click.echo wrote goes first
        return OutputFile(stdout.buffer, "stdout", owned=False)
    return OutputFile(_open_file(path, option, gzip_as=path, compress=compress), f"{option} {path}", owned=True)


def _open_file(path: str, option: str, *, gzip_as: str, compress: str = "auto") -> IO[bytes] | LocalGzip:
    """``path`` opened for writing, gzipped when ``gzip_as`` (the name the file will have) says so."""
    try:
        raw = open(path, "wb")
    except OSError as exc:
        raise UsageError(f"cannot write {option} {path}: {exc.strerror}") from exc
    return LocalGzip(raw) if gzips(gzip_as, compress) else raw


def _stdout() -> Any:
    """sys.stdout, checked before any request: when the shell closed it (``>&-``) Python sets
    it to None, and what osslist would print there would be lost."""
    if sys.stdout is None:
        raise UsageError("stdout is closed: give --output FILE, or redirect stdout (e.g. >/dev/null)")
    return sys.stdout


def _check_writable(option: str, path: str | None, *, replaced: bool = False) -> None:
    """Refuse, before any request, a file that is only written once the listing is done: a
    typo in its directory must not cost a listing of the whole bucket. A ``replaced`` file
    (the checkpoint: temp file then rename) needs its directory writable, not the file. An
    oss:// destination is checked by its probe instead (OssTarget.open)."""
    if path is None or path.startswith("oss://"):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"cannot write {option} {path}: no such directory {parent}")
    target = path if os.path.exists(path) and not replaced else parent
    if not os.access(target, os.W_OK):
        raise UsageError(f"cannot write {option} {path}: permission denied")


def _write_summary_json(path: str | None, summary: Any) -> None:
    if path is None:
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(summary.to_json() + "\n")
    except OSError as exc:
        raise OsslistError(f"cannot write --summary-json {path}: {exc.strerror}") from exc


def _finish(summary: Any, summary_out: _SummaryOut | str | None) -> None:
    """The summary goes to stderr (stdout is records only) and, on request, to a JSON file
    (a path) or object (a _SummaryOut resolved and probed before the run)."""
    click.echo(summary.to_text(), err=True)
    if isinstance(summary_out, _SummaryOut):
        summary_out.write(summary)
    else:
        _write_summary_json(summary_out, summary)


class _SummaryOut:
    """--summary-json: a file (its directory checked now) or an OSS object (resolved now by
    ``resolve(text)`` into an OssTarget, probed before the listing with ``probe()``, written at
    the end)."""

    def __init__(self, text: str | None, resolve: Callable[[str], Any]) -> None:  # Any: OssTarget
        self._text = text
        self._target = None
        self._writer: Any = None  # an OssWriter once probed (Any: oss2 stays out of --help)
        if text is not None and text.startswith("oss://"):
            self._target = resolve(text)
        else:
            _check_writable("--summary-json", text)

    @classmethod
    def of_run(cls, plan: jobs.PreparedRun, text: str | None) -> _SummaryOut:
        """The --summary-json of a listing run: an oss:// target resolved as its --output is."""
        return cls(text, lambda url: jobs.oss_target(plan.job, plan.client, "--summary-json", url))

    def view(self) -> dict[str, Any]:
        return {} if self._target is None else {"summary_json": self._target.view()}

    def probe(self) -> None:
        if self._target is not None:
            self._writer = self._target.open()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()

    def write(self, summary: Any) -> None:
        if self._writer is None:
            _write_summary_json(self._text, summary)
            return
        try:
            self._writer.write((summary.to_json() + "\n").encode())
        except BaseException:
            self._writer.abort()
            raise
        self._writer.close()


@main.command("ls", epilog=EXIT_CODES_EPILOG)
@connection_options
@paging_options
@key_range_options
@delimiter_option
@_opt("--limit", env="LIMIT", type=click.IntRange(min=1), help="Stop after writing this many records (exit 0).")
@filter_options
@version_options
@_opt(
    "--fetch-owner",
    env="FETCH_OWNER",
    is_flag=True,
    help="Write each object's owner ID (jsonl owner, csv Owner). With --list-api v2 it asks OSS for it "
    "(fetch-owner=true); v1 always sends it, but it is only written with this option.",
)
@record_format_options
@destination_options
@scale_options
@run_options
@edge
def ls_command(**params: Any) -> None:
    """List the objects of a bucket, page by page, exactly and in key order.

    \b
    Examples:
      osslist --bucket my-bucket
      osslist ls --bucket my-bucket --prefix logs/ --format jsonl --output keys.jsonl
      osslist ls --bucket my-bucket --delimiter / --format long --human-readable
      osslist ls --bucket my-bucket --modified-after 7d --min-size 1M --storage-class IA
      osslist ls --bucket my-bucket --all-versions --format jsonl --output versions.jsonl
      osslist ls --bucket my-bucket --as-of 2024-06-01T00:00:00Z
    """
    plan = jobs.prepare(_list_job(params))
    summary_out = _SummaryOut.of_run(plan, plan.job.output.summary_json)
    _check_writable("--checkpoint", params["checkpoint"], replaced=True)
    if params["dry_run"]:
        _print_plan({**plan.to_dict(), **summary_out.view()})
        return
    progress = _Progress(disabled=params["no_progress"])
    summary_out.probe()
    with StopFlag() as stop:  # kept through the summary: a SIGTERM after the listing changes nothing
        try:
            summary = _run_listing(plan, progress, stop)
        except CheckpointFinished as note:  # exit 0, one line, and no old summary shown as new
            summary_out.abort()
            click.echo(str(note), err=True)
            return
        except BaseException:
            summary_out.abort()
            raise
        finally:
            progress.close()
        _finish(summary, summary_out)


def _run_listing(plan: jobs.PreparedRun, progress: _Progress, stop: StopFlag) -> Any:
    """Plain runs stream to stdout or --output; --checkpoint runs save after every page. Either
    way SIGTERM (what Kubernetes sends first) ends the run after the page being committed,
    abandoning requests in flight: exit 143 (see runner.Stopper)."""
    if plan.job.output.format == jobs.INVENTORY_FORMAT:
        return _run_inventory(plan, progress, stop)
    if plan.job.scale.checkpoint is not None and plan.output_target is not None:
        from osslist.ossresume import run_resumable_oss

        return run_resumable_oss(plan, on_page=progress, stop=stop)
    if plan.job.scale.checkpoint is not None:
        return runner.run_resumable(plan, on_page=progress, stop=stop)
    if plan.output_target is not None:
        return _run_into_oss(plan, progress, stop)
    stream = _open_output(plan.job.output.path, compress=plan.job.output.compress)
    try:
        return runner.run(plan, stream=stream, on_page=progress, stop=stop)
    finally:
        _release(stream)


def _run_into_oss(plan: jobs.PreparedRun, progress: _Progress, stop: StopFlag) -> Any:
    """--output oss://...: the same run into an OssWriter, opened (probed) before the first
    listing request; the object appears when the run succeeds, a failed or stopped run aborts
    the upload so no part stays billed."""
    assert plan.output_target is not None
    writer = plan.output_target.open()
    try:
        summary = runner.run(plan, stream=writer, on_page=progress, stop=stop)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return summary



def _run_inventory(plan: jobs.PreparedRun, progress: _Progress, stop: StopFlag) -> Any:
    """--format oss-inventory: the run loop into an InventoryWriter; its manifest is written
    only after the listing succeeded (a failure drops the data file in progress, unless a
    --checkpoint keeps it for the rerun to continue)."""
    from osslist import inventory
    from osslist.filters import parse_size

    out, scale = plan.job.output, plan.job.scale
    assert out.path is not None, "prepare() checks --format oss-inventory has --output"
    count = plan.shard_plan.shard_count if plan.shard_plan else scale.shard_count
    shard = None if scale.shard_index is None or count is None else inventory.Shard(scale.shard_index, count)
    writer = inventory.InventoryWriter(
        _inventory_store(out.path, plan), source_bucket=plan.job.connection.bucket, started=datetime.now(timezone.utc),
        file_size=parse_size(out.file_size) if out.file_size else inventory.DEFAULT_FILE_SIZE, shard=shard,
        ranges=plan.ranges, versions=plan.job.selection.all_versions, resumable=scale.checkpoint is not None,
    )
    if scale.checkpoint is not None:
        from osslist.inventoryresume import run_resumable_inventory

        summary, written = run_resumable_inventory(plan, writer, on_page=progress, stop=stop)
    else:
        try:
            summary = runner.execute(plan, writer, on_page=progress, stop=stop)
        except BaseException:
            writer.abort()
            raise
        written = writer.commit()
    click.echo(f"inventory: wrote {written}", err=True)
    return summary


def _inventory_store(path: str, plan: jobs.PreparedRun) -> Any:
    """--output of an inventory: a directory, or oss://BUCKET/PREFIX/ resolved as every oss://
    output is (placeholders, --output-endpoint/--output-region, --part-size)."""
    from osslist import inventorystores
    from osslist.filters import parse_size
    from osslist.ossurl import is_oss_url

    keep = plan.job.scale.checkpoint is not None  # a failed data file is the checkpoint's to continue
    if not is_oss_url(path):
        if os.path.exists(path) and not os.path.isdir(path):
            raise UsageError(f"--format oss-inventory writes a directory: --output {path} is a file")
        return inventorystores.LocalStore(path, part_size=parse_size(plan.job.output.part_size))
    target = jobs.oss_target(plan.job, plan.client, "--output", path)
    return inventorystores.OssStore(target.objects, target.url.key, part_size=target.part_size,
                                    keep_failed_uploads=keep)


@main.command("plan", epilog=exit_codes_epilog(0, 1, 2, 3, 4, 130, 141, c0="success: the plan is written"))
@connection_options
@list_api_option
@key_range_options
@_opt(
    "--shard-count", env="SHARD_COUNT", type=click.IntRange(1, MAX_SHARD_COUNT), required=True,
    help=f"Number of shards to plan (1..{MAX_SHARD_COUNT:,}).",
)
@_opt(
    "--output",
    env="PLAN_OUTPUT",
    type=click.Path(dir_okay=False),
    help="Write the plan (JSON) to this file or oss://BUCKET/KEY, not stdout.",
)
@verbose_option
@edge
def plan_command(**params: Any) -> None:
    """Sample the bucket once and write even shard boundaries to a plan file for ls.

    It walks the folder tree (cutting at leaf folders) or samples pages (flat keys): a few
    dozen requests for a few shards, more as the shard count grows (the walk looks for about
    four leaf folders per shard). Every pod of an Indexed Job then lists its shard from the
    same file (mount it from a ConfigMap; second example), so the shards stay exact whatever
    changes in the bucket. The estimated keys per shard and the requests made go to stderr.

    \b
    Examples:
      osslist plan --bucket my-bucket --shard-count 4 --output plan.json
      osslist ls --bucket my-bucket --shard-plan plan.json --shard-index 0
    """
    job = jobs.ListJob(
        connection=_connection(params),
        selection=jobs.Selection(
            list_api=params["list_api"],
            prefix=params["prefix"],
            start_after=params["start_after"],
            end_before=params["end_before"],
        ),
    )
    plan = jobs.prepare(job)
    output = _local_path("--output", params["output"], params)
    _check_writable("--output", output)
    report = None
    if output is not None and output.startswith("oss://"):
        report = jobs.oss_target(plan.job, plan.client, "--output", output).open()
    try:
        shards, estimates = make_shard_plan(
            plan.client, plan.spec, bucket=plan.job.connection.bucket, count=params["shard_count"]
        )
    except BaseException:
        if report is not None:
            report.abort()
        raise
    text = json.dumps(shards.to_json(), indent=2, ensure_ascii=False) + "\n"
    if report is not None:
        report.write(text.encode("utf-8"))
        report.close()
    else:
        stream = _open_output(output)
        try:
            stream.write(text)
        finally:
            _release(stream)
    click.echo(_plan_summary(shards, estimates, plan.client.requests_made), err=True)


def _plan_summary(shards: Any, estimates: list[float], requests: int) -> str:
    """One line a person checks before creating the ConfigMap: estimated keys per shard (the
    smallest, median and largest when there are more than 16 shards: the line stays a line)."""
    figures = estimates if len(estimates) <= 16 else _spread(estimates)
    per_shard = " / ".join(f"{round(e):,}" for e in figures)
    if len(estimates) > 16:
        per_shard = f"smallest / median / largest: {per_shard}"
    return (
        f"plan: {shards.shard_count} shards, {len(shards.cuts)} cuts, about {round(sum(estimates)):,} keys "
        f"(per shard: {per_shard}; estimated from {requests} requests)"
    )


def _spread(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[0], ordered[len(ordered) // 2], ordered[-1]]


@main.command("cat", epilog=exit_codes_epilog(
    0, 1, 2, 3, 4, 130, 141,
    c1="anything else: the object is not valid gzip (--no-gunzip writes it as stored), OSS kept failing past the retries",
    c2="usage or bad input (not an oss://BUCKET/KEY URL, a bad option); no network call was made",
    c4="OSS refused: NoSuchKey, AccessDenied, ..."))
@click.argument("url", metavar="oss://BUCKET/KEY")
@endpoint_options
@_opt(
    "--gunzip/--no-gunzip",
    env="CAT_GUNZIP",
    default=None,
    help="Decompress gzip (default: when the key ends in .gz); --no-gunzip writes the stored bytes.",
)
@verbose_option
@edge
def cat_command(url: str, **params: Any) -> None:
    """Stream an object to stdout, e.g. a report written with --output oss://... .

    A key ending in .gz is gunzipped. The same credentials and endpoint options as ls apply
    (the object's bucket may be in another region: pass --endpoint/--region).
    """
    from osslist.osscat import cat
    from osslist.ossobjects import ObjectClient
    from osslist.ossurl import split_oss_url

    out = _stdout().buffer  # closed: refuse before fetching anything
    source = split_oss_url(url)
    cat(ObjectClient(_open_bucket(source.bucket, params)), source.key, out, gunzip=params["gunzip"])


def _open_bucket(bucket: str, params: dict[str, Any]) -> Any:
    """A BucketClient for ``bucket`` with the command's endpoint and credential options."""
    return open_client(
        bucket, params["endpoint"], region=params["region"], signature_version=params["signature_version"],
        credentials=params["credentials"], role_name=params["role_name"], metadata_endpoint=params["metadata_endpoint"],
        retry_budget=params["retry_budget"],
    )


DIFF_EXIT_CODES = exit_codes_epilog(
    0, 1, 2, 3, 4, 130, 141, 143,
    c0="the listings are the same", c1="they differ (as diff(1))", c143="SIGTERM (a diff is not resumable: rerun it)",
    c2="trouble: a damaged or unreadable report, bad usage, OSS failing past the retries",
)


@main.command("diff", epilog=DIFF_EXIT_CODES)
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="[NEW]", required=False)
@_opt("--live", env="DIFF_LIVE", is_flag=True, help="Compare OLD with a fresh listing of --bucket (instead of NEW).")
@_opt("--bucket", env="BUCKET", help="With --live: the bucket to list.")
@_opt("--all-versions", env="ALL_VERSIONS", is_flag=True,
      help="With --live: list every version and delete marker (oss:ListObjectVersions), to compare with an "
           "all-versions OLD.")
@endpoint_options
@paging_options
@key_range_options
@parallel_option
@_opt(
    "--compare",
    env="DIFF_COMPARE",
    multiple=True,
    type=click.Choice(diffs.FIELDS),
    help="A field that makes a key 'modified' (repeatable; default: size, etag, storage_class).",
)
@_opt("--all", "show_all", env="DIFF_ALL", is_flag=True, help="Also write unchanged keys (change 'unchanged').")
@_opt(
    "--format",
    "fmt",
    env="DIFF_FORMAT",
    type=click.Choice(diffs.FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one object per difference; csv; text: + added, - removed, ~ modified.",
)
@_opt("--output", env="DIFF_OUTPUT",
      help="Write the differences to this file or oss://BUCKET/KEY, not stdout; with OLD a folder, {report} in the "
           "key is the newer report's folder (the changes kept next to its manifest.json).")
@_opt("--summary-json", env="DIFF_SUMMARY_JSON", type=click.Path(dir_okay=False),
      help="Also write the summary as JSON to this file or oss://BUCKET/KEY (placeholders as --output).")
@_opt("--exit-zero", env="DIFF_EXIT_ZERO", is_flag=True,
      help="Exit 0 when the listings differ too (a scheduled job); trouble is still >= 2.")
@verbose_option
@functools.partial(edge, least=2)
def diff_command(old: str, new: str | None, **params: Any) -> int:
    """Compare two reports, or a report with the live bucket, in one streaming pass.

    OLD and NEW are local paths or oss://BUCKET/KEY URLs of a jsonl or csv listing (gzip or
    not) or of an inventory report's manifest.json. OLD alone ending in / is a folder of
    inventory reports: its two newest are compared (with --live, its newest). One record per
    added, removed or modified key goes to stdout (or --output), a summary to stderr.

    \b
    Examples:
      osslist diff yesterday.jsonl.gz today.jsonl.gz
      osslist diff oss://audit/inv/2026-11-28T02-00Z/manifest.json oss://audit/inv/2026-11-29T02-00Z/manifest.json
      osslist diff oss://audit/inventory/my-bucket/
      osslist diff oss://audit/inventory/my-bucket/ --output 'oss://audit/inventory/my-bucket/{report}/changes.jsonl.gz'
      osslist diff today.jsonl.gz --live --bucket my-bucket --format text
    """
    clients = _clients_for(params)
    reports_to_compare = _diff_reports(old, new, params, clients)
    if reports_to_compare is None:
        return 0
    compare = tuple(params["compare"]) or diffs.DEFAULT_COMPARE
    report = _newer_folder(old, reports_to_compare[1])
    output = _local_path("--output", params["output"], params, report=report)
    summary_out = _SummaryOut(_local_path("--summary-json", params["summary_json"], params, report=report),
                              lambda url: _report_target("--summary-json", url, params, report=report))
    summary_out.probe()
    try:
        with _destination(output, params, report=report) as stream:
            old_records, new_records = _diff_sides(*reports_to_compare, params, clients)
            writer = diffs.ChangeWriter(params["fmt"], stream)
            names = (reports_to_compare[0], reports_to_compare[1] or f"the live listing of {params['bucket']}")
            summary = diffs.run_diff(old_records, new_records, writer, compare=compare,
                                     unchanged=params["show_all"], names=names)
    except BaseException:
        summary_out.abort()
        raise
    _finish(summary, summary_out)
    return 0 if summary.same or params["exit_zero"] else 1


def _diff_reports(old: str, new: str | None, params: dict[str, Any], clients: Any) -> tuple[str, str | None] | None:
    """(OLD, NEW or None for --live), a folder of reports resolved to its newest ones; None when
    the folder holds too few to compare (said on stderr: the first scheduled run has no past)."""
    from osslist import reports

    if params["all_versions"] and not params["live"]:
        raise UsageError("--all-versions goes with --live (a report says itself whether it lists versions)")
    if not reports.is_folder(old):
        if (new is None) == (not params["live"]):
            raise UsageError("give NEW, or --live to compare with the bucket (not both)")
        return old, new
    if new is not None:
        raise UsageError(f"{old} is a folder of reports: give no NEW (its two newest are compared)")
    wanted = 1 if params["live"] else 2
    found = reports.newest_reports(old, wanted, client_for=clients)
    if len(found) < wanted:
        click.echo(f"diff: {len(found)} inventory report(s) in {old}: nothing to compare yet", err=True)
        return None
    click.echo(f"diff: {' -> '.join(found)}", err=True)
    return (found[0], found[1]) if wanted == 2 else (found[0], None)


def _newer_folder(old: str, new: str | None) -> str:
    """What ``{report}`` stands for in --output: the time folder of the newer report when OLD
    is a folder of reports and two were compared, so the changes go next to its manifest.json."""
    from osslist import reports

    return posixpath.basename(posixpath.dirname(new)) if new is not None and reports.is_folder(old) else ""


def _diff_sides(old: str, new: str | None, params: dict[str, Any], clients: Any) -> tuple[Any, Any]:
    """(old records, new records), both cut to the key range options: two reports, or OLD and
    a live listing of that range (the run machinery's own source: --parallel works as in ls)."""
    from osslist import reports
    from osslist.ossobjects import ObjectClient

    def objects_for(bucket: str) -> ObjectClient:
        return ObjectClient(clients(bucket))

    def cut(records: Iterable[Any]) -> Iterator[Any]:
        return reports.within(records, prefix=params["prefix"], start_after=params["start_after"],
                              end_before=params["end_before"])

    old_records = cut(reports.open_report(old, objects_for=objects_for))
    if new is not None:
        return old_records, cut(reports.open_report(new, objects_for=objects_for))
    if not params["bucket"]:
        raise UsageError("--live needs --bucket (or OSSLIST_BUCKET): the bucket to list")
    no_filters = {"include": (), "exclude": (), "min_size": None, "max_size": None, "modified_after": None,
                  "modified_before": None, "storage_classes": (), "restore_states": (),
                  "output": None, "summary_json": None}  # diff's own files, not the listing's
    prepared = jobs.prepare(_list_job({**params, **no_filters}))
    return old_records, reports.from_listing(runner.listed_records(prepared))


def _clients_for(params: dict[str, Any]) -> Callable[[str], Any]:
    """How reports in OSS are read and found: one BucketClient per bucket, with the command's
    endpoint and credential options (built on first use)."""
    return functools.cache(lambda bucket: _open_bucket(bucket, params))


@contextlib.contextmanager
def _destination(path: str | None, params: dict[str, Any], option: str = "--output", *,
                 report: str = "", listing: Any = None, partial: bool = True) -> Iterator[Stream]:
    """Where a report goes: stdout, oss://BUCKET/KEY (multipart upload, visible only when
    complete, placeholders expanded, ``{report}`` being ``report``, refused before any work when
    the destination says no), or a file that appears (renamed from FILE.partial) only when
    complete (written in place when not ``partial``)."""
    from osslist.ossurl import is_oss_url

    if path is not None and is_oss_url(path):
        with _report_target(option, path, params, report=report, listing=listing).open() as out:
            yield out
        return
    if path is not None and partial:
        with _local_destination(path, option) as stream:
            yield stream
        return
    stream = _open_output(path, option)
    try:
        yield stream
    finally:
        _release(stream)


def _report_target(option: str, path: str, params: dict[str, Any], *, report: str = "",
                   listing: Any = None) -> Any:  # Any: BucketClient, OssTarget (oss2 stays out of --help)
    """The OssTarget an oss:// option of a command without a listing run (diff, uploads) names:
    placeholders expanded (``{bucket}`` is --bucket), written with ``listing``'s credentials
    (by default a client of the destination's bucket on the command's connection options)."""
    from osslist.osstarget import ReportSettings, run_facts, target_for
    from osslist.ossurl import split_oss_url

    return target_for(option, path, listing=listing or _open_bucket(split_oss_url(path).bucket, params),
                      settings=ReportSettings(),
                      facts=run_facts(bucket=params.get("bucket") or "", shard=None, report=report),
                      environ=os.environ)


@contextlib.contextmanager
def _local_destination(path: str, option: str) -> Iterator[OutputFile]:
    partial = f"{path}.partial"
    stream = OutputFile(_open_file(partial, option, gzip_as=path), f"{option} {path}", owned=True)
    try:
        yield stream
        stream.close()
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError, OsslistError):
            stream.close()
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


@main.command("whoami", epilog=exit_codes_epilog(0, 1, 2, 3, 130, 141, c1="anything else",
                                                  c2="usage or bad input; nothing was fetched"))
@credential_options
@_opt(
    "--format",
    "fmt",
    env="WHOAMI_FORMAT",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@verbose_option
@edge
def whoami_command(**params: Any) -> None:
    """Show which credentials osslist would use: source, role, masked key id, expiry.

    It fetches credentials once (so it proves the role works) and prints no secret.
    """
    _stdout()  # closed: refuse before fetching anything
    identity = whoami(
        params["credentials"], role_name=params["role_name"], metadata_endpoint=params["metadata_endpoint"]
    )
    if params["fmt"] == "json":
        _emit(json.dumps(identity, sort_keys=True) + "\n")
        return
    width = max(len(name) for name in identity)
    _emit("".join(f"{name.replace('_', ' '):<{width}}  {_for_people(value)}\n" for name, value in identity.items()))


def _for_people(value: Any) -> str:
    """A whoami value as text: ``-`` for none, yes/no for a flag (not Python's True/False)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@main.command("demo", epilog=exit_codes_epilog(0, 1, 130, c0="the listing matched what was seeded",
                                              c1="it did not, or anything else"))
@_opt(
    "--objects",
    env="DEMO_OBJECTS",
    type=click.IntRange(1, 1_000_000),
    default=20_000,
    show_default=True,
    help="How many objects to seed.",
)
@verbose_option
@edge
def demo_command(objects: int, verbose: bool) -> None:
    """Run a complete listing against a local emulator: no account, no network beyond 127.0.0.1.

    It starts the emulator (hardened metadata mode, credentials rotating every few seconds),
    seeds a realistic bucket, lists it through the real path and checks the totals.
    """
    from osslist import demo

    result = demo.run_demo(objects=objects, out=_stdout())
    if not result.matches:
        raise ListingError("the demo listing does not match what was seeded")


@main.command("du", epilog=exit_codes_epilog(
    0, 1, 2, 3, 4, 130, 141, 143, c143="SIGTERM (du is not resumable: rerun it)",
    c2="usage or bad input (bad option, invalid bucket name, one file in two roles); no network call was made"))
@connection_options
@paging_options
@key_range_options
@filter_options
@version_options
@_opt(
    "--depth",
    env="DEPTH",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Total per prefix this many '/'-separated levels below --prefix.",
)
@_opt("--by-storage-class", "by_class", env="BY_STORAGE_CLASS", is_flag=True, help="Split each row by storage class.")
@_opt(
    "--by-version-state",
    "by_state",
    env="BY_VERSION_STATE",
    is_flag=True,
    help="Split each row into current and noncurrent versions and delete markers (lists versions: "
    "oss:ListObjectVersions).",
)
@_opt(
    "--include-uploads",
    env="INCLUDE_UPLOADS",
    is_flag=True,
    help="Add the parts of unfinished multipart uploads (oss:ListMultipartUploads, oss:ListParts).",
)
@_opt(
    "--format",
    "fmt",
    env="DU_FORMAT",
    type=click.Choice(DU_FORMATS),
    default="table",
    show_default=True,
    help="table for people (human sizes), jsonl or csv for scripts.",
)
@du_destination_options
@run_options
@edge
def du_command(**params: Any) -> None:
    """Count objects and bytes per prefix, largest first.

    \b
    Examples:
      osslist du --bucket my-bucket
      osslist du --bucket my-bucket --prefix logs/ --depth 2 --by-storage-class
      osslist du --bucket my-bucket --format csv --output usage.csv
    """
    from osslist import prefixtotals as du

    plan = jobs.prepare(_list_job({**params, "fmt": "text", "all_versions": params["all_versions"] or params["by_state"]}))
    _check_writable("--output", plan.job.output.path)
    summary_out = _SummaryOut.of_run(plan, plan.job.output.summary_json)
    if params["dry_run"]:
        _print_plan({**plan.to_dict(), **summary_out.view(), "command": "du", "du": _du_view(params)})
        return
    report = plan.output_target.open() if plan.output_target is not None else None
    progress = _Progress(disabled=params["no_progress"])
    try:
        summary_out.probe()
        rows, summary = runner.run_du(plan, depth=params["depth"], by_class=params["by_class"],
                                      by_state=params["by_state"], include_uploads=params["include_uploads"],
                                      on_page=progress)
        text = du.render(rows, params["fmt"], by_class=params["by_class"], by_state=params["by_state"])
        if report is not None:
            report.write(text.encode("utf-8"))
            report.close()
    except BaseException:
        for writer in (report, summary_out):
            if writer is not None:
                writer.abort()
        raise
    finally:
        progress.close()
    if report is None:
        stream = _open_output(plan.job.output.path)
        try:
            stream.write(text)
        finally:
            _release(stream)
    _finish(summary, summary_out)


def _du_view(params: dict[str, Any]) -> dict[str, Any]:
    return {"depth": params["depth"], "by_storage_class": params["by_class"], "by_version_state": params["by_state"],
            "include_uploads": params["include_uploads"], "format": params["fmt"]}


@main.command("uploads", epilog=exit_codes_epilog(
    0, 1, 2, 3, 4, 130, 141, 143, c1="anything else: OSS kept failing past the retries",
    c2="usage or bad input (bad option, invalid bucket name, a bad --older-than); no network call was made",
    c143="SIGTERM (nothing to resume: rerun it)"))
@connection_options
@_opt("--prefix", env="PREFIX", default="", help="Only uploads of keys starting with this prefix.")
@_opt("--parts", env="UPLOAD_PARTS", is_flag=True, help="Add part_count and size (bytes) from ListParts (oss:ListParts).")
@_opt("--older-than", env="OLDER_THAN", help="Only uploads initiated before this age (7d, 12h) or time (ISO 8601).")
@_opt(
    "--format",
    "fmt",
    env="FORMAT",
    type=click.Choice(["text", "long", "jsonl", "csv"]),
    default="text",
    show_default=True,
    help="text: keys; long: initiated, size, parts, upload id, key; jsonl: one object per line; csv.",
)
@_opt("--output", env="OUTPUT", type=click.Path(dir_okay=False),
      help="Write records to this file or oss://BUCKET/KEY (placeholders as ls), not stdout.")
@_opt("--summary-json", env="SUMMARY_JSON", type=click.Path(dir_okay=False),
      help="Also write the summary as JSON to this file or oss://BUCKET/KEY.")
@_opt("--no-progress", env="NO_PROGRESS", is_flag=True, help="No progress bar (it shows only on a terminal).")
@verbose_option
@edge
def uploads_command(**params: Any) -> None:
    """List unfinished multipart uploads: their parts are billed and ListObjects never shows them.

    Needs oss:ListMultipartUploads (and oss:ListParts with --parts).

    \b
    Examples:
      osslist uploads --bucket my-bucket --parts --format jsonl
      osslist uploads --bucket my-bucket --older-than 7d
    """
    from osslist.filters import parse_time
    from osslist.output import UploadWriter

    cutoff = None if params["older_than"] is None else parse_time(params["older_than"], now=datetime.now(timezone.utc).timestamp())
    output = _local_path("--output", params["output"], params)
    _check_writable("--output", output)
    client = _client(params)
    summary_out = _SummaryOut(_local_path("--summary-json", params["summary_json"], params),
                              lambda url: _report_target("--summary-json", url, params, listing=client))
    summary_out.probe()
    progress = _Progress(disabled=params["no_progress"])
    try:
        with _destination(output, params, listing=client, partial=False) as stream:
            writer = UploadWriter(stream, params["fmt"], bucket=params["bucket"], parts=params["parts"])
            totals = runner.run_uploads(
                client, writer, prefix=params["prefix"], parts=params["parts"], older_than=cutoff, on_page=progress,
            )
    except BaseException:
        summary_out.abort()
        raise
    finally:
        progress.close()
    _finish(totals, summary_out)


def _client(params: dict[str, Any]) -> Any:  # Any: client.BucketClient
    return open_client(
        params["bucket"], params["endpoint"], region=params["region"], signature_version=params["signature_version"],
        credentials=params["credentials"], role_name=params["role_name"], metadata_endpoint=params["metadata_endpoint"],
        retry_budget=params["retry_budget"],
    )


def _release(stream: OutputFile) -> None:
    """Flush, and close a file we opened (stdout stays open)."""
    stream.close()


def _emulator_options(func: F) -> F:
    """The emulator command's options, their help taken from the emulator itself."""
    from osslist.emulator.config import DEFAULT_ROTATION_WINDOW
    from osslist.emulator.standalone import OPTION_HELP

    specs: list[tuple[str, dict[str, Any]]] = [
        ("objects", {"type": click.IntRange(min=0), "default": 1000}),
        ("port", {"type": click.IntRange(0, 65535), "default": 0}),
        ("metadata_port", {"type": click.IntRange(0, 65535), "default": 0}),
        ("sts_port", {"type": click.IntRange(0, 65535), "default": 0}),
        ("bucket", {"default": "emulator-bucket"}),
        ("seed", {"type": int, "default": 0}),
        ("metadata_mode", {"type": click.Choice(["optional", "required", "unsupported"]), "default": "optional"}),
        ("credential_lifetime", {"type": click.FloatRange(min=1.0), "default": 3600.0}),
        ("rotation_window", {"type": click.FloatRange(min=0.0), "default": DEFAULT_ROTATION_WINDOW}),
        ("latency", {"type": click.FloatRange(min=0.0), "default": 0.0}),
        ("reports_bucket", {"default": None}),
        ("versioning", {"is_flag": True}),
    ]
    for name, spec in reversed(specs):
        flag = "--" + name.replace("_", "-")
        env = "EMULATOR_" + name.upper()
        func = _opt(flag, name, env=env, help=OPTION_HELP[name], show_default=True, **spec)(func)
    return func


@main.command("emulator", epilog=exit_codes_epilog(0, 1, 2, c0="stopped with Ctrl-C", c1="anything else",
                                                  c2="bad option: an invalid bucket name, a port given twice or in use"))
@_emulator_options
@verbose_option
@edge
def emulator_command(verbose: bool, **params: Any) -> None:
    """Run the local emulator (metadata server, STS, OSS) on 127.0.0.1 until Ctrl-C.

    It seeds a bucket and prints the environment that points osslist at it. Nothing leaves
    the machine: it binds to loopback only.
    """
    from osslist.client import validate_bucket_name
    from osslist.emulator.standalone import SetupError, run_standalone

    for name in (params["bucket"], params["reports_bucket"]):  # the exports it prints must be ones osslist accepts
        if name is not None:
            validate_bucket_name(name)
    try:
        run_standalone(out=_stdout(), **params)
    except SetupError as exc:
        raise UsageError(str(exc)) from exc
