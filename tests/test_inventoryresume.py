"""--format oss-inventory with --checkpoint (issue 12 point 1: "resumable with --checkpoint like
any OSS output"). Pods killed with SIGKILL at random moments, each rerun in a fresh empty
working directory and HOME, end with one inventory that the reader written from the
documentation parses: every object exactly once, MD5s and sizes right, no upload left; the
same with a local directory and checkpoint file; SIGTERM saves and exits 143; the rare
windows (a data file completed but not yet saved, the manifest not yet written) recover."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from osslist import inventory, inventorystores
from osslist.cli import main
from osslist.emulator import Emulator
from tests.helpers import assert_no_credentials_in, clean_env
from tests.test_inventory import documented_inventory, local_get, oss_get

SOURCE, INV = "src", "inv"
PREFIX, CHECKPOINT = "audit/", "audit-checkpoint.json"
ROOT = Path(__file__).resolve().parents[1]
OBJECTS = 20_000


def inventory_args(*extra: str, output: str = f"oss://{INV}/{PREFIX}", checkpoint: str = f"oss://{INV}/{CHECKPOINT}") -> list[str]:
    """Parts of 100 KiB (the smallest OSS takes) in data files of ~250 KiB: each file has
    parts to resume from, and the run has files to complete."""
    return ["ls", "--bucket", SOURCE, "--format", "oss-inventory", "--max-keys", "100", "--part-size", "100K",
            "--file-size", "250K", "--output", output, "--checkpoint", checkpoint, *extra]


def osslist(emu: Emulator, *argv: str) -> Result:
    return CliRunner().invoke(main, list(argv), env=clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint))


def start_pod(emu: Emulator, tmp_path: Path, run: int, argv: list[str]) -> subprocess.Popen[bytes]:
    """The CLI in a process of its own, in a fresh empty cwd and HOME: a new pod."""
    pod = tmp_path / f"pod{run}"
    (pod / "home").mkdir(parents=True)
    env = {k: v for k, v in clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint, HOME=str(pod / "home"),
                                      PYTHONPATH=str(ROOT)).items() if v is not None}
    env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}, **env}
    return subprocess.Popen([sys.executable, "-c", "from osslist.cli import main; main()", *argv], cwd=pod, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_after_requests(emu: Emulator, pod: subprocess.Popen[bytes], count: int) -> None:
    """SIGKILL ``pod`` once it has sent ``count`` more OSS requests: a moment independent of speed."""
    start, deadline = len(emu.requests_for("oss")), time.monotonic() + 60
    while time.monotonic() < deadline and pod.poll() is None and len(emu.requests_for("oss")) < start + count:
        time.sleep(0.001)
    pod.kill()
    pod.wait(timeout=60)


def oss_checkpoint(emu: Emulator) -> Any:  # Any: the parsed checkpoint
    return json.loads(emu.object_data(INV, CHECKPOINT) or b"null")


def manifest_keys(emu: Emulator, prefix: str = PREFIX) -> list[str]:
    return [k for k in emu.buckets.require(INV).keys() if k.startswith(prefix) and k.endswith("/manifest.json")]


def seeded_keys(emu: Emulator) -> list[str]:
    return sorted(emu.buckets.require(SOURCE).keys(), key=lambda k: k.encode())


def assert_one_exact_inventory(emu: Emulator) -> dict[str, Any]:  # Any: the manifest
    (manifest_key,) = manifest_keys(emu)
    manifest, rows, files = documented_inventory(oss_get(emu, INV), manifest_key)
    assert [row["Key"] for row in rows] == seeded_keys(emu)  # each object once, in key order
    assert emu.open_uploads(INV) == []
    assert all(k in files for k in emu.buckets.require(INV).keys() if k.startswith(PREFIX + "data/"))  # no stray data file
    return manifest


@pytest.fixture
def big(make_emulator: Any) -> Emulator:  # Any: the conftest factory
    emu = make_emulator()
    emu.seed(SOURCE, OBJECTS)
    emu.create_bucket(INV)
    return emu


def test_sigkilled_pods_continue_the_same_inventory(big: Emulator, tmp_path: Path) -> None:
    rng = random.Random(12)
    big.faults.oss_latency = 0.005
    continued: set[str] = set()  # data-file uploads a killed pod left with parts saved
    for run in range(4):
        kill_after_requests(big, start_pod(big, tmp_path, run, inventory_args()), rng.randint(40, 70))
        saved = oss_checkpoint(big)
        assert saved is None or not saved["finished_at"], "a pod finished before it was killed"
        current = saved and saved["inventory"]["current"]
        if current and current["saved"]["parts"]:
            continued.add(current["saved"]["upload_id"])
    big.faults.oss_latency = 0.0
    last = start_pod(big, tmp_path, 9, inventory_args())
    _, err = last.communicate(timeout=300)
    assert last.returncode == 0, err.decode()
    manifest = assert_one_exact_inventory(big)
    assert len(manifest["files"]) > 2 and continued  # several files, and some resumed mid-file
    saved = oss_checkpoint(big)
    assert saved["finished_at"] and saved["remaining"] == []


def test_sigkilled_pods_continue_a_local_inventory(big: Emulator, tmp_path: Path) -> None:
    out, checkpoint = tmp_path / "inv", tmp_path / "ck.json"
    argv = inventory_args(output=str(out), checkpoint=str(checkpoint))
    rng = random.Random(13)
    big.faults.oss_latency = 0.005
    for run in range(3):
        kill_after_requests(big, start_pod(big, tmp_path, run, argv), rng.randint(40, 70))
    big.faults.oss_latency = 0.0
    result = osslist(big, *argv)
    assert result.exit_code == 0, result.stderr
    (manifest_path,) = out.glob("*/manifest.json")
    _, rows, _ = documented_inventory(local_get(out), str(manifest_path.relative_to(out)))
    assert [row["Key"] for row in rows] == seeded_keys(big)
    assert list(out.rglob("*.partial")) == []


def test_sigterm_saves_keeps_the_upload_and_a_rerun_finishes(big: Emulator, tmp_path: Path) -> None:
    big.faults.part_latency = 0.05
    pod = start_pod(big, tmp_path, 0, inventory_args())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ((oss_checkpoint(big) or {"inventory": {"files": []}})
                                               ["inventory"]["files"]):
        time.sleep(0.02)
    pod.send_signal(signal.SIGTERM)
    _, err = pod.communicate(timeout=60)
    assert pod.returncode == 143, err.decode()
    saved = oss_checkpoint(big)
    assert saved["remaining"] and saved["inventory"]["files"] and manifest_keys(big) == []
    big.faults.part_latency = 0.0
    assert osslist(big, *inventory_args()).exit_code == 0
    assert_one_exact_inventory(big)


@pytest.fixture
def small(make_emulator: Any) -> Emulator:  # Any: the conftest factory
    emu = make_emulator()
    emu.seed(SOURCE, 6000)
    emu.create_bucket(INV)
    return emu


def test_a_data_file_completed_by_a_killed_run_is_continued_from_its_saved_bytes(
    small: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after CompleteMultipartUpload of a data file and before the save that follows:
    the saved upload is gone; the rerun starts the file again from its saved bytes, read back."""
    finish = inventory._GzipFile.finish

    def finish_then_die(self: inventory._GzipFile, store: inventorystores.Store) -> inventory.DataFile:
        done = finish(self, store)
        raise KeyboardInterrupt("killed")  # not an Exception: nothing may catch it as a failure

    monkeypatch.setattr(inventory._GzipFile, "finish", finish_then_die)
    assert osslist(small, *inventory_args()).exit_code != 0
    current = oss_checkpoint(small)["inventory"]["current"]
    assert current["saved"]["parts"] and small.object_data(INV, PREFIX + current["key"]) is not None
    monkeypatch.setattr(inventory._GzipFile, "finish", finish)
    result = osslist(small, *inventory_args())
    assert result.exit_code == 0, result.stderr
    assert_one_exact_inventory(small)


def test_a_run_killed_before_its_manifest_only_publishes_on_rerun(small: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    publish = inventory.InventoryWriter.publish
    monkeypatch.setattr(inventory.InventoryWriter, "publish", lambda self: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert osslist(small, *inventory_args()).exit_code != 0
    saved = oss_checkpoint(small)
    assert saved["remaining"] == [] and saved["finished_at"] is None and manifest_keys(small) == []
    monkeypatch.setattr(inventory.InventoryWriter, "publish", publish)
    small.clear_requests()
    result = osslist(small, *inventory_args())
    assert result.exit_code == 0, result.stderr
    assert [r for r in small.requests_for("oss") if r.path == f"/{SOURCE}/"] == []  # nothing listed again
    assert_one_exact_inventory(small)
    assert oss_checkpoint(small)["finished_at"]


def test_a_finished_checkpoint_makes_a_rerun_a_no_op(small: Emulator) -> None:
    assert osslist(small, *inventory_args()).exit_code == 0
    small.clear_requests()
    again = osslist(small, *inventory_args())
    assert again.exit_code == 0 and "finished at" in again.stderr, again.stderr
    assert [r for r in small.requests_for("oss") if r.path == f"/{SOURCE}/"] == []
    assert_one_exact_inventory(small)


def test_a_checkpoint_of_another_inventory_is_refused(small: Emulator) -> None:
    assert osslist(small, *inventory_args()).exit_code == 0
    result = osslist(small, *inventory_args(output=f"oss://{INV}/elsewhere/"))
    assert result.exit_code == 2 and "belongs to output" in result.stderr, result.stderr


def test_a_killed_shard_reruns_from_its_checkpoint_and_one_manifest_results(small: Emulator, tmp_path: Path) -> None:
    def shard(index: int) -> list[str]:
        return inventory_args("--shard-index", str(index), "--shard-count", "3",
                              checkpoint=f"oss://{INV}/checkpoints/{index}.json")

    assert osslist(small, *shard(2)).exit_code == 0
    small.faults.oss_latency = 0.005
    kill_after_requests(small, start_pod(small, tmp_path, 0, shard(0)), 30)
    small.faults.oss_latency = 0.0
    assert small.object_data(INV, "checkpoints/0.json") is not None and manifest_keys(small) == []
    assert osslist(small, *shard(0)).exit_code == 0 and manifest_keys(small) == []
    assert osslist(small, *shard(1)).exit_code == 0
    assert_one_exact_inventory(small)


def test_the_checkpoint_holds_no_secret(small: Emulator) -> None:
    assert osslist(small, *inventory_args()).exit_code == 0
    assert_no_credentials_in((small.object_data(INV, CHECKPOINT) or b"").decode(), small, last_four=True)


def test_a_local_data_file_resumes_from_its_partial_or_its_completed_bytes(tmp_path: Path) -> None:
    store = inventorystores.LocalStore(str(tmp_path), part_size=inventorystores.PART_SIZE)
    sink = store.open("data/x.csv.gz")
    sink.write(b"kept")
    sink.mark()
    sink.write(b"dropped")
    assert sink.saved() == (4, {"offset": 4})
    sink.abort(keep_upload=True)
    again = store.resume("data/x.csv.gz", {"offset": 4})
    again.write(b"+more")
    again.close()
    assert (tmp_path / "data/x.csv.gz").read_bytes() == b"kept+more"
    from_complete = store.resume("data/x.csv.gz", {"offset": 4})  # a killed run had completed it
    from_complete.close()
    assert (tmp_path / "data/x.csv.gz").read_bytes() == b"kept"
    with pytest.raises(Exception, match="shorter than the checkpoint"):
        store.resume("data/x.csv.gz", {"offset": 99})


def test_every_part_of_a_data_file_is_a_whole_gzip_member(tmp_path: Path) -> None:
    """What makes a resumed file valid gzip: a part never ends inside a member."""
    store = inventorystores.LocalStore(str(tmp_path), part_size=1024)
    writer = inventory.InventoryWriter(store, source_bucket="b", started=__import__("datetime").datetime.now())
    ends = []
    for page in range(40):
        writer.write_rendered((f"k{page:03d}", os.urandom(300).hex().encode() + b"\n"))
        ends.append(writer.durable()[0])
    cuts = sorted(set(ends) - {0})
    data = (tmp_path / f"data/{writer.durable()[1]['current']['key'].split('/')[-1]}.partial").read_bytes()
    assert len(cuts) > 3
    for cut in cuts:
        assert gzip.decompress(data[:cut])  # raises on a member cut short


# --- what a fresh review found ------------------------------------------------------------------


def test_a_data_file_whose_completion_failed_is_continued_by_the_rerun(
    small: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed CompleteMultipartUpload keeps the upload the checkpoint names (it used to be
    aborted, and every rerun then failed with NoSuchUpload)."""
    from osslist.errors import OssUnavailable
    from osslist.ossobjects import ObjectClient

    complete, calls = ObjectClient.complete, []

    def fail_the_first(self: ObjectClient, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        calls.append(key)
        if len(calls) == 1:
            raise OssUnavailable("CompleteMultipartUpload: still failing after the retries")
        complete(self, key, upload_id, parts)

    monkeypatch.setattr(ObjectClient, "complete", fail_the_first)
    assert osslist(small, *inventory_args()).exit_code == 1
    current = oss_checkpoint(small)["inventory"]["current"]
    assert (PREFIX + current["key"], current["saved"]["upload_id"]) in small.open_uploads(INV)
    monkeypatch.setattr(ObjectClient, "complete", complete)
    result = osslist(small, *inventory_args())
    assert result.exit_code == 0, result.stderr
    assert_one_exact_inventory(small)


def test_a_new_data_files_upload_is_saved_before_its_first_part(big: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed right after a data file's upload started: the checkpoint names it, so the rerun
    aborts it even when the role may not list uploads (oss:ListMultipartUploads)."""
    from osslist.checkpointstore import DurableSaver

    big.faults.deny(INV, "", {"oss:ListMultipartUploads"})
    save = DurableSaver._save

    def die_after_naming_a_new_upload(self: DurableSaver, *args: Any, **kwargs: Any) -> None:  # Any: _save's own
        save(self, *args, **kwargs)
        current = oss_checkpoint(big)["inventory"]["current"]
        if oss_checkpoint(big)["inventory"]["files"] and current and not current["saved"]["parts"]:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(DurableSaver, "_save", die_after_naming_a_new_upload)
    assert osslist(big, *inventory_args()).exit_code != 0
    named = oss_checkpoint(big)["inventory"]["current"]["saved"]["upload_id"]
    assert named and named in {upload_id for _, upload_id in big.open_uploads(INV)}
    monkeypatch.setattr(DurableSaver, "_save", save)
    assert osslist(big, *inventory_args()).exit_code == 0
    assert_one_exact_inventory(big)  # no upload left


def test_a_local_data_file_is_fsynced_before_it_is_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), fsync(fd))[1])
    sink = inventorystores.LocalStore(str(tmp_path)).open("data/x.csv.gz")
    sink.write(b"rows")
    assert synced == []
    sink.close()
    assert synced and (tmp_path / "data/x.csv.gz").read_bytes() == b"rows"


def test_a_copy_back_killed_half_way_strands_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    store = inventorystores.LocalStore(str(tmp_path))
    sink = store.open("data/x.csv.gz")
    sink.write(b"0123456789")
    sink.close()

    def half_then_die(source: str, target: str) -> None:
        Path(target).write_bytes(Path(source).read_bytes()[:3])
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(shutil, "copyfile", half_then_die)
    with pytest.raises(KeyboardInterrupt):
        store.resume("data/x.csv.gz", {"offset": 8})
    monkeypatch.undo()
    again = store.resume("data/x.csv.gz", {"offset": 8})
    again.close()
    assert (tmp_path / "data/x.csv.gz").read_bytes() == b"01234567"


def test_dry_run_refuses_a_bad_part_size_for_a_local_inventory(small: Emulator, tmp_path: Path) -> None:
    result = osslist(small, "ls", "--bucket", SOURCE, "--format", "oss-inventory", "--output", str(tmp_path / "inv"),
                     "--part-size", "50K", "--dry-run")
    assert result.exit_code == 2 and "--part-size" in result.stderr
