"""The Python API: what ``import osslist`` offers a script, over the very code the CLI runs.

- :func:`bucket` and :func:`credentials_provider` open the provider and the oss2 Bucket with
  ``connect`` (the CLI's construction code): env keys, RRSA or the metadata RAM role, hardened
  mode, the refresh windows and locks, masked secrets, V4 signing.
- :func:`list_objects` and :func:`du` build the CLI's ``ListJob``, validated by ``job.prepare``
  (the same checks, the same messages, which name the CLI's options), and run it through the
  CLI's loop (``runner.executing``: the same sources, sink and parallel lister) with a writer
  that keeps each page's records, converted to :class:`~osslist.ObjectRecord`, instead of bytes.
- :func:`list_uploads` runs ``osslist uploads``'s loop (``runner.uploading``: ListMultipartUploads
  pages, ListParts with ``parts``) with the same kind of writer, handing out
  :class:`~osslist.UploadRecord` records.

Errors are osslist's exception tree (``osslist.OsslistError`` and below); nothing here exits.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Iterator, Literal, Sequence, TypeVar, cast, overload

from osslist import connect, runner
from osslist import job as jobs
from osslist.client import BucketClient, Oss2CredentialsAdapter
from osslist.prefixtotals import DuRow
from osslist.errors import UsageError
from osslist.filters import parse_time
from osslist.records import Entry, ObjectRecord, UploadRecord, VersionRecord, public_records, public_uploads
from osslist.summary import Summary
from osslist.uploads import UploadTotals

if TYPE_CHECKING:
    import oss2
    import oss2.credentials

    from osslist.pages import Record
    from osslist.uploads import UploadRecord as RawUpload

__all__ = ["Listing", "UploadListing", "bucket", "credentials_provider", "du", "list_objects", "list_uploads"]

T = TypeVar("T", covariant=True)
S = TypeVar("S")
"""What a listing totals: a Summary (objects) or UploadTotals (uploads)."""
R = TypeVar("R")
"""A record as listed (``pages.Record``, ``uploads.UploadRecord``) ..."""
E = TypeVar("E")
"""... and as handed out (``ObjectRecord``, ``UploadRecord``)."""
Iteration = TypeVar("Iteration", bound="_Iteration[Any, Any]")  # Any: the bound covers every listing
CredentialSource = Literal["auto", "env", "rrsa", "metadata"]
Strings = str | Iterable[str]
Size = int | str
Moment = datetime | str


# --- credentials and the oss2 Bucket -------------------------------------------------------------


def credentials_provider(
    credentials: CredentialSource = "auto", *, role_name: str | None = None, metadata_endpoint: str | None = None,
) -> oss2.credentials.CredentialsProvider:
    """An oss2 credentials provider that refreshes the pod's credentials by itself.

    ``credentials``: ``auto`` (env keys, then RRSA, then the metadata server's RAM role, the
    official SDKs' order), ``env``, ``rrsa`` or ``metadata``. Nothing is fetched until oss2
    signs its first request; each request gets one whole, unexpired credential set.

    >>> import oss2, osslist
    >>> auth = oss2.ProviderAuthV4(osslist.credentials_provider())
    >>> bucket = oss2.Bucket(auth, "https://oss-cn-hangzhou-internal.aliyuncs.com", "my-bucket",
    ...                      region="cn-hangzhou")  # doctest: +SKIP
    """
    return Oss2CredentialsAdapter(
        connect.open_provider(credentials, role_name=role_name, metadata_endpoint=metadata_endpoint)
    )


def bucket(
    name: str,
    *,
    endpoint: str,
    region: str | None = None,
    credentials: CredentialSource = "auto",
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    signature_version: Literal[1, 4] = 4,
) -> oss2.Bucket:
    """A ready ``oss2.Bucket`` signed (V4) with credentials that refresh by themselves, for
    any oss2 call: ``get_object``, ``put_object``, ``copy_object``, ...

    ``endpoint`` is ``[https://]oss-<region>[-internal].aliyuncs.com`` (no scheme means
    https); ``region`` is read from it, or given for other endpoints. The bucket name,
    endpoint and region are checked here (:class:`osslist.UsageError`); credentials are
    fetched on the first request (:class:`osslist.CredentialsError` if there are none).
    Redirects are never followed (they would carry the security token elsewhere).

    >>> import osslist
    >>> b = osslist.bucket("my-bucket", endpoint="oss-cn-hangzhou-internal.aliyuncs.com")
    >>> b.get_object("reports/today.csv").read()  # doctest: +SKIP
    """
    client = connect.open_client(
        name, endpoint, region=region, signature_version=str(signature_version), credentials=credentials,
        role_name=role_name, metadata_endpoint=metadata_endpoint,
    )
    return client.oss2_bucket


# --- listings ------------------------------------------------------------------------------------


@dataclass
class _Progress:
    """Shared by a Listing and its record generator (which must not hold the Listing: a
    dropped Listing is then freed at once, and its generator closed, stopping the workers)."""

    complete: bool = False


class _Iteration(Iterator[T], Generic[T, S]):
    """A listing's records, handed out once, and its totals (see :class:`Listing`)."""

    def __init__(self, records: Iterator[T], summary: S, progress: _Progress) -> None:
        self._records = records
        self._progress = progress
        self.summary = summary

    def __next__(self) -> T:
        return next(self._records)

    @property
    def complete(self) -> bool:
        """True once every record was handed over (``summary`` is then final)."""
        return self._progress.complete

    def close(self) -> None:
        """Stop the listing now; records not yet handed over are dropped. Idempotent."""
        close = getattr(self._records, "close", None)
        if close is not None:
            close()

    def __enter__(self: Iteration) -> Iteration:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class Listing(_Iteration[T, Summary]):
    """The records of one listing, in key order: iterate it once.

    ``summary`` counts what was handed over (objects, bytes per storage class, common
    prefixes); when the iteration ends, ``complete`` is True and ``summary`` also holds the
    requests sent and the time taken. ``close()`` (or leaving a ``with`` block, or dropping the
    object) stops a listing half way: its worker threads end and its connections are closed.

    >>> with osslist.list_objects("my-bucket", endpoint=endpoint, prefix="logs/") as listing:
    ...     for record in listing:
    ...         print(record.key, record.size)
    >>> listing.summary.objects, listing.summary.bytes  # doctest: +SKIP
    (2, 2048)
    """


class UploadListing(_Iteration[UploadRecord, UploadTotals]):
    """The unfinished uploads of one listing (:func:`list_uploads`), keys ascending: iterate it once.

    ``summary`` (an :class:`~osslist.UploadTotals`) counts the uploads, parts and bytes handed
    over; once ``complete``, also the requests sent and the time taken. ``close()``, a ``with``
    block or dropping it stops the listing half way and closes its connections.
    """


class _RecordWriter(Generic[R, E]):
    """``runner.Writer`` that keeps records: ``render`` converts a page to public records (in
    the worker that listed it), ``write_rendered`` queues them for the iterator."""

    def __init__(self, convert: Callable[[Sequence[R]], tuple[E, ...]]) -> None:
        self._convert = convert
        self._ready: deque[E] = deque()

    def render(self, records: Sequence[R]) -> tuple[E, ...]:
        return self._convert(records)

    def write_rendered(self, data: tuple[E, ...]) -> None:
        self._ready.extend(data)

    def drain(self) -> Iterator[E]:
        """The records written since the last drain, oldest first."""
        while self._ready:
            yield self._ready.popleft()

    def flush(self) -> None:
        """Nothing to flush: records wait in memory for the iterator (one page at a time)."""

    def close(self) -> None:
        """Nothing to close: the listing's connections are closed by the iterator."""


def _handed_out(commits: runner.Steps, writer: _RecordWriter[R, E], client: BucketClient,
                progress: _Progress) -> Iterator[E]:
    """The run loop one page at a time, each page's records handed over before the next is
    taken; closed (or dropped) half way, it waits for the workers and closes the connections."""
    try:
        for _commit in commits:
            yield from writer.drain()
        progress.complete = True
    finally:
        commits.close()
        client.close()


def _records(prepared: jobs.PreparedRun, summary: Summary, progress: _Progress) -> Iterator[Entry]:
    """The CLI's listing loop, its records handed out as public ones."""
    writer: _RecordWriter[Record, Entry] = _RecordWriter(public_records)
    commits = runner.executing(prepared, writer, summary, join_workers=True)
    return _handed_out(commits, writer, prepared.client, progress)


@overload
def list_objects(
    bucket: str, *, endpoint: str, region: str | None = ..., credentials: CredentialSource = ...,
    role_name: str | None = ..., metadata_endpoint: str | None = ..., signature_version: Literal[1, 4] = ...,
    prefix: str | None = ..., delimiter: None = ..., start_after: str | None = ..., end_before: str | None = ...,
    include: Strings = ..., exclude: Strings = ..., min_size: Size | None = ..., max_size: Size | None = ...,
    modified_after: Moment | None = ..., modified_before: Moment | None = ..., storage_classes: Strings = ...,
    limit: int | None = ..., parallel: int = ..., list_api: Literal["v1", "v2"] = ..., max_keys: int = ...,
    all_versions: Literal[False] = ..., as_of: Moment | None = ..., restore_states: Strings = ...,
    fetch_owner: bool = ...,
) -> Listing[ObjectRecord]: ...


@overload
def list_objects(
    bucket: str, *, endpoint: str, region: str | None = ..., credentials: CredentialSource = ...,
    role_name: str | None = ..., metadata_endpoint: str | None = ..., signature_version: Literal[1, 4] = ...,
    prefix: str | None = ..., delimiter: None = ..., start_after: str | None = ..., end_before: str | None = ...,
    include: Strings = ..., exclude: Strings = ..., min_size: Size | None = ..., max_size: Size | None = ...,
    modified_after: Moment | None = ..., modified_before: Moment | None = ..., storage_classes: Strings = ...,
    limit: int | None = ..., parallel: int = ..., list_api: Literal["v1", "v2"] = ..., max_keys: int = ...,
    all_versions: Literal[True], as_of: Moment | None = ..., restore_states: Strings = ...,
    fetch_owner: bool = ...,
) -> Listing[VersionRecord]: ...


@overload
def list_objects(
    bucket: str, *, endpoint: str, region: str | None = ..., credentials: CredentialSource = ...,
    role_name: str | None = ..., metadata_endpoint: str | None = ..., signature_version: Literal[1, 4] = ...,
    prefix: str | None = ..., delimiter: str, start_after: str | None = ..., end_before: str | None = ...,
    include: Strings = ..., exclude: Strings = ..., min_size: Size | None = ..., max_size: Size | None = ...,
    modified_after: Moment | None = ..., modified_before: Moment | None = ..., storage_classes: Strings = ...,
    limit: int | None = ..., parallel: int = ..., list_api: Literal["v1", "v2"] = ..., max_keys: int = ...,
    all_versions: bool = ..., as_of: Moment | None = ..., restore_states: Strings = ...,
    fetch_owner: bool = ...,
) -> Listing[Entry]: ...


def list_objects(
    bucket: str, *, endpoint: str, region: str | None = None, credentials: CredentialSource = "auto",
    role_name: str | None = None, metadata_endpoint: str | None = None, signature_version: Literal[1, 4] = 4,
    prefix: str | None = None, delimiter: str | None = None, start_after: str | None = None,
    end_before: str | None = None, include: Strings = (), exclude: Strings = (), min_size: Size | None = None,
    max_size: Size | None = None, modified_after: Moment | None = None, modified_before: Moment | None = None,
    storage_classes: Strings = (), limit: int | None = None, parallel: int = 1,
    list_api: Literal["v1", "v2"] = "v1", max_keys: int = 1000, all_versions: bool = False,
    as_of: Moment | None = None, restore_states: Strings = (), fetch_owner: bool = False,
) -> Listing[ObjectRecord] | Listing[VersionRecord] | Listing[Entry]:
    """Every object of ``bucket`` in key order (UTF-8 byte order), exactly as the CLI lists it.

    The key range is ``prefix``, after ``start_after``, before ``end_before``. With a
    ``delimiter`` the listing stops at it and also yields :class:`~osslist.PrefixRecord`\\ s.
    Filters, as the CLI's: ``include``/``exclude`` globs on the whole key, ``min_size``/
    ``max_size`` (bytes, or ``"10K"``, ``"1.5G"``; inclusive), ``modified_after`` (>=) /
    ``modified_before`` (<) as datetimes (naive = UTC) or ``"2024-01-01"`` / ``"7d"``,
    ``storage_classes``, ``restore_states`` (``"none"``, ``"ongoing"``, ``"restored"``: archive-class
    objects only). Records carry ``restore``, ``transition_time`` and ``type`` as OSS listed
    them, and ``owner`` (the owner's ID) with ``fetch_owner``. ``limit`` stops after that many records. ``parallel`` lists key
    ranges on that many threads (1..64) and yields exactly the records a sequential listing
    does. Failed requests are retried and expiring credentials refreshed as the CLI does.
    ``all_versions`` lists every version and delete marker (ListObjectVersions) as
    records (:class:`~osslist.VersionRecord`), a key's newest first; ``as_of`` (a datetime or a
    time text) yields each key's version at that time (keys deleted then are left out).

    Options are checked here (:class:`osslist.UsageError`, no request sent); the listing
    starts at the first ``next()``. Returns a :class:`~osslist.Listing`.

    >>> import osslist
    >>> listing = osslist.list_objects("my-bucket", endpoint="oss-cn-hangzhou-internal.aliyuncs.com",
    ...                                prefix="logs/", min_size="1M", parallel=8)
    >>> big = [record.key for record in listing]  # doctest: +SKIP
    """
    where = _connection(bucket, endpoint, region, credentials, role_name, metadata_endpoint, signature_version)
    which = _selection(prefix, start_after, end_before, include, exclude, min_size, max_size, modified_after,
                       modified_before, storage_classes, delimiter=delimiter, limit=limit, list_api=list_api,
                       max_keys=max_keys, all_versions=all_versions, as_of=as_of, restore_states=restore_states,
                       fetch_owner=fetch_owner)
    prepared = _prepare(where, which, parallel)
    summary, progress = Summary(), _Progress()
    if delimiter is None and (all_versions or as_of is not None):
        return Listing(cast(Iterator[VersionRecord], _records(prepared, summary, progress)), summary, progress)
    if delimiter is None:
        return Listing(cast(Iterator[ObjectRecord], _records(prepared, summary, progress)), summary, progress)
    return Listing(_records(prepared, summary, progress), summary, progress)


def du(
    bucket: str, *, endpoint: str, region: str | None = None, credentials: CredentialSource = "auto",
    role_name: str | None = None, metadata_endpoint: str | None = None, signature_version: Literal[1, 4] = 4,
    prefix: str | None = None, depth: int = 1, by_storage_class: bool = False, start_after: str | None = None,
    end_before: str | None = None, include: Strings = (), exclude: Strings = (), min_size: Size | None = None,
    max_size: Size | None = None, modified_after: Moment | None = None, modified_before: Moment | None = None,
    storage_classes: Strings = (), parallel: int = 1,
) -> list[DuRow]:
    """Objects and bytes per prefix, ``depth`` levels below ``prefix``, largest first: the
    rows of ``osslist du`` (``by_storage_class`` splits each row's totals by class).

    A row's ``scope`` is ``subtree`` (everything under ``prefix``) or ``objects`` (the
    objects directly in it, not in a deeper folder). Same options and errors as
    :func:`list_objects`.

    >>> for row in osslist.du("my-bucket", endpoint=endpoint, prefix="logs/", depth=2):
    ...     print(row.prefix, row.objects, row.bytes)  # doctest: +SKIP
    """
    if depth < 1:
        raise UsageError(f"invalid depth {depth}: must be at least 1")
    where = _connection(bucket, endpoint, region, credentials, role_name, metadata_endpoint, signature_version)
    which = _selection(prefix, start_after, end_before, include, exclude, min_size, max_size, modified_after,
                       modified_before, storage_classes)
    prepared = _prepare(where, which, parallel)
    try:
        rows, _summary = runner.run_du(prepared, depth=depth, by_class=by_storage_class)
    finally:
        prepared.client.close()
    return rows


def list_uploads(
    bucket: str, *, endpoint: str, region: str | None = None, credentials: CredentialSource = "auto",
    role_name: str | None = None, metadata_endpoint: str | None = None, signature_version: Literal[1, 4] = 4,
    prefix: str | None = None, parts: bool = False, older_than: Moment | None = None, max_uploads: int = 1000,
) -> UploadListing:
    """Every unfinished multipart upload of ``bucket``, exactly as ``osslist uploads`` lists them:
    keys ascending, a key's uploads in initiation order. Their parts are billed, yet no listing
    of objects shows them.

    ``prefix`` limits the keys; ``older_than`` keeps the uploads initiated before a time (a
    datetime, naive = UTC, or ``"7d"`` / ``"2024-01-01"``); ``parts`` asks ListParts for each
    upload's ``part_count`` and ``size``; ``max_uploads`` (1..1000) is the page size. Needs
    oss:ListMultipartUploads (and oss:ListParts with ``parts``). Options are checked here
    (:class:`osslist.UsageError`); the listing starts at the first ``next()``. Returns an
    :class:`~osslist.UploadListing`.

    >>> stale = osslist.list_uploads("my-bucket", endpoint="oss-cn-hangzhou-internal.aliyuncs.com",
    ...                              older_than="7d", parts=True)
    >>> sum(upload.size or 0 for upload in stale)  # doctest: +SKIP
    """
    if not 1 <= max_uploads <= 1000:
        raise UsageError(f"invalid max_uploads {max_uploads}: must be 1..1000")
    text = _time_text(older_than)
    cutoff = None if text is None else parse_time(text, now=time.time())
    client = connect.open_client(bucket, endpoint, region=region, signature_version=str(signature_version),
                                 credentials=credentials, role_name=role_name, metadata_endpoint=metadata_endpoint)
    summary, progress = UploadTotals(), _Progress()
    writer: _RecordWriter[RawUpload, UploadRecord] = _RecordWriter(public_uploads)
    commits = runner.uploading(client, writer, summary, prefix=prefix or "", parts=parts, older_than=cutoff,
                               max_uploads=max_uploads)
    return UploadListing(_handed_out(commits, writer, client, progress), summary, progress)


# --- options -> the CLI's job ----------------------------------------------------------------------


def _prepare(connection: jobs.Connection, selection: jobs.Selection, parallel: int) -> jobs.PreparedRun:
    """The CLI's validation and construction (``job.prepare``) of this listing."""
    return jobs.prepare(jobs.ListJob(connection=connection, selection=selection, scale=jobs.Scale(parallel=parallel)))


def _connection(bucket: str, endpoint: str, region: str | None, credentials: str, role_name: str | None,
                metadata_endpoint: str | None, signature_version: int) -> jobs.Connection:
    return jobs.Connection(bucket=bucket, endpoint=endpoint, region=region, signature_version=str(signature_version),
                           credentials=credentials, role_name=role_name, metadata_endpoint=metadata_endpoint)


def _selection(
    prefix: str | None, start_after: str | None, end_before: str | None, include: Strings, exclude: Strings,
    min_size: Size | None, max_size: Size | None, modified_after: Moment | None, modified_before: Moment | None,
    storage_classes: Strings, *, delimiter: str | None = None, limit: int | None = None, list_api: str = "v1",
    max_keys: int = 1000, all_versions: bool = False, as_of: Moment | None = None, restore_states: Strings = (),
    fetch_owner: bool = False,
) -> jobs.Selection:
    """Python values as the CLI's option texts: sizes as numbers of bytes, datetimes as ISO
    8601 (naive ones taken as UTC, as the CLI takes a time without offset)."""
    return jobs.Selection(
        list_api=list_api, max_keys=max_keys, prefix=prefix or "", delimiter=delimiter or "",
        start_after=start_after or "", end_before=end_before, limit=limit,
        include=_strings(include), exclude=_strings(exclude),
        min_size=_size_text(min_size), max_size=_size_text(max_size),
        modified_after=_time_text(modified_after), modified_before=_time_text(modified_before),
        storage_classes=_strings(storage_classes), all_versions=all_versions, as_of=_time_text(as_of),
        restore_states=_strings(restore_states), fetch_owner=fetch_owner,
    )


def _strings(value: Strings) -> tuple[str, ...]:
    """One string is one value (``include="*.gz"``), not its characters."""
    return (value,) if isinstance(value, str) else tuple(value)


def _size_text(value: Size | None) -> str | None:
    return None if value is None else str(value)


def _time_text(value: Moment | None) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return aware.isoformat()
    return value
