"""Checkpoint state, atomic save, validation, output truncation, SIGTERM flag, and kill/resume
of a real listing process against the emulator (SIGKILL and SIGTERM at an arbitrary page)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from osslist.checkpoint import (
    Checkpointer,
    CheckpointState,
    StopFlag,
    fingerprint,
    load,
    open_output_for_resume,
    restore_summary,
    save,
)
from osslist.emulator import Emulator
from osslist.errors import CheckpointMismatch, Interrupted, OsslistError, UsageError
from osslist.listing import Position
from osslist.ranges import KeyRange
from osslist.summary import Summary

ARGS = {"bucket": "b", "endpoint": "http://127.0.0.1:1", "prefix": "p/", "format": "text"}


def state(**overrides: object) -> CheckpointState:
    values: dict = dict(
        fingerprint=fingerprint(ARGS),
        remaining=[(KeyRange("p/a", "p/m\x00"), Position(marker="p/c", token="tok")), (KeyRange("p/m", None), None)],
        output_offset=42,
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
    [b"{not json", b"[]", b'{"version": 99}', b'{"version": 1, "fingerprint": "x", "output_offset": -1}',
     b'{"version": 1, "fingerprint": "x", "output_offset": 0, "summary": {}, "remaining": [{"range": [1, 2]}]}'],
)
def test_corrupt_checkpoint_is_a_usage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ck.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match="corrupt"):
        load(path, expected_fingerprint="x")


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_resume_truncates_output_to_the_saved_offset(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes(b"k1\nk2\nhalf-writ")
    with open_output_for_resume(out, 6) as handle:
        handle.write(b"k3\n")
    assert out.read_bytes() == b"k1\nk2\nk3\n"


def test_output_shorter_than_the_checkpoint_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes(b"k1\n")
    with pytest.raises(UsageError, match="shorter"):
        open_output_for_resume(out, 100)


def test_checkpointer_saves_durable_offset_and_drops_finished_ranges(tmp_path: Path) -> None:
    out_path, ck = tmp_path / "out.txt", tmp_path / "ck.json"
    summary = Summary(objects=2, bytes=5, by_class={"Standard": [2, 5]})
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("a\nb\n")
        saved = Checkpointer(ck, fingerprint="f", output=out).commit(
            [(KeyRange("", "b\x00"), Position(marker="b", done=True)), (KeyRange("b", None), None)], summary
        )
    assert saved.output_offset == 4 and saved.remaining == [(KeyRange("b", None), None)]
    loaded = load(ck, expected_fingerprint="f")
    assert loaded is not None and restore_summary(loaded.summary) == summary


def test_stop_flag_turns_sigterm_into_interrupted_143() -> None:
    with StopFlag() as flag:
        flag.raise_if_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.is_set() and flag.signal_number == signal.SIGTERM
        with pytest.raises(Interrupted) as caught:
            flag.raise_if_set()
    assert caught.value.exit_code == 143
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
    out, summary = open_output_for_resume(out_path, saved.output_offset), restore_summary(saved.summary)
provider = resolve_provider("auto", environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": metadata})
client = make_bucket_client("big", endpoint, provider, region="cn-hangzhou")
lister = ParallelLister(lambda r, p, b: iter_pages(client, range_spec(spec, r), position=p, bound=b), ranges,
                        positions=positions, workers=4)
checkpointer = Checkpointer(ck_path, fingerprint=printed, output=out)
with StopFlag() as stop:
    try:
        for event in lister:
            for record in event.page.records:
                out.write(record_name(record).encode() + b"\n")
                summary.add(record)
            checkpointer.commit(lister.remaining(), summary)
            stop.raise_if_set()
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
