"""Checkpoint and resume: a listing interrupted at any instant continues exactly once.

The state is one small JSON file: a format version, a fingerprint of the arguments that
define the listing, the ranges still to list (each with the position to continue from), the
byte offset up to which the output file is complete, and the running counts.

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

import hashlib
import json
import os
import signal
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Callable, Mapping, Sequence

from osslist.errors import CheckpointMismatch, Interrupted, OsslistError, UsageError
from osslist.ranges import KeyRange

VERSION = 1


def fingerprint(arguments: Mapping[str, Any]) -> str:
    """A stable hash of the normalized arguments that define the listing's output.

    Pass what changes the records or their bytes (bucket, endpoint, prefix, delimiter,
    start/end, list API, filters, format options, shard); not what only changes speed
    (--parallel, --max-keys is fine either way). JSON with sorted keys makes it stable."""
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class CheckpointState:
    """Where a listing stands: what is left, how much output is durable, the counts so far."""

    fingerprint: str
    remaining: list[tuple[KeyRange, Any]]  # (range, listing.Position or None), in key order
    output_offset: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True when nothing is left to list."""
        return not self.remaining

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "remaining": [
                {"range": r.to_json(), "position": None if p is None else asdict(p)} for r, p in self.remaining
            ],
            "output_offset": self.output_offset,
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: Any, *, position_from: Callable[[dict[str, Any]], Any]) -> CheckpointState:
        """Parse and type-check the file's content; ValueError on anything unexpected."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} checkpoint")
        offset, summary, printed = data.get("output_offset"), data.get("summary"), data.get("fingerprint")
        if not isinstance(printed, str) or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad fingerprint or output offset")
        if not isinstance(summary, dict) or not isinstance(data.get("remaining"), list):
            raise ValueError("bad summary or ranges")
        remaining = []
        for item in data["remaining"]:
            if not isinstance(item, dict) or not (item.get("position") is None or isinstance(item["position"], dict)):
                raise ValueError("bad range entry")
            position = None if item.get("position") is None else position_from(item["position"])
            remaining.append((KeyRange.from_json(item.get("range")), position))
        return cls(fingerprint=printed, remaining=remaining, output_offset=offset, summary=summary)


def save(path: str | os.PathLike[str], state: CheckpointState) -> None:
    """Replace the checkpoint atomically: temp file in the same directory, fsync, rename.

    A file system that refuses (full, read-only, directory gone) is our one-line error, exit 1:
    the previous checkpoint and the output up to its offset stay valid for a rerun."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.tmp")
    data = json.dumps(state.to_json(), ensure_ascii=True, separators=(",", ":")).encode()
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        raise OsslistError(f"cannot save checkpoint {target}: {exc.strerror}") from exc
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(
    path: str | os.PathLike[str],
    *,
    expected_fingerprint: str,
    position_from: Callable[[dict[str, Any]], Any] | None = None,
) -> CheckpointState | None:
    """The saved state, or None when there is no checkpoint file yet.

    A file written for different arguments raises CheckpointMismatch; an unreadable or
    malformed one raises UsageError (both exit 2, before any network call)."""
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read checkpoint {target}: {exc.strerror}") from exc
    if position_from is None:
        from osslist.listing import Position

        position_from = Position.from_dict
    try:
        state = CheckpointState.from_json(json.loads(raw), position_from=position_from)
    except (ValueError, UnicodeDecodeError, UsageError) as exc:
        raise UsageError(f"checkpoint {target} is corrupt ({exc}); delete it to start over") from exc
    if state.fingerprint != expected_fingerprint:
        raise CheckpointMismatch(
            f"checkpoint {target} was written by a run with different arguments; rerun the same "
            "command to resume, or delete the checkpoint (and the output) to start over"
        )
    return state


# --- the output file -------------------------------------------------------------------------


def durable_offset(stream: IO[Any]) -> int:
    """Flush ``stream`` (text or binary) down to the disk; return its size in bytes so far."""
    stream.flush()
    binary = getattr(stream, "buffer", stream)
    binary.flush()
    os.fsync(binary.fileno())
    return int(binary.tell())


def open_output_for_resume(path: str | os.PathLike[str], offset: int) -> IO[bytes]:
    """Open the output for appending after ``offset``, cutting off anything written later.

    The bytes past the offset belong to a page whose checkpoint was never saved: that page
    will be listed and written again."""
    target = Path(path)
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
    handle.truncate(offset)
    handle.seek(offset)
    return handle


# --- counts ----------------------------------------------------------------------------------


def summary_state(summary: Any) -> dict[str, Any]:
    """A Summary's counts as plain JSON values (elapsed and requests included)."""
    return asdict(summary)


def restore_summary(data: Mapping[str, Any]) -> Any:
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
    the position after the page, then the ranges not started)."""

    def __init__(self, path: str | os.PathLike[str], *, fingerprint: str, output: IO[Any]) -> None:
        self._path = path
        self._fingerprint = fingerprint
        self._output = output
        self.saves = 0

    def commit(self, remaining: Sequence[tuple[KeyRange, Any]], summary: Any) -> CheckpointState:
        """Make the output durable, then record that (in this order)."""
        state = CheckpointState(
            fingerprint=self._fingerprint,
            remaining=[(r, p) for r, p in remaining if p is None or not p.done],
            output_offset=durable_offset(self._output),
            summary=summary_state(summary),
        )
        save(self._path, state)
        self.saves += 1
        return state


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

    def raise_if_set(self) -> None:
        """Raise Interrupted (exit 143) once the flag is set; call it right after a save."""
        if self._event.is_set():
            raise Interrupted("stopped by SIGTERM after saving the checkpoint; rerun the same command to resume")

    def __enter__(self) -> StopFlag:
        return self.install()

    def __exit__(self, *_exc: object) -> None:
        self.restore()
