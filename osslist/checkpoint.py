"""Checkpoint and resume: a listing interrupted at any instant continues exactly once.

The state is one small JSON file: a format version, a fingerprint of the arguments that
define the listing, the ranges still to list (each with the position to continue from), the
output it belongs to (resolved path, the byte offset up to which it is complete, and a
SHA-256 of the last 64 KiB before that offset), the running counts, and when it finished.
A resume checks the output against all three before it truncates anything, so a checkpoint
never cuts a file it did not write; a finished checkpoint is reported, never replayed as a
fresh listing; and a lock file beside it (``<checkpoint>.lock``, holding the holder's pid and
host) keeps two runs off one checkpoint.

Order of operations for each page (what makes SIGKILL harmless)::

    write the page's records -> flush + fsync the output (durable_offset)
        -> save the checkpoint (new offset, position after the page, counts)

``save`` writes a temporary file in the same directory, fsyncs it and renames it over the
old one, so the file on disk is always a whole checkpoint, old or new. Killed before the
rename, the old checkpoint names the old offset: the resumed run truncates the output there
(dropping the half-written page) and lists that page again. Killed after it, the output
already holds the page up to the saved offset. Either way every key is written once.

SIGTERM (what Kubernetes sends first) only sets a :class:`StopFlag`; the run loop finishes
the current page, saves, and raises ``Interrupted`` (exit 143) when it sees the flag.
Nothing here calls ``sys.exit``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol, Sequence

from osslist.durable import fsync_dir
from osslist.errors import (
    CheckpointBusy,
    CheckpointFinished,
    CheckpointMismatch,
    OsslistError,
    UsageError,
)
from osslist.ranges import KeyRange

if TYPE_CHECKING:
    from osslist.summary import Summary


class SavedPosition(Protocol):
    """Where a saved range continues: a ``listing.Position`` or ``versions.VersionPosition``
    (dataclasses, saved with ``asdict``, read back by the ``position_from`` given to ``load``)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]  # Any: as dataclasses declares it

    @property
    def done(self) -> bool: ...


JsonObject = dict[str, Any]  # Any: a JSON object's values (str, int, float, bool, None, lists, objects)
ReadPosition = Callable[[JsonObject], SavedPosition]
Remaining = Sequence[tuple[KeyRange, SavedPosition | None]]
"""The ranges left to list, each with the position to continue from (None: its start)."""

VERSION = 2
"""Format 2 names the output (path, tail hash) and the finish time; format 1 did not."""
TAIL_BYTES = 64 * 1024
"""How much of the output, ending at the saved offset, the checkpoint hashes: reading it back
from the page cache after each page is cheap, and a different or edited file differs there."""


def fingerprint(arguments: Mapping[str, Any]) -> str:  # Any: JSON-able values, normalized here
    """A stable hash of the normalized arguments that define the listing's output.

    Pass what changes the records or their bytes (bucket, endpoint, prefix, delimiter,
    start/end, list API, filters, format options, shard); not what only changes speed
    (--parallel, --max-keys is fine either way). JSON with sorted keys makes it stable."""
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class CheckpointState:
    """Where a listing stands: what is left, which output and how much of it is durable, the
    counts so far, and (once nothing is left) when it finished."""

    fingerprint: str
    remaining: list[tuple[KeyRange, SavedPosition | None]]  # in key order; None: from the range start
    output_offset: int = 0
    output_path: str = ""
    """The output's resolved path (``os.path.realpath``) when the state was saved."""
    output_tail: str = ""
    """SHA-256 (hex) of the output's last ``TAIL_BYTES`` bytes before ``output_offset``."""
    summary: dict[str, Any] = field(default_factory=dict)
    finished_at: str | None = None
    """UTC time (ISO 8601, ``Z``) of the save that found nothing left to list."""
    upload: JsonObject | None = None
    """An ``oss://`` output: the multipart upload the saved offset belongs to (upload id, parts
    with their ETags, plain and stored offsets); None for a local file."""
    inventory: JsonObject | None = None
    """``--format oss-inventory``: its data files so far and the one in progress (see
    ``inventoryresume``); None for other formats."""

    @property
    def finished(self) -> bool:
        """True when nothing is left to list."""
        return not self.remaining

    def to_json(self) -> JsonObject:
        """The file's content."""
        return {
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "remaining": [
                {"range": r.to_json(), "position": None if p is None else asdict(p)} for r, p in self.remaining
            ],
            "output": {"path": self.output_path, "size": self.output_offset, "tail_sha256": self.output_tail},
            "output_offset": self.output_offset,
            "summary": self.summary,
            "finished_at": self.finished_at,
            **({} if self.upload is None else {"upload": self.upload}),
            **({} if self.inventory is None else {"inventory": self.inventory}),
        }

    @classmethod
    def from_json(cls, data: Any, *, position_from: ReadPosition) -> CheckpointState:  # Any: parsed JSON, checked here
        """Parse and type-check the file's content; ValueError on anything unexpected."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} checkpoint")
        offset, summary, printed = data.get("output_offset"), data.get("summary"), data.get("fingerprint")
        if not isinstance(printed, str) or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad fingerprint or output offset")
        if not isinstance(summary, dict) or not isinstance(data.get("remaining"), list):
            raise ValueError("bad summary or ranges")
        output, finished_at = data.get("output"), data.get("finished_at")
        if not isinstance(output, dict) or not all(isinstance(output.get(k), str) for k in ("path", "tail_sha256")):
            raise ValueError("bad output entry")
        if not (finished_at is None or isinstance(finished_at, str)):
            raise ValueError("bad finish time")
        upload, inventory = data.get("upload"), data.get("inventory")
        if not all(entry is None or isinstance(entry, dict) for entry in (upload, inventory)):
            raise ValueError("bad upload or inventory entry")
        remaining = []
        for item in data["remaining"]:
            if not isinstance(item, dict) or not (item.get("position") is None or isinstance(item["position"], dict)):
                raise ValueError("bad range entry")
            position = None if item.get("position") is None else position_from(item["position"])
            remaining.append((KeyRange.from_json(item.get("range")), position))
        return cls(fingerprint=printed, remaining=remaining, output_offset=offset, output_path=output["path"],
                   output_tail=output["tail_sha256"], summary=summary, finished_at=finished_at,
                   upload=upload, inventory=inventory)


def save(path: str | os.PathLike[str], state: CheckpointState) -> None:
    """Replace the checkpoint atomically: temp file in the same directory, fsync, rename.

    A file system that refuses (full, read-only, directory gone) is our one-line error, exit 1:
    the previous checkpoint and the output up to its offset stay valid for a rerun."""
    target = Path(path)
    temp = temp_path(target)
    data = json.dumps(state.to_json(), ensure_ascii=True, separators=(",", ":")).encode()
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        raise OsslistError(f"cannot save checkpoint {target}: {exc.strerror}") from exc
    fsync_dir(target.parent)


def temp_path(path: str | os.PathLike[str]) -> Path:
    """The temporary file ``save`` writes before renaming it over the checkpoint."""
    target = Path(path)
    return target.with_name(f".{target.name}.tmp")


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file beside the checkpoint (``<checkpoint>.lock``); it stays after the run."""
    target = Path(path)
    return target.with_name(f"{target.name}.lock")


def load(
    path: str | os.PathLike[str],
    *,
    expected_fingerprint: str,
    position_from: ReadPosition | None = None,
) -> CheckpointState | None:
    """The saved state, or None when there is no checkpoint file yet.

    A file written for different arguments raises CheckpointMismatch; one of an older format,
    an unreadable or a malformed one raises UsageError (all exit 2, before any network call)."""
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read checkpoint {target}: {exc.strerror}") from exc
    return parse(raw, str(target), expected_fingerprint=expected_fingerprint, position_from=position_from)


def parse(
    raw: bytes, name: str, *, expected_fingerprint: str, position_from: ReadPosition | None = None,
) -> CheckpointState:
    """A checkpoint's bytes (from a file or an OSS object called ``name``) as its state, with
    :func:`load`'s checks and errors."""
    if position_from is None:
        from osslist.listing import Position

        position_from = Position.from_dict
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"checkpoint {name} is corrupt ({exc}); delete it to start over") from exc
    _refuse_old_format(name, data)
    try:
        state = CheckpointState.from_json(data, position_from=position_from)
    except (ValueError, UsageError) as exc:
        raise UsageError(f"checkpoint {name} is corrupt ({exc}); delete it to start over") from exc
    if state.fingerprint != expected_fingerprint:
        raise CheckpointMismatch(
            f"checkpoint {name} was written by a run with different arguments; rerun the same "
            "command to resume, or delete the checkpoint (and the output) to start over"
        )
    return state


def _refuse_old_format(target: str, data: Any) -> None:  # Any: parsed JSON, checked here
    """A checkpoint of an older format does not name its output, so nothing can prove that
    resuming it would not cut another file: refused, with what to do."""
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < VERSION:
        raise CheckpointMismatch(
            f"checkpoint {target} has format {version}, written by an older osslist (this one reads "
            f"format {VERSION}); delete it and the output to list again"
        )


def resume_state(
    path: str | os.PathLike[str], *, expected_fingerprint: str, output: str | os.PathLike[str],
    position_from: ReadPosition | None = None,
) -> CheckpointState | None:
    """``load``, then refuse a checkpoint that belongs to another output (exit 2) and report a
    finished one (CheckpointFinished, exit 0), both before the output is opened."""
    saved = load(path, expected_fingerprint=expected_fingerprint, position_from=position_from)
    if saved is None:
        return None
    if not _same_output(saved.output_path, output):
        raise CheckpointMismatch(
            f"checkpoint {path} belongs to output {saved.output_path}, not {output}; give that --output "
            "to resume, or a new --checkpoint path to list into this file"
        )
    refuse_finished(saved, str(path))
    return saved


def refuse_finished(saved: CheckpointState, name: str) -> None:
    """A finished checkpoint lists nothing: CheckpointFinished (exit 0), saying so."""
    if saved.finished:
        raise CheckpointFinished(
            f"checkpoint {name} finished at {saved.finished_at or 'an unknown time'} (output "
            f"{saved.output_path}); nothing listed: use a new --checkpoint path (or delete this one) to list again"
        )


def _same_output(saved_path: str, given: str | os.PathLike[str]) -> bool:
    """The saved path, by name (symlinks resolved) or as the same file (a hard link, a mount)."""
    if os.path.realpath(given) == saved_path:
        return True
    try:
        return os.path.samefile(saved_path, given)
    except OSError:
        return False


# --- the output file -------------------------------------------------------------------------


def durable_offset(stream: IO[Any]) -> int:  # Any: a text or a binary stream
    """Flush ``stream`` (text or binary) down to the disk; return its size in bytes so far."""
    stream.flush()
    binary = getattr(stream, "buffer", stream)
    binary.flush()
    os.fsync(binary.fileno())
    return int(binary.tell())


def tail_digest(path: str | os.PathLike[str], offset: int) -> str:
    """SHA-256 (hex) of the file's last ``TAIL_BYTES`` bytes before ``offset`` (fewer when the
    file is shorter); read back through a handle of its own, so any output stream works."""
    start = max(0, offset - TAIL_BYTES)
    with open(path, "rb") as handle:
        handle.seek(start)
        return hashlib.sha256(handle.read(offset - start)).hexdigest()


def open_output(path: str | os.PathLike[str], saved: CheckpointState | None) -> IO[bytes]:
    """The output for this run: created (or emptied) for a fresh start, else checked against
    the checkpoint and opened after its offset (``open_output_for_resume``)."""
    if saved is None:
        try:
            return open(path, "wb")
        except OSError as exc:
            raise UsageError(f"cannot write --output {path}: {exc.strerror}") from exc
    return open_output_for_resume(path, saved)


def open_output_for_resume(path: str | os.PathLike[str], saved: CheckpointState) -> IO[bytes]:
    """Open the output for appending after the saved offset, cutting off anything written later.

    The bytes past the offset belong to a page whose checkpoint was never saved: that page
    will be listed and written again. A file shorter than the offset, or whose bytes before
    it are not the ones saved, is refused (exit 2) and left untouched."""
    target, offset = Path(path), saved.output_offset
    try:
        handle = open(target, "r+b")
    except FileNotFoundError as exc:
        raise UsageError(f"checkpoint names output {target}, which is missing; delete the checkpoint") from exc
    size = os.fstat(handle.fileno()).st_size
    if size < offset:
        handle.close()
        raise UsageError(
            f"output {target} is shorter ({size} bytes) than its checkpoint says ({offset}); "
            "delete the checkpoint to start over"
        )
    if tail_digest(target, offset) != saved.output_tail:
        handle.close()
        raise CheckpointMismatch(
            f"output {target} is not the file its checkpoint saved (its bytes before offset {offset} "
            "changed); delete the checkpoint (and the output) to start over"
        )
    handle.truncate(offset)
    handle.seek(offset)
    return handle


# --- counts ----------------------------------------------------------------------------------


def summary_state(summary: Summary) -> JsonObject:
    """A Summary's counts as plain JSON values (elapsed and requests included)."""
    return asdict(summary)


def restore_summary(data: Mapping[str, Any]) -> Summary:  # Any: the saved JSON counts
    """The Summary saved by :func:`summary_state` (a fresh one for an empty mapping)."""
    from osslist.summary import Summary

    try:
        return Summary(**data)
    except TypeError as exc:
        raise UsageError("checkpoint counts are malformed; delete the checkpoint to start over") from exc


# --- one object for the run loop ---------------------------------------------------------------


class Checkpointer:
    """Saves the state after each page: ``commit(remaining, summary)`` once per written page.

    ``remaining`` is ``ParallelLister.remaining()`` (or, sequentially, the current range with
    the position after the page, then the ranges not started). ``output_path`` is the file
    ``output`` writes to: the state names it and hashes its tail."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fingerprint: str,
        output: IO[Any],  # Any: a text or a binary stream (see durable_offset)
        output_path: str | os.PathLike[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._fingerprint = fingerprint
        self._output = output
        self._output_path = output_path
        self._resolved = os.path.realpath(output_path)
        self._clock = clock
        self.saves = 0

    def commit(self, remaining: Remaining, summary: Summary) -> CheckpointState:
        """Make the output durable, then record that (in this order)."""
        left = [(r, p) for r, p in remaining if p is None or not p.done]
        offset = durable_offset(self._output)
        state = CheckpointState(
            fingerprint=self._fingerprint,
            remaining=left,
            output_offset=offset,
            output_path=self._resolved,
            output_tail=tail_digest(self._output_path, offset),
            summary=summary_state(summary),
            finished_at=None if left else utc_text(self._clock()),
        )
        save(self._path, state)
        self.saves += 1
        return state


def utc_text(epoch: float) -> str:
    """``2026-11-29T19:05:00Z``: the finish time as a person and a script both read it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- one run per checkpoint --------------------------------------------------------------------


class RunLock:
    """An exclusive ``flock`` on ``<checkpoint>.lock`` for the whole run, so two runs never share
    a checkpoint (and its output). The holder writes its pid, host and start time into the file;
    a second run reads them and exits 2 naming it. The kernel drops the lock when the process
    dies, even by SIGKILL, so a stale file never blocks a rerun; the file itself stays."""

    def __init__(self, checkpoint_path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self.path = lock_path(checkpoint_path)
        self._checkpoint = checkpoint_path
        self._clock = clock
        self._handle: IO[str] | None = None

    def acquire(self) -> RunLock:
        try:
            handle = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot create lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = " ".join(handle.read(300).split()) or "another process"
            handle.close()
            raise CheckpointBusy(
                f"checkpoint {self._checkpoint} is in use by {holder} (lock {self.path}); "
                "wait for that run to end, or give this one another --checkpoint"
            ) from exc
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on host {socket.gethostname()} since {utc_text(self._clock())}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        """Empty the holder line and unlock (closing the file drops the lock)."""
        if self._handle is None:
            return
        try:
            self._handle.truncate(0)
        finally:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()


# --- SIGTERM -----------------------------------------------------------------------------------


class StopFlag:
    """Set by SIGTERM (or by hand); the run loop checks it between pages.

    ``install()`` works only in the main thread (Python's rule for signal handlers);
    ``restore()`` puts the previous handlers back."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: dict[int, Any] = {}
        self.signal_number: int | None = None

    def install(self, signals: Sequence[int] = (signal.SIGTERM,)) -> StopFlag:
        for number in signals:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.signal_number = number
        self._event.set()

    def set(self) -> None:
        """Ask the run to stop after the current page."""
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __enter__(self) -> StopFlag:
        return self.install()

    def __exit__(self, *_exc: object) -> None:
        self.restore()
