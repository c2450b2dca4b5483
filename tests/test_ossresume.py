"""--checkpoint with --output oss://... (issue 11 point 2): a report upload that survives its
pod. Runs killed with SIGKILL at random moments, each rerun from a fresh empty working
directory and HOME (nothing local survives), end with an object whose gunzipped content is a
plain local listing byte for byte, and no multipart upload left; SIGTERM saves and exits 143;
a finished checkpoint makes a rerun a no-op; the checkpoint object holds no secret."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from osslist.cli import main
from osslist.emulator import Emulator
from tests.helpers import CLI_ARGV, assert_no_credentials_in, clean_env

SOURCE, REPORTS = "src", "reports"
REPORT, CHECKPOINT = "run/objects.jsonl.gz", "run/checkpoint.json"
PLAIN_REPORT = "run/objects.jsonl"  # parts of ~500 records (gzip: ~5000), so short-lived pods save some
ROOT = Path(__file__).resolve().parents[1]


def report_args(*extra: str, key: str = REPORT) -> list[str]:
    return ["ls", "--bucket", SOURCE, "--format", "jsonl", "--max-keys", "100", "--part-size", "100K",
            "--output", f"oss://{REPORTS}/{key}", "--checkpoint", f"oss://{REPORTS}/{CHECKPOINT}", *extra]


def report_text(emu: Emulator, key: str = REPORT) -> bytes:
    data = emu.object_data(REPORTS, key) or b""
    return gzip.decompress(data) if key.endswith(".gz") else data


def osslist(emu: Emulator, *argv: str) -> Result:
    return CliRunner().invoke(main, list(argv), env=clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint))


def plain_listing(emu: Emulator, *extra: str) -> bytes:
    result = osslist(emu, "ls", "--bucket", SOURCE, "--format", "jsonl", *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def start_pod(emu: Emulator, tmp_path: Path, run: int, *extra: str, key: str = REPORT) -> subprocess.Popen[bytes]:
    """The CLI in a process of its own, in a fresh empty cwd and HOME: a new pod."""
    pod = tmp_path / f"pod{run}"
    (pod / "home").mkdir(parents=True)
    env = {k: v for k, v in clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint, HOME=str(pod / "home"),
                                      PYTHONPATH=str(ROOT)).items() if v is not None}
    env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}, **env}
    argv = [*CLI_ARGV, *report_args(*extra, key=key)]
    return subprocess.Popen(argv, cwd=pod, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_after_requests(emu: Emulator, pod: subprocess.Popen[bytes], count: int) -> None:
    """SIGKILL ``pod`` once it has sent ``count`` more OSS requests (list, upload, checkpoint,
    wherever it stands then): a random moment that does not depend on the machine's speed."""
    start, deadline = len(emu.requests_for("oss")), time.monotonic() + 60
    while time.monotonic() < deadline and pod.poll() is None and len(emu.requests_for("oss")) < start + count:
        time.sleep(0.001)
    pod.kill()
    pod.wait(timeout=60)


def kill_and_resume(emu: Emulator, tmp_path: Path, kills: int, *extra: str, shard: tuple[str, ...] = (),
                    key: str = PLAIN_REPORT, requests: tuple[int, int] = (10, 40)) -> None:
    """SIGKILL ``kills`` pods at random moments, then let one finish; the report must equal a
    plain listing (of the same ``shard`` options)."""
    extra = (*extra, *shard)
    rng = random.Random(11)
    emu.faults.oss_latency = 0.005
    resumed: set[str] = set()  # uploads a killed pod left with parts saved
    for run in range(kills):
        pod = start_pod(emu, tmp_path, run, *extra, key=key)
        kill_after_requests(emu, pod, rng.randint(*requests))
        saved = json.loads(emu.object_data(REPORTS, CHECKPOINT) or b"null")
        assert saved is None or not saved["finished_at"], "a pod finished before it was killed"
        if saved is not None and saved["upload"]["parts"]:
            resumed.add(saved["upload"]["upload_id"])
    emu.faults.oss_latency = 0.0
    last = start_pod(emu, tmp_path, kills, *extra, key=key)
    _, err = last.communicate(timeout=300)
    assert last.returncode == 0, err.decode()
    assert report_text(emu, key) == plain_listing(emu, *shard)
    assert emu.open_uploads(REPORTS) == []
    assert json.loads(emu.object_data(REPORTS, CHECKPOINT) or b"")["upload"]["upload_id"] in resumed


@pytest.fixture
def big(make_emulator: object) -> Emulator:
    emu = make_emulator()  # type: ignore[operator]
    emu.seed(SOURCE, 20_000)
    emu.create_bucket(REPORTS)
    return emu


def test_sigkilled_pods_resume_the_same_upload_exactly_once_in_order(big: Emulator, tmp_path: Path) -> None:
    kill_and_resume(big, tmp_path, 4)


def test_sigkilled_pods_resume_a_gzip_report(big: Emulator, tmp_path: Path) -> None:
    kill_and_resume(big, tmp_path, 2, key=REPORT, requests=(60, 90))
    saved = json.loads(big.object_data(REPORTS, CHECKPOINT) or b"")
    assert saved["finished_at"] and saved["remaining"] == [] and len(saved["upload"]["parts"]) > 3


def test_sigkilled_parallel_pods_resume(big: Emulator, tmp_path: Path) -> None:
    kill_and_resume(big, tmp_path, 2, "--parallel", "8", requests=(160, 190))


def test_sigkilled_shard_pods_resume(big: Emulator, tmp_path: Path) -> None:
    kill_and_resume(big, tmp_path, 2, shard=("--shard-index", "1", "--shard-count", "3"), requests=(15, 35))


def test_sigterm_saves_after_the_page_and_exits_143_then_a_rerun_finishes(big: Emulator, tmp_path: Path) -> None:
    big.faults.part_latency = 0.05
    pod = start_pod(big, tmp_path, 0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (json.loads(big.object_data(REPORTS, CHECKPOINT) or b"null") or
                                               {"upload": {"parts": []}})["upload"]["parts"]:
        time.sleep(0.02)
    pod.send_signal(signal.SIGTERM)
    _, err = pod.communicate(timeout=60)
    assert pod.returncode == 143, err.decode()
    saved = json.loads(big.object_data(REPORTS, CHECKPOINT) or b"")
    assert saved["remaining"] and saved["upload"]["parts"] and big.object_data(REPORTS, REPORT) is None
    assert big.open_uploads(REPORTS) == [(REPORT, saved["upload"]["upload_id"])]  # kept for the resume
    big.faults.part_latency = 0.0
    assert osslist(big, *report_args()).exit_code == 0
    assert gzip.decompress(big.object_data(REPORTS, REPORT) or b"") == plain_listing(big)
    assert big.open_uploads(REPORTS) == []


@pytest.fixture
def small(emulator: Emulator) -> Emulator:
    emulator.seed(SOURCE, 3000)
    emulator.create_bucket(REPORTS)
    return emulator


def test_a_finished_checkpoint_makes_a_rerun_a_no_op(small: Emulator) -> None:
    assert osslist(small, *report_args()).exit_code == 0
    report = small.object_data(REPORTS, REPORT)
    small.clear_requests()
    again = osslist(small, *report_args())
    assert again.exit_code == 0 and "finished at" in again.stderr, again.stderr
    assert [r for r in small.requests_for("oss") if r.path == f"/{SOURCE}/"] == []  # nothing listed
    assert small.object_data(REPORTS, REPORT) == report


def test_a_local_checkpoint_file_works_with_an_oss_output(small: Emulator, tmp_path: Path) -> None:
    args = report_args()[:-1] + [str(tmp_path / "ck.json")]
    assert osslist(small, *args).exit_code == 0
    assert gzip.decompress(small.object_data(REPORTS, REPORT) or b"") == plain_listing(small)
    assert json.loads((tmp_path / "ck.json").read_text())["output"]["path"] == f"oss://{REPORTS}/{REPORT}"


def test_a_checkpoint_of_another_output_is_refused(small: Emulator) -> None:
    assert osslist(small, *report_args()).exit_code == 0
    other = report_args()
    other[other.index("--output") + 1] = f"oss://{REPORTS}/other.jsonl.gz"
    result = osslist(small, *other)
    assert result.exit_code == 2 and "belongs to output" in result.stderr, result.stderr


def test_no_secret_in_the_checkpoint_object(small: Emulator) -> None:
    assert osslist(small, *report_args()).exit_code == 0
    assert_no_credentials_in((small.object_data(REPORTS, CHECKPOINT) or b"").decode(), small, last_four=True)
