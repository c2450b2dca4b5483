"""--checkpoint with --output oss://...: a report upload that the next pod continues.

The checkpoint is the local checkpoint's state (``checkpoint.CheckpointState``: fingerprint,
ranges left with their positions, counts, output name, finish time) plus the multipart upload
it belongs to (upload id, parts 1..n with ETags, plain and stored offsets). It lives in a
file or an OSS object (``checkpointstore``).

What makes a kill at any instant harmless: the upload cuts parts only at page ends
(``OssWriter(cut_at_marks=True)``, ``mark()`` after each page), and the state is saved only
once parts 1..n are all uploaded, with the position and counts of the page that part n ends
with. A rerun checks those parts with ListParts, lists again from that position and uploads
parts n+1.. of the same upload; parts a killed run uploaded after n are replaced. SIGTERM:
the parts in flight are waited for, the state saved, the upload kept (exit 143).
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from osslist import checkpoint, runner
from osslist.checkpoint import CheckpointState, JsonObject
from osslist.checkpointstore import CheckpointStore, DurableSaver, load_state, lock_for, store_for
from osslist.errors import CheckpointFinished, OssRefused
from osslist.feed import Pending
from osslist.job import PreparedRun
from osslist.ossobjects import ObjectClient
from osslist.ossout import Committed, OssWriter
from osslist.osstarget import PARTS_IN_FLIGHT
from osslist.output import make_writer
from osslist.summary import Summary

log = logging.getLogger(__name__)


class Upload:
    """An ``OssWriter`` as a ``DurableOutput``: a page ends where it is marked (``mark()``, so
    parts end at page ends); parts 1..n uploaded are durable."""

    generation = 0
    """Nothing to name beyond the upload, which ``start`` saved before any part."""

    def __init__(self, writer: OssWriter) -> None:
        self.writer = writer
        self.url = writer.url

    def end_page(self) -> int:
        self.writer.mark()
        return self.writer.plain_bytes

    def durable(self) -> tuple[int, JsonObject]:
        committed = self.writer.committed()
        return committed.plain_offset, committed.to_json()

    def drain(self) -> None:
        self.writer.drain()

    def abort(self, *, keep_upload: bool = False) -> None:
        self.writer.abort(keep_upload=keep_upload)


class PartSaver(DurableSaver):
    """The save hook of an upload: saved whenever more parts are uploaded, with the state of
    the page the last of them ends with. Once ``commit`` sees nothing remaining, ``finish``
    completes the upload, then saves the finished state."""

    def __init__(self, store: CheckpointStore, *, fingerprint: str, writer: OssWriter,
                 clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        super().__init__(store, fingerprint=fingerprint, output=Upload(writer), clock=clock)

    def finish(self, summary: Summary) -> None:
        """The last part, CompleteMultipartUpload (the object appears), then the finished state."""
        assert self._done, "finish() after the last commit"
        self._writer.close()
        self._save([], checkpoint.summary_state(summary), *self._output.durable(), finished=True)


def _open_writer(prepared: PreparedRun, saved: CheckpointState | None, store: CheckpointStore) -> OssWriter:
    """A fresh upload (probed), or the saved one continued after its parts are checked. An
    upload the previous run completed (gone, the object there) finishes the checkpoint."""
    target = prepared.output_target
    assert target is not None, "run only with --output oss://"
    key, objects = target.url.key, target.objects
    writer = OssWriter(objects, key, part_size=target.part_size, compress=target.compress, cut_at_marks=True,
                       workers=1, in_flight=PARTS_IN_FLIGHT, keep_upload_on_failure=True)
    committed = Committed.from_json(None if saved is None else saved.upload)
    if not committed.parts:  # nothing uploaded yet: start over
        _abort_earlier_uploads(objects, key, None if saved is None else committed.upload_id)
        writer.probe()
        return writer
    try:
        writer.continue_upload(committed)
        return writer
    except OssRefused as exc:
        writer.abort(keep_upload=True)
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
    with lock_for(store):
        saved = load_state(store, prepared, printed, str(target.url))
        writer = _open_writer(prepared, saved, store)
        saver = PartSaver(store, fingerprint=printed, writer=writer)
        try:
            if saved is None or not Committed.from_json(saved.upload).parts:
                todo: list[Pending] = [(r, None) for r in prepared.ranges]
                summary = Summary()
                saver.start(todo, summary)
            else:
                todo, summary = runner.saved_todo(saved), checkpoint.restore_summary(saved.summary)
            out = make_writer(job.output.format, writer, null=job.output.null, human=job.output.human,
                              bucket=job.connection.bucket, header=writer.plain_bytes == 0,
                              versions=prepared.versions, owner=job.selection.fetch_owner)
        except BaseException:
            writer.abort(keep_upload=True)  # the checkpoint resumes it
            raise
        saver.run(prepared, todo, out, summary, on_page=on_page, stop=stop)
        saver.finish(summary)
    return summary
