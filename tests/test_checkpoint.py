"""Checkpoint state, atomic save, validation, output truncation, SIGTERM flag, and kill/resume
of a real listing process against the emulator (SIGKILL and SIGTERM at an arbitrary page)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result

from osslist.checkpoint import (
    TAIL_BYTES,
    Checkpointer,
    CheckpointState,
    RunLock,
    StopFlag,
    fingerprint,
    load,
    lock_path,
    open_output_for_resume,
    restore_summary,
    save,
    tail_digest,
)
from osslist.emulator import Emulator
from osslist.errors import CheckpointBusy, CheckpointMismatch, OsslistError, UsageError
from osslist.listing import Position
from osslist.ranges import KeyRange
from osslist.summary import Summary
from tests.test_cli import BUCKET, ok, osslist, put

ARGS = {"bucket": "b", "endpoint": "http://127.0.0.1:1", "prefix": "p/", "format": "text"}


def state(**overrides: object) -> CheckpointState:
    values: dict = dict(
        fingerprint=fingerprint(ARGS),
        remaining=[(KeyRange("p/a", "p/m\x00"), Position(marker="p/c", token="tok")), (KeyRange("p/m", None), None)],
        output_offset=42,
        output_path="/data/out.txt",
        output_tail="0" * 64,
        summary={"objects": 3, "bytes": 10},
    )
    values.update(overrides)
    return CheckpointState(**values)  # type: ignore[arg-type]


def test_save_then_load_round_trips_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "ck.json"
    save(path, state())
    assert load(path, expected_fingerprint=fingerprint(ARGS)) == state()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json"]


def test_a_save_that_cannot_write_is_one_of_our_errors_naming_the_file(tmp_path: Path) -> None:
    """A full disk or a vanished directory mid-run must be one clear line, not 'unexpected OSError'."""
    path = tmp_path / "gone" / "ck.json"
    with pytest.raises(OsslistError, match="cannot save checkpoint .*ck.json") as caught:
        save(path, state())
    assert not isinstance(caught.value, UsageError)  # a run-time failure (exit 1), not bad input


def test_missing_checkpoint_means_a_fresh_start(tmp_path: Path) -> None:
    assert load(tmp_path / "none.json", expected_fingerprint="x") is None


def test_checkpoint_from_other_arguments_is_refused_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "ck.json"
    save(path, state())
    other = fingerprint({**ARGS, "prefix": "q/"})
    with pytest.raises(CheckpointMismatch, match="different arguments") as caught:
        load(path, expected_fingerprint=other)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"version": 99}', b'{"version": 2, "fingerprint": "x", "output_offset": -1}',
     b'{"version": 2, "fingerprint": "x", "output_offset": 0, "summary": {}, "remaining": []}',
     b'{"version": 2, "fingerprint": "x", "output_offset": 0, "summary": {}, "remaining": [{"range": [1, 2]}],'
     b' "output": {"path": "/o", "tail_sha256": ""}}'],
)
def test_corrupt_checkpoint_is_a_usage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ck.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match="corrupt"):
        load(path, expected_fingerprint="x")


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def saved_output(path: Path, offset: int) -> CheckpointState:
    """The state a Checkpointer saves after ``offset`` bytes of ``path`` were made durable."""
    return state(output_offset=offset, output_path=os.path.realpath(path), output_tail=tail_digest(path, offset))


def test_resume_truncates_output_to_the_saved_offset(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes(b"k1\nk2\n")
    saved = saved_output(out, 6)
    out.write_bytes(b"k1\nk2\nhalf-writ")
    with open_output_for_resume(out, saved) as handle:
        handle.write(b"k3\n")
    assert out.read_bytes() == b"k1\nk2\nk3\n"


def test_output_shorter_than_the_checkpoint_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes(b"k1\n" * 50)
    saved = saved_output(out, 100)
    out.write_bytes(b"k1\n")
    with pytest.raises(UsageError, match="shorter"):
        open_output_for_resume(out, saved)
    assert out.read_bytes() == b"k1\n"


@pytest.mark.parametrize("where", [0, 5, TAIL_BYTES - 1, TAIL_BYTES + 10],
                         ids=["first", "near", "tail-start", "before-tail"])
def test_output_whose_saved_bytes_changed_is_refused_and_left_untouched(tmp_path: Path, where: int) -> None:
    """Only the last TAIL_BYTES before the offset are hashed: an edit there is caught, an
    edit further back (cheap per page, a documented limit) is not."""
    out = tmp_path / "out.txt"
    data = bytes(range(256)) * 400  # 102,400 bytes
    out.write_bytes(data + b"half")
    saved = saved_output(out, len(data))
    edited = bytearray(data + b"half")
    edited[len(data) - 1 - where] ^= 0xFF
    out.write_bytes(bytes(edited))
    if where >= TAIL_BYTES:
        open_output_for_resume(out, saved).close()
        assert out.read_bytes() == bytes(edited[: len(data)])
        return
    with pytest.raises(CheckpointMismatch, match="not the file its checkpoint saved") as caught:
        open_output_for_resume(out, saved)
    assert caught.value.exit_code == 2
    assert out.read_bytes() == bytes(edited)


def test_checkpointer_saves_durable_offset_and_drops_finished_ranges(tmp_path: Path) -> None:
    out_path, ck = tmp_path / "out.txt", tmp_path / "ck.json"
    summary = Summary(objects=2, bytes=5, by_class={"Standard": [2, 5]})
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("a\nb\n")
        saved = Checkpointer(ck, fingerprint="f", output=out, output_path=out_path).commit(
            [(KeyRange("", "b\x00"), Position(marker="b", done=True)), (KeyRange("b", None), None)], summary
        )
    assert saved.output_offset == 4 and saved.remaining == [(KeyRange("b", None), None)]
    assert saved.output_path == os.path.realpath(out_path) and saved.finished_at is None
    assert saved.output_tail == hashlib.sha256(b"a\nb\n").hexdigest()
    loaded = load(ck, expected_fingerprint="f")
    assert loaded == saved and restore_summary(loaded.summary) == summary


def test_the_last_save_records_when_the_listing_finished(tmp_path: Path) -> None:
    out_path, ck = tmp_path / "out.txt", tmp_path / "ck.json"
    with open(out_path, "wb") as out:
        saver = Checkpointer(ck, fingerprint="f", output=out, output_path=out_path, clock=lambda: 1_800_000_000.0)
        saved = saver.commit([], Summary())
    assert saved.finished and saved.finished_at == "2027-01-15T08:00:00Z"
    assert json.loads(ck.read_text())["finished_at"] == "2027-01-15T08:00:00Z"


def test_a_format_1_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    """Format 1 did not name its output: resuming it could cut another file."""
    path = tmp_path / "ck.json"
    path.write_text(json.dumps({"version": 1, "fingerprint": "x", "remaining": [], "output_offset": 0, "summary": {}}))
    with pytest.raises(CheckpointMismatch, match="format 1, written by an older osslist") as caught:
        load(path, expected_fingerprint="x")
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_the_run_lock_names_its_holder_and_is_free_again_after_release(tmp_path: Path) -> None:
    ck = tmp_path / "ck.json"
    with RunLock(ck):
        assert f"pid {os.getpid()} on host " in lock_path(ck).read_text()
        with pytest.raises(CheckpointBusy, match=f"in use by pid {os.getpid()} on host") as caught:
            RunLock(ck).acquire()
        assert caught.value.exit_code == 2
    with RunLock(ck):
        pass


def test_stop_flag_records_sigterm_and_hands_the_handler_back() -> None:
    with StopFlag() as flag:
        assert not flag.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.is_set() and flag.signal_number == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# --- a real listing process killed mid-run, then resumed -------------------------------------

RUNNER = r'''
import sys
from osslist.checkpoint import Checkpointer, StopFlag, fingerprint, load, open_output_for_resume, restore_summary
from osslist.client import make_bucket_client
from osslist.sources import resolve_provider
from osslist.errors import Interrupted
from osslist.listing import ListingSpec, iter_pages
from osslist.pages import record_name
from osslist.parallel import ParallelLister
from osslist.ranges import KeyRange, range_spec
from osslist.summary import Summary

metadata, endpoint, out_path, ck_path = sys.argv[1:5]
spec = ListingSpec(max_keys=50)
printed = fingerprint({"bucket": "big", "endpoint": endpoint, "spec": repr(spec)})
saved = load(ck_path, expected_fingerprint=printed)
if saved is None:
    ranges, positions, out, summary = [KeyRange()], None, open(out_path, "wb"), Summary()
else:
    ranges = [r for r, _ in saved.remaining]
    positions = [p for _, p in saved.remaining]
    out, summary = open_output_for_resume(out_path, saved), restore_summary(saved.summary)
provider = resolve_provider("auto", environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": metadata})
client = make_bucket_client("big", endpoint, provider, region="cn-hangzhou")
lister = ParallelLister(lambda r, p, b: iter_pages(client, range_spec(spec, r), position=p, bound=b), ranges,
                        positions=positions, workers=4)
checkpointer = Checkpointer(ck_path, fingerprint=printed, output=out, output_path=out_path)
with StopFlag() as stop:
    try:
        for event in lister:
            for record in event.page.records:
                out.write(record_name(record).encode() + b"\n")
                summary.add(record)
            checkpointer.commit(lister.remaining(), summary)
            if stop.is_set():
                raise Interrupted("stopped")
    except Interrupted:
        sys.exit(143)
print(summary.objects)
'''


def start_runner(emu: Emulator, tmp_path: Path) -> subprocess.Popen[bytes]:
    args = [emu.metadata_url, emu.oss_endpoint, str(tmp_path / "out.txt"), str(tmp_path / "ck.json")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", RUNNER, *args], env=env, stdout=subprocess.PIPE)


def wait_for_output(path: Path, lines: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= lines:
            return
        time.sleep(0.01)
    raise AssertionError("the listing did not get far enough to be interrupted")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_listing_resumes_with_every_key_exactly_once_in_order(
    make_emulator: object, tmp_path: Path, sig: int
) -> None:
    emu = make_emulator()  # type: ignore[operator]
    emu.create_bucket("big")
    keys = [f"k/{i:06d}" for i in range(8000)]
    for key in keys:
        emu.put_object("big", key, size=1)
    emu.faults.oss_latency = 0.01
    out = tmp_path / "out.txt"
    first = start_runner(emu, tmp_path)
    wait_for_output(out, 1500, first)
    first.send_signal(sig)
    first.wait(timeout=60)
    assert first.returncode == (143 if sig == signal.SIGTERM else -signal.SIGKILL)
    written = out.read_bytes().count(b"\n")
    assert written < len(keys)
    saved = json.loads((tmp_path / "ck.json").read_text())
    assert 0 < saved["output_offset"] <= out.stat().st_size
    emu.faults.oss_latency = 0.0
    second = start_runner(emu, tmp_path)
    stdout, _ = second.communicate(timeout=120)
    assert second.returncode == 0
    assert out.read_text().splitlines() == keys
    assert stdout.strip() == b"8000"


# --- the files around a checkpointed listing, through the real command line --------------------

CK_KEYS = [f"r/{i:04d}" for i in range(300)]


def ck_run(emulator: Emulator, tmp_path: Path, *args: str, output: Path | None = None) -> Result:
    """A checkpointed jsonl listing, pages of 20, into out.jsonl (or ``output``) and ck.json."""
    target = output if output is not None else tmp_path / "out.jsonl"
    return osslist(emulator, "--max-keys", "20", "--format", "jsonl", "--output", str(target),
                   "--checkpoint", str(tmp_path / "ck.json"), *args)


def crash_after_save(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """The ``number``-th save reaches the disk, then the run dies (as a SIGKILL would)."""
    real, calls = Checkpointer.commit, []

    def commit(self: Checkpointer, remaining: object, summary: object) -> CheckpointState:
        calls.append(1)
        saved = real(self, remaining, summary)  # type: ignore[arg-type]
        if len(calls) == number:
            raise RuntimeError("killed after the save")
        return saved

    monkeypatch.setattr(Checkpointer, "commit", commit)


def interrupted_run(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put(emulator, CK_KEYS)
    crash_after_save(monkeypatch, 3)
    assert ck_run(emulator, tmp_path).exit_code == 1
    monkeypatch.undo()
    emulator.clear_requests()


def refused(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and fragment in result.stderr, result.stderr


def test_resuming_with_another_output_refuses_and_leaves_that_file_untouched(emulator, tmp_path, monkeypatch):
    """Issue 10 item 1: precious.txt was cut at the saved offset and appended to, exit 0."""
    interrupted_run(emulator, tmp_path, monkeypatch)
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"an unrelated file\n" * 2000)
    result = ck_run(emulator, tmp_path, output=precious)
    refused(result, f"belongs to output {os.path.realpath(tmp_path / 'out.jsonl')}, not {precious}")
    assert precious.read_bytes() == b"an unrelated file\n" * 2000
    assert emulator.requests_for("oss") == []
    ok(ck_run(emulator, tmp_path))  # the right output still resumes
    assert [json.loads(line)["key"] for line in (tmp_path / "out.jsonl").read_text().splitlines()] == CK_KEYS


def test_resuming_into_an_output_replaced_since_the_save_refuses(emulator, tmp_path, monkeypatch):
    interrupted_run(emulator, tmp_path, monkeypatch)
    output = tmp_path / "out.jsonl"
    replaced = output.read_bytes().replace(b"r/00", b"x/00")
    output.write_bytes(replaced)
    refused(ck_run(emulator, tmp_path), "is not the file its checkpoint saved")
    assert output.read_bytes() == replaced
    assert emulator.requests_for("oss") == []


def test_resuming_through_a_symlink_to_the_same_output_is_allowed(emulator, tmp_path, monkeypatch):
    interrupted_run(emulator, tmp_path, monkeypatch)
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "out.jsonl")
    ok(ck_run(emulator, tmp_path, output=link))
    assert [json.loads(line)["key"] for line in (tmp_path / "out.jsonl").read_text().splitlines()] == CK_KEYS


def test_a_format_1_checkpoint_is_refused_by_the_cli_with_the_output_untouched(emulator, tmp_path):
    put(emulator, CK_KEYS)
    (tmp_path / "ck.json").write_text(json.dumps(
        {"version": 1, "fingerprint": "f", "remaining": [], "output_offset": 3, "summary": {}}))
    (tmp_path / "out.jsonl").write_bytes(b"keep me\n")
    refused(ck_run(emulator, tmp_path), "format 1, written by an older osslist")
    assert (tmp_path / "out.jsonl").read_bytes() == b"keep me\n"


def test_a_finished_checkpoint_says_so_once_and_shows_no_old_summary(emulator, tmp_path):
    """Issue 10 item 3: a CronJob reusing the path printed yesterday's counts as a new listing."""
    put(emulator, CK_KEYS, size=2)
    ok(ck_run(emulator, tmp_path))
    listed = (tmp_path / "out.jsonl").read_bytes()
    emulator.put_object(BUCKET, "r/9999", size=5)  # the bucket changed since
    emulator.clear_requests()
    summary_json = tmp_path / "summary.json"
    rerun = ok(ck_run(emulator, tmp_path, "--summary-json", str(summary_json)))
    finished_at = json.loads((tmp_path / "ck.json").read_text())["finished_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", finished_at)
    assert rerun.stderr.splitlines() == [rerun.stderr.strip()]
    assert f"finished at {finished_at} (output {os.path.realpath(tmp_path / 'out.jsonl')})" in rerun.stderr
    assert "nothing listed" in rerun.stderr and "300 objects" not in rerun.stderr  # no old counts
    assert rerun.stdout == "" and not summary_json.exists()
    assert (tmp_path / "out.jsonl").read_bytes() == listed
    assert emulator.requests_for("oss") == []


def test_a_second_run_on_a_checkpoint_in_use_exits_2_naming_the_holder(emulator, tmp_path):
    """Issue 10 item 4: two runs on one checkpoint raced; the holder is another process here."""
    put(emulator, CK_KEYS)
    ck = tmp_path / "ck.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom osslist.checkpoint import RunLock\n"
         "lock = RunLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(60)", str(ck)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}, stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        result = ck_run(emulator, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    refused(result, f"checkpoint {ck} is in use by pid {holder.pid} on host ")
    assert emulator.requests_for("oss") == [] and not (tmp_path / "out.jsonl").exists() and not ck.exists()
    ok(ck_run(emulator, tmp_path))  # a killed holder leaves no stale lock


@pytest.mark.parametrize(("output", "checkpoint", "fragment"), [
    ("/dev/null", "ck.json", "--output to be a regular file, and /dev/null is a device or stream alias"),
    ("/dev/stdout", "ck.json", "--output to be a regular file, and /dev/stdout is a device or stream alias"),
    ("/proc/self/fd/1", "ck.json", "is a device or stream alias"),
    ("out.jsonl", "/dev/null", "--checkpoint to be a regular file, and /dev/null is a device"),
    ("fifo", "ck.json", "is a pipe"),
])
def test_a_checkpoint_refuses_an_output_that_is_not_a_regular_file(emulator, tmp_path, output, checkpoint, fragment):
    """Issue 10 item 5: --output /dev/null failed with [Errno 22] after writing."""
    put(emulator, CK_KEYS)
    os.mkfifo(tmp_path / "fifo")
    target = output if output.startswith("/") else str(tmp_path / output)
    ck = checkpoint if checkpoint.startswith("/") else str(tmp_path / checkpoint)
    result = osslist(emulator, "--output", target, "--checkpoint", ck)
    refused(result, fragment)
    assert emulator.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]
