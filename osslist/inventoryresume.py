"""--checkpoint with --format oss-inventory: an inventory that a later run (another pod) continues.

The checkpoint is the usual state (fingerprint, ranges left with their positions, counts,
output) plus the inventory's own (``CheckpointState.inventory``): its uuid and start time, the
data files completed (key, size, MD5, first key) and the one in progress with what resumes it
(its multipart upload and parts, or a local ``.partial`` file's durable length). It lives in a
file or an OSS object, as for any output (``ossresume.store_for``).

What makes a kill at any instant harmless: a data file's parts are cut only at page ends
(``InventoryWriter``), and the state is saved only when more of the inventory is durable (a
part uploaded, a file completed), with the position and counts of the page those bytes end
with. A rerun reopens the file in progress at that point and lists again from that position;
what a killed run wrote after it is dropped or overwritten.

The end: the last data file is completed and a state with nothing left to list is saved, then
the manifest is written (``publish``) and the state marked finished. A rerun that finds nothing
left but no finish time only publishes (the manifest is written once; the same bytes again are
fine), so a kill between the two still ends with one manifest.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from osslist import checkpoint, runner
from osslist.checkpoint import CheckpointState, JsonObject
from osslist.checkpointstore import CheckpointStore, DurableSaver, lock_for, read_state, store_for
from osslist.errors import UsageError
from osslist.feed import Pending
from osslist.inventory import InventoryWriter
from osslist.job import PreparedRun
from osslist.summary import Summary


class InventorySaver(DurableSaver):
    """The save hook of an inventory run: saved whenever more of the inventory is durable (a
    part uploaded, a data file completed). ``finish`` completes the last file, saves that
    nothing is left, writes the manifest, then saves the finished state."""

    def __init__(self, store: CheckpointStore, *, fingerprint: str, writer: InventoryWriter,
                 resumed: CheckpointState | None = None, clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        left = None if resumed is None else (list(resumed.remaining), resumed.summary)
        super().__init__(store, fingerprint=fingerprint, output=writer, resumed=left, clock=clock)

    def _with_output(self, state: CheckpointState, output: JsonObject) -> CheckpointState:
        return replace(state, inventory=output)

    def finish(self, summary: Summary) -> str:
        """Returns what was written, for the log."""
        assert self._done, "finish() after the last commit"
        self._writer.finish_files()
        counts = checkpoint.summary_state(summary)
        self._save([], counts, *self._writer.durable())
        return self.publish(counts)

    def publish(self, counts: JsonObject) -> str:
        """The manifest (or this shard's part), then the finished state."""
        written = self._writer.publish()
        self._save([], counts, *self._writer.durable(), finished=True)
        return written


def run_resumable_inventory(prepared: PreparedRun, writer: InventoryWriter, *, on_page: runner.OnPage | None = None,
                            stop: checkpoint.StopFlag | None = None) -> tuple[Summary, str]:
    """List into ``writer`` saving as its bytes become durable; rerunning the same command
    (anywhere, with an oss:// checkpoint) continues. Returns the Summary and what was written."""
    printed, store = runner.checkpoint_fingerprint(prepared), store_for(prepared)
    with lock_for(store):
        saved = read_state(store, prepared, printed, writer.url)
        if saved is not None and saved.finished and saved.finished_at is None and saved.inventory is not None:
            return _publish_only(saved, store, printed, writer)  # a kill came between the last file and the manifest
        if saved is not None:
            checkpoint.refuse_finished(saved, store.name)
        todo, summary = _continue(saved, prepared, writer, store.name)
        saver = InventorySaver(store, fingerprint=printed, writer=writer, resumed=saved)
        if saved is None:
            saver.start(todo, summary)
        saver.run(prepared, todo, writer, summary, on_page=on_page, stop=stop)
        return summary, saver.finish(summary)


def _continue(saved: CheckpointState | None, prepared: PreparedRun, writer: InventoryWriter,
              name: str) -> tuple[list[Pending], Summary]:
    """What is left to list and the counts so far: all of the run's ranges for a fresh start,
    else the saved ones, with the writer restored to the saved data files."""
    if saved is None:
        return [(r, None) for r in prepared.ranges], Summary()
    if saved.inventory is None:
        raise UsageError(f"checkpoint {name} is not an inventory's; delete it to start over")
    writer.restore(saved.inventory)
    return runner.saved_todo(saved), checkpoint.restore_summary(saved.summary)


def _publish_only(saved: CheckpointState, store: CheckpointStore, printed: str,
                  writer: InventoryWriter) -> tuple[Summary, str]:
    """Every data file is complete and saved: write the manifest and finish the checkpoint."""
    assert saved.inventory is not None
    writer.restore(saved.inventory)
    written = InventorySaver(store, fingerprint=printed, writer=writer).publish(saved.summary)
    return checkpoint.restore_summary(saved.summary), written

