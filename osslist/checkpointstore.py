"""Where a checkpoint lives (a local file or an OSS object, read back and checked), and when an
output that becomes durable in steps saves it (``DurableSaver``).

``--checkpoint PATH`` is a file, saved atomically as ever (``FileStore``); ``--checkpoint
oss://BUCKET/KEY`` is an object (``ObjectStore``, one PutObject per save, so a new pod with
nothing local finds it). Both hold the same ``checkpoint.CheckpointState`` JSON; the runs that
write into OSS (``ossresume``, ``inventoryresume``) read it back here, checked against the
run's arguments and output.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Callable, Protocol

from osslist import checkpoint, runner
from osslist.checkpoint import CheckpointState, JsonObject, Remaining, SavedPosition
from osslist.errors import CheckpointMismatch, Interrupted, OsslistError, UsageError
from osslist.feed import Pending
from osslist.job import PreparedRun
from osslist.ossobjects import ObjectClient
from osslist.ossurl import is_oss_url
from osslist.ranges import KeyRange
from osslist.runner import OnPage, P, Writer
from osslist.summary import Summary
from osslist.versions import VersionPosition

log = logging.getLogger(__name__)


class CheckpointStore(Protocol):
    """Where a checkpoint's bytes live: ``read`` (None: none yet) and ``write`` (atomic)."""

    name: str

    def read(self) -> bytes | None: ...

    def write(self, state: CheckpointState) -> None: ...


class FileStore:
    """A local checkpoint file (temp file, fsync, rename: ``checkpoint.save``)."""

    def __init__(self, path: str) -> None:
        self.name = path

    def read(self) -> bytes | None:
        try:
            return Path(self.name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"cannot read checkpoint {self.name}: {exc.strerror}") from exc

    def write(self, state: CheckpointState) -> None:
        checkpoint.save(self.name, state)


class ObjectStore:
    """A checkpoint object in OSS: PutObject replaces it whole, so a reader sees old or new."""

    def __init__(self, objects: ObjectClient, key: str) -> None:
        self._objects, self._key = objects, key
        self.name = objects.url(key)

    def read(self) -> bytes | None:
        return self._objects.get_small(self._key)

    def write(self, state: CheckpointState) -> None:
        self._objects.put(self._key, json.dumps(state.to_json(), ensure_ascii=True, separators=(",", ":")).encode())


def store_for(prepared: PreparedRun) -> CheckpointStore:
    """The store --checkpoint names: oss://BUCKET/KEY (placeholders as for --output) or a file."""
    from osslist.job import oss_target

    path = prepared.job.scale.checkpoint
    assert path is not None, "run only with --checkpoint"
    if not is_oss_url(path):
        return FileStore(path)
    target = oss_target(prepared.job, prepared.client, "--checkpoint", path)
    return ObjectStore(target.objects, target.url.key)


def load_state(store: CheckpointStore, prepared: PreparedRun, printed: str, url: str) -> CheckpointState | None:
    """The saved state of this run's checkpoint (checked: same arguments, same output, not
    finished), or None for a fresh start."""
    saved = read_state(store, prepared, printed, url)
    if saved is not None:
        checkpoint.refuse_finished(saved, store.name)
    return saved


def read_state(store: CheckpointStore, prepared: PreparedRun, printed: str, url: str) -> CheckpointState | None:
    """The saved state (checked: same arguments, same output), finished or not; None when
    there is none yet."""
    raw = store.read()
    if raw is None:
        return None
    saved = checkpoint.parse(raw, store.name, expected_fingerprint=printed,
                             position_from=VersionPosition.from_dict if prepared.versions else None)
    if saved.output_path != url:
        raise CheckpointMismatch(
            f"checkpoint {store.name} belongs to output {saved.output_path}, not {url}; give that --output "
            "to resume, or a new --checkpoint to list into this object"
        )
    return saved


# --- saving when the output is durable ------------------------------------------------------------


class DurableOutput(Protocol):
    """An output that becomes durable in steps (parts uploaded, data files completed). Its
    bytes are counted in one sequence, so where a page ends and how far they are durable
    compare. ``generation`` changes when the output starts something a checkpoint must name
    even before any of its bytes are durable (an inventory's next data-file upload)."""

    @property
    def url(self) -> str: ...

    @property
    def generation(self) -> int: ...

    def end_page(self) -> int:
        """Mark the end of the page just written; return where its bytes end."""
        ...

    def durable(self) -> tuple[int, JsonObject]:
        """How far the bytes are durable, and the output's state that continues from there."""
        ...

    def drain(self) -> None: ...

    def abort(self, *, keep_upload: bool = False) -> None: ...


Left = list[tuple[KeyRange, SavedPosition | None]]
Page = tuple[int, Left, JsonObject]
"""A page written: where its bytes end, what is left to list after it, the counts then."""


class DurableSaver:
    """The save hook (a ``runner.Saver``) of a ``DurableOutput``: after each page ``commit``
    remembers where the page's bytes end, its position and counts; whenever more bytes are
    durable it saves the state of the last page they cover, with the output's own state
    (``_with_output``: the upload, the inventory). So a rerun never lists a page twice into the
    output nor skips one. Subclasses finish the output."""

    def __init__(self, store: CheckpointStore, *, fingerprint: str, output: DurableOutput,
                 resumed: tuple[Left, JsonObject] | None = None, clock: Callable[[], float] = time.time) -> None:
        """``resumed``: what the checkpoint this run continues had left to list, and its counts."""
        self._store, self._fingerprint, self._output, self._clock = store, fingerprint, output, clock
        self._pages: deque[Page] = deque()
        self._saved = output.durable()[0]
        self._last: tuple[Left, JsonObject] | None = resumed
        self._generation = output.generation
        self._done = False
        self.saves = 0

    def start(self, remaining: Remaining, summary: Summary) -> None:
        """Save before any page (the upload id, the inventory's uuid), so a rerun continues it."""
        self._save(list(remaining), checkpoint.summary_state(summary), *self._output.durable())

    def commit(self, remaining: Remaining, summary: Summary) -> None:
        left = [(r, p) for r, p in remaining if p is None or not p.done]
        if not left or self._done:
            self._done = True  # nothing more will be written: the subclass's finish() follows
            return
        self._pages.append((self._output.end_page(), left, checkpoint.summary_state(summary)))
        self.save_durable()

    def save_durable(self) -> None:
        """Save the last page whose bytes are all durable, if that is further than the last
        save; else, when the output started something new, the last save's page again."""
        point, state = self._output.durable()
        page = None
        while point > self._saved and self._pages and self._pages[0][0] <= point:
            page = self._pages.popleft()
        if page is not None:
            self._save(page[1], page[2], point, state)
        elif self._output.generation != self._generation and self._last is not None and point == self._saved:
            self._save(*self._last, point, state)

    def run(self, prepared: PreparedRun, todo: list[Pending], writer: Writer[P], summary: Summary, *,
            on_page: OnPage | None, stop: checkpoint.StopFlag | None) -> None:
        """The run loop (``runner.resume_into``) with this save hook. SIGTERM saves what is
        durable (``stop``); any other failure keeps the upload for the rerun to continue."""
        try:
            runner.resume_into(prepared, todo, writer, summary, self, on_page=on_page, stop=stop)
        except Interrupted:
            self.stop()
            raise
        except BaseException:
            self._output.abort(keep_upload=True)
            raise

    def stop(self) -> None:
        """SIGTERM: wait for the parts in flight, save what they cover, keep the upload. A
        failure here is logged: the exit stays SIGTERM's, and the last save stays valid."""
        try:
            self._output.drain()
            self.save_durable()
        except OsslistError as exc:
            log.warning("stopping: the parts in flight were not all saved (%s); a rerun lists them again", exc)
        finally:
            self._output.abort(keep_upload=True)

    def _with_output(self, state: CheckpointState, output: JsonObject) -> CheckpointState:
        """The checkpoint with the output's own state in it."""
        return replace(state, upload=output)

    def _save(self, left: Left, counts: JsonObject, point: int, output: JsonObject, *, finished: bool = False) -> None:
        state = CheckpointState(
            fingerprint=self._fingerprint, remaining=left, output_offset=point, output_path=self._output.url,
            summary=counts, finished_at=checkpoint.utc_text(self._clock()) if finished else None,
        )
        self._store.write(self._with_output(state, output))
        self._saved, self._last, self._generation = point, (left, counts), self._output.generation
        self.saves += 1


def lock_for(store: CheckpointStore) -> AbstractContextManager[object]:
    """One run per local checkpoint (``checkpoint.RunLock``); an OSS one is not locked (a Job's
    pods run one at a time)."""
    return checkpoint.RunLock(store.name) if isinstance(store, FileStore) else nullcontext()
