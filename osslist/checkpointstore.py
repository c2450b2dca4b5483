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
import time
from collections import deque
from pathlib import Path
from typing import Callable, Protocol

from osslist import checkpoint, runner
from osslist.checkpoint import CheckpointState, JsonObject, Remaining, SavedPosition
from osslist.errors import CheckpointMismatch, Interrupted, UsageError
from osslist.feed import Pending
from osslist.job import PreparedRun
from osslist.ossobjects import ObjectClient
from osslist.ossurl import is_oss_url
from osslist.ranges import KeyRange
from osslist.runner import OnPage, P, Writer
from osslist.summary import Summary
from osslist.versions import VersionPosition


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
    compare."""

    @property
    def url(self) -> str: ...

    def page_end(self) -> int:
        """Where the bytes of the page just written end (the page boundary is marked here)."""
        ...

    def durable(self) -> tuple[int, JsonObject]:
        """How far the bytes are durable, and the output's state that continues from there."""
        ...

    def drain(self) -> None: ...

    def abort(self, *, keep_upload: bool = False) -> None: ...


Page = tuple[int, list[tuple[KeyRange, SavedPosition | None]], JsonObject]
"""A page written: where its bytes end, what is left to list after it, the counts then."""


class DurableSaver:
    """The save hook (a ``runner.Saver``) of a ``DurableOutput``: after each page ``commit``
    remembers where the page's bytes end, its position and counts; whenever more bytes are
    durable it saves the state of the last page they cover, with the output's own state as
    the checkpoint's ``entry`` (``upload`` or ``inventory``). So a rerun never lists a page
    twice into the output nor skips one. Subclasses finish the output."""

    entry = "upload"

    def __init__(self, store: CheckpointStore, *, fingerprint: str, output: DurableOutput,
                 clock: Callable[[], float] = time.time) -> None:
        self._store, self._fingerprint, self._output, self._clock = store, fingerprint, output, clock
        self._pages: deque[Page] = deque()
        self._saved = output.durable()[0]
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
        self._pages.append((self._output.page_end(), left, checkpoint.summary_state(summary)))
        self.save_durable()

    def save_durable(self) -> None:
        """Save the last page whose bytes are all durable, if that is further than the last save."""
        point, state = self._output.durable()
        if point <= self._saved:
            return
        page = None
        while self._pages and self._pages[0][0] <= point:
            page = self._pages.popleft()
        if page is not None:
            self._save(page[1], page[2], point, state)

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
        """SIGTERM: wait for the parts in flight, save what they cover, keep the upload."""
        try:
            self._output.drain()
            self.save_durable()
        finally:
            self._output.abort(keep_upload=True)

    def _save(self, left: list[tuple[KeyRange, SavedPosition | None]], counts: JsonObject, point: int,
              state: JsonObject, *, finished: bool = False) -> None:
        self._store.write(CheckpointState(
            fingerprint=self._fingerprint, remaining=left, output_offset=point, output_path=self._output.url,
            summary=counts, finished_at=checkpoint.utc_text(self._clock()) if finished else None,
            upload=state if self.entry == "upload" else None, inventory=state if self.entry == "inventory" else None,
        ))
        self._saved = point
        self.saves += 1
