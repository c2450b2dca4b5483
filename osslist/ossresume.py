"""--checkpoint with --output oss://...: a report upload that the next pod continues.

The checkpoint is the local checkpoint's state (``checkpoint.CheckpointState``: fingerprint,
ranges left with their positions, counts, output name, finish time) plus the multipart upload
it belongs to (upload id, parts 1..n with ETags, plain and stored offsets). It lives in a
*store*: a local file (``FileStore``, saved atomically as ever) or an OSS object
(``ObjectStore``, one PutObject per save, so a new pod with nothing local finds it).

What makes a kill at any instant harmless: the upload cuts parts only at page ends
(``OssWriter(cut_at_marks=True)``, ``mark()`` after each page), and the state is saved only
once parts 1..n are all uploaded, with the position and counts of the page that part n ends
with. A rerun checks those parts with ListParts, lists again from that position and uploads
parts n+1.. of the same upload; parts a killed run uploaded after n are replaced. SIGTERM:
the parts in flight are waited for, the state saved, the upload kept (exit 143).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from pathlib import Path
from typing import Callable, Protocol, Sequence

from osslist import checkpoint, runner
from osslist.checkpoint import CheckpointState, JsonObject, SavedPosition
from osslist.errors import CheckpointFinished, CheckpointMismatch, Interrupted, OssRefused, UsageError
from osslist.job import PreparedRun
from osslist.ossobjects import ObjectClient
from osslist.ossout import Committed, OssWriter
from osslist.osstarget import PARTS_IN_FLIGHT
from osslist.ossurl import is_oss_url
from osslist.output import make_writer
from osslist.ranges import KeyRange
from osslist.summary import Summary
from osslist.versions import VersionPosition

log = logging.getLogger(__name__)

Remaining = Sequence[tuple[KeyRange, SavedPosition | None]]


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


def upload_json(committed: Committed) -> JsonObject:
    return {"upload_id": committed.upload_id, "parts": [list(p) for p in committed.parts],
            "plain_offset": committed.plain_offset, "stored_offset": committed.stored_offset}


def upload_from(data: JsonObject | None) -> Committed:
    """The saved upload (an empty one for None); UsageError when malformed."""
    if data is None:
        return Committed(None, (), 0, 0)
    try:
        parts = tuple((int(n), str(e)) for n, e in data["parts"])
        upload_id = data["upload_id"]
        return Committed(None if upload_id is None else str(upload_id), parts, int(data["plain_offset"]),
                         int(data["stored_offset"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"checkpoint upload entry is malformed ({exc}); delete the checkpoint to start over") from exc


class PartSaver:
    """The save hook of an upload: after each page ``commit(remaining, summary)`` marks the page
    end and remembers its position and counts; whenever more parts are uploaded it saves the
    state of the page the last of them ends with. Once ``commit`` sees nothing remaining,
    ``finish`` completes the upload, then saves the finished state."""

    def __init__(self, store: CheckpointStore, *, fingerprint: str, writer: OssWriter,
                 clock: Callable[[], float] = time.time) -> None:
        self._store, self._fingerprint, self._writer, self._clock = store, fingerprint, writer, clock
        self._pages: deque[tuple[int, list[tuple[KeyRange, SavedPosition | None]], JsonObject]] = deque()
        self._saved = writer.committed().plain_offset
        self._done = False
        self.saves = 0

    def start(self, remaining: Remaining, summary: Summary) -> None:
        """Save the upload id before any part, so a rerun can abort or continue it."""
        self._save(list(remaining), checkpoint.summary_state(summary), self._writer.committed())

    def commit(self, remaining: Remaining, summary: Summary) -> None:
        left = [(r, p) for r, p in remaining if p is None or not p.done]
        if not left or self._done:
            self._done = True  # nothing more will be written: finish() completes the upload
            return
        self._writer.mark()
        self._pages.append((self._writer.plain_bytes, left, checkpoint.summary_state(summary)))
        self.save_uploaded()

    def finish(self, summary: Summary) -> None:
        """The last part, CompleteMultipartUpload (the object appears), then the finished state."""
        assert self._done, "finish() after the last commit"
        self._writer.close()
        self._save([], checkpoint.summary_state(summary), self._writer.committed(), finished=True)

    def save_uploaded(self) -> None:
        """Save the page the last uploaded part ends with, if parts were uploaded since."""
        committed = self._writer.committed()
        if committed.plain_offset <= self._saved:
            return
        while len(self._pages) > 1 and self._pages[1][0] <= committed.plain_offset:
            self._pages.popleft()
        offset, left, counts = self._pages.popleft()
        assert offset == committed.plain_offset, "parts end at page ends"
        self._save(left, counts, committed)

    def stop(self) -> None:
        """SIGTERM: wait for the parts in flight, save what they cover, keep the upload."""
        try:
            self._writer.drain()
            self.save_uploaded()
        finally:
            self._writer.abort(keep_upload=True)

    def _save(self, left: list[tuple[KeyRange, SavedPosition | None]], counts: JsonObject, committed: Committed,
              *, finished: bool = False) -> None:
        state = CheckpointState(
            fingerprint=self._fingerprint, remaining=left, output_offset=committed.plain_offset,
            output_path=self._writer.url, summary=counts,
            finished_at=checkpoint.utc_text(self._clock()) if finished else None, upload=upload_json(committed),
        )
        self._store.write(state)
        self._saved = committed.plain_offset
        self.saves += 1


def load_state(store: CheckpointStore, prepared: PreparedRun, printed: str, url: str) -> CheckpointState | None:
    """The saved state of this run's checkpoint (checked: same arguments, same output, not
    finished), or None for a fresh start."""
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
    checkpoint.refuse_finished(saved, store.name)
    return saved


def _open_writer(prepared: PreparedRun, saved: CheckpointState | None, store: CheckpointStore) -> OssWriter:
    """A fresh upload (probed), or the saved one continued after its parts are checked. An
    upload the previous run completed (gone, the object there) finishes the checkpoint."""
    target = prepared.output_target
    assert target is not None, "run only with --output oss://"
    options = {"part_size": target.part_size, "compress": target.compress, "cut_at_marks": True, "workers": 1,
               "in_flight": PARTS_IN_FLIGHT}
    committed = upload_from(None if saved is None else saved.upload)
    key, objects = target.url.key, target.objects
    if not committed.parts:  # nothing uploaded yet: start over
        _abort_earlier_uploads(objects, key, None if saved is None else committed.upload_id)
        writer = OssWriter(objects, key, **options)  # type: ignore[arg-type]
        writer.probe()
        return writer
    try:
        return OssWriter.resume(objects, key, committed, **options)
    except OssRefused as exc:
        if exc.code != "NoSuchUpload" or not objects.exists(key):
            raise
    assert saved is not None
    store.write(CheckpointState(**{**saved.__dict__, "remaining": [],
                                   "finished_at": checkpoint.utc_text(time.time())}))
    raise CheckpointFinished(f"checkpoint {store.name}: the previous run completed {target.url}; nothing listed")


def _abort_earlier_uploads(objects: ObjectClient, key: str, saved_id: str | None) -> None:
    """Abort the upload a checkpoint saved before any part, and (when the role may list uploads,
    oss:ListMultipartUploads) any other left on this key by a pod killed before its first save."""
    ids = {saved_id} if saved_id else set()
    try:
        ids.update(objects.uploads_of(key))
    except OssRefused as exc:
        log.debug("not listing earlier uploads of %s: %s", objects.url(key), exc)
    for upload_id in sorted(ids):
        objects.abort(key, upload_id)


def run_resumable_oss(prepared: PreparedRun, *, on_page: runner.OnPage | None = None,
                      stop: checkpoint.StopFlag | None = None) -> Summary:
    """--checkpoint with --output oss://: list into the upload, saving after each uploaded
    part; rerunning the same command (anywhere) continues it."""
    job = prepared.job
    target = prepared.output_target
    assert target is not None, "run only with --output oss://"
    printed, store = runner.checkpoint_fingerprint(prepared), store_for(prepared)
    saved = load_state(store, prepared, printed, str(target.url))
    writer = _open_writer(prepared, saved, store)
    saver = PartSaver(store, fingerprint=printed, writer=writer)
    try:
        if saved is None or not upload_from(saved.upload).parts:
            todo: list[runner.Pending] = [(r, None) for r in prepared.ranges]
            summary = Summary()
            saver.start(todo, summary)
        else:
            todo, summary = list(saved.remaining), checkpoint.restore_summary(saved.summary)
        out = make_writer(job.output.format, writer, null=job.output.null, human=job.output.human,
                          bucket=job.connection.bucket, header=writer.plain_bytes == 0, versions=prepared.versions,
                          owner=job.selection.fetch_owner)
        runner.resume_into(prepared, todo, out, summary, saver, on_page=on_page, stop=stop)
        saver.finish(summary)
    except Interrupted:
        saver.stop()
        raise
    except BaseException:
        writer.abort(keep_upload=True)  # the checkpoint resumes it
        raise
    return summary
