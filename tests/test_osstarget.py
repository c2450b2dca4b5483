"""Reports into OSS through the CLI: --output / --summary-json oss://... for ls, du and plan,
read back with cat (issue 11 points 1 and 5): byte-for-byte equal to a local listing, refused
before any listing request when the destination is denied, and no upload left by a failed run."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result

from osslist.cli import main
from osslist.emulator import Emulator
from tests.helpers import CLI_ARGV, child_env, clean_env

SOURCE, REPORTS = "src", "reports"


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.seed(SOURCE, 3000)
    emulator.create_bucket(REPORTS)
    return emulator


def osslist(emu: Emulator, *argv: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(argv), env=clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint, **env))


def listing_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests_for("oss") if r.path == f"/{SOURCE}/"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "text"])
@pytest.mark.parametrize("key", ["run/objects.out", "run/objects.out.gz"])
def test_the_report_equals_a_local_listing_byte_for_byte(emu: Emulator, key: str, fmt: str) -> None:
    common = ["ls", "--bucket", SOURCE, "--format", fmt, "--max-keys", "500"]
    result = osslist(emu, *common, "--output", f"oss://{REPORTS}/{key}", "--part-size", "100K")
    assert result.exit_code == 0, result.stderr
    plain = osslist(emu, *common).stdout_bytes
    stored = emu.object_data(REPORTS, key) or b""
    assert (gzip.decompress(stored) if key.endswith(".gz") else stored) == plain
    assert osslist(emu, "cat", f"oss://{REPORTS}/{key}").stdout_bytes == plain
    assert emu.open_uploads(REPORTS) == []


def test_parallel_listing_into_oss(emu: Emulator) -> None:
    result = osslist(emu, "ls", "--bucket", SOURCE, "--parallel", "4", "--output", f"oss://{REPORTS}/p.txt",
                     "--part-size", "100K")
    assert result.exit_code == 0, result.stderr
    assert emu.object_data(REPORTS, "p.txt") == osslist(emu, "ls", "--bucket", SOURCE).stdout_bytes


def test_placeholders_name_the_run(emu: Emulator) -> None:
    result = osslist(emu, "ls", "--bucket", SOURCE, "--shard-index", "1", "--shard-count", "2",
                     "--output", f"oss://{REPORTS}/osslist/{{env:JOB_NAME}}/{{bucket}}-{{shard}}.txt",
                     "--summary-json", f"oss://{REPORTS}/osslist/{{env:JOB_NAME}}/summary-{{shard}}.json",
                     JOB_NAME="audit-28")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(emu.object_data(REPORTS, "osslist/audit-28/summary-1.json") or b"")
    lines = (emu.object_data(REPORTS, "osslist/audit-28/src-1.txt") or b"").splitlines()
    assert summary["objects"] == len(lines) > 0


def test_dry_run_shows_the_destination_and_sends_nothing(emu: Emulator) -> None:
    emu.clear_requests()
    result = osslist(emu, "ls", "--bucket", SOURCE, "--output", f"oss://{REPORTS}/{{date}}/x.gz", "--dry-run",
                     "--output-region", "ap-southeast-1")
    assert result.exit_code == 0, result.stderr
    view = json.loads(result.stdout)["output"]["oss"]
    assert view["url"] == f"oss://{REPORTS}/{time.strftime('%Y-%m-%d', time.gmtime())}/x.gz"
    assert (view["gzip"], view["part_size"], view["region"]) == (True, 8 * 1024 * 1024, "ap-southeast-1")
    assert emu.requests_for("oss") == []


def test_another_endpoint_for_the_report(emu: Emulator) -> None:
    other = emu.oss_endpoint.replace("127.0.0.1", "localhost")
    result = osslist(emu, "ls", "--bucket", SOURCE, "--output", f"oss://{REPORTS}/e.txt", "--output-endpoint", other)
    assert result.exit_code == 0, result.stderr
    hosts = {r.headers["host"].split(":")[0] for r in emu.requests_for("oss") if r.path.startswith(f"/{REPORTS}/")}
    assert hosts == {"localhost"}


def test_a_denied_destination_is_exit_4_before_any_listing_request(emu: Emulator) -> None:
    emu.faults.deny(REPORTS, "locked/")
    for option in ("--output", "--summary-json"):
        emu.clear_requests()
        result = osslist(emu, "ls", "--bucket", SOURCE, option, f"oss://{REPORTS}/locked/r.txt")
        assert result.exit_code == 4 and result.stdout == ""
        assert f"oss://{REPORTS}/locked/r.txt" in result.stderr and "AccessDenied" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert listing_requests(emu) == [] and emu.open_uploads(REPORTS) == []


def test_a_run_failing_midway_leaves_no_upload_behind(emu: Emulator) -> None:
    emu.faults.short_pages = 10  # many pages, so parts go up while the listing goes on

    def break_the_source() -> None:
        while not any("partNumber" in r.query for r in emu.requests_for("oss")):
            time.sleep(0.005)
        emu.delete_bucket(SOURCE)

    breaker = threading.Thread(target=break_the_source, daemon=True)
    breaker.start()
    result = osslist(emu, "ls", "--bucket", SOURCE, "--format", "jsonl", "--output", f"oss://{REPORTS}/f.jsonl",
                     "--part-size", "100K")
    breaker.join(timeout=10)
    assert result.exit_code == 4 and "NoSuchBucket" in result.stderr
    assert any("partNumber" in r.query for r in emu.requests_for("oss"))
    assert emu.open_uploads(REPORTS) == [] and emu.object_data(REPORTS, "f.jsonl") is None


def test_du_and_plan_write_into_oss(emu: Emulator) -> None:
    du = osslist(emu, "du", "--bucket", SOURCE, "--format", "csv", "--output", f"oss://{REPORTS}/du.csv",
                 "--summary-json", f"oss://{REPORTS}/du-summary.json")
    assert du.exit_code == 0, du.stderr
    assert emu.object_data(REPORTS, "du.csv") == osslist(emu, "du", "--bucket", SOURCE, "--format", "csv").stdout_bytes
    assert json.loads(emu.object_data(REPORTS, "du-summary.json") or b"")["objects"] == 3000
    plan = osslist(emu, "plan", "--bucket", SOURCE, "--shard-count", "2", "--output", f"oss://{REPORTS}/plan.json")
    assert plan.exit_code == 0, plan.stderr
    assert json.loads(emu.object_data(REPORTS, "plan.json") or b"")["shard_count"] == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output", "x.jsonl", "--checkpoint", "oss://reports/ck.json"], "needs --output oss://"),
        (["--output", "oss://reports/{nope}"], "--output: unknown placeholder"),
        (["--output", "oss://reports/x", "--part-size", "99K"], "--part-size"),
        (["--output", "oss://Bad_Bucket/x"], "invalid bucket name"),
        (["--summary-json", "oss://reports/{env:UNSET_VAR}"], "--summary-json"),
    ],
)
def test_bad_destinations_are_exit_2_before_any_request(emu: Emulator, argv: list[str], message: str) -> None:
    emu.clear_requests()
    result = osslist(emu, "ls", "--bucket", SOURCE, *argv)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert emu.requests_for("oss") == []


def test_no_secret_in_errors_summary_or_report(emu: Emulator) -> None:
    emu.faults.deny(REPORTS, "locked/")
    denied = osslist(emu, "ls", "--bucket", SOURCE, "--output", f"oss://{REPORTS}/locked/x", "-v")
    written = osslist(emu, "ls", "--bucket", SOURCE, "--format", "jsonl", "--output", f"oss://{REPORTS}/ok.jsonl",
                      "--summary-json", f"oss://{REPORTS}/ok.json", "-v")
    assert denied.exit_code == 4 and written.exit_code == 0
    texts = [denied.stderr, written.stderr, (emu.object_data(REPORTS, "ok.json") or b"").decode()]
    for creds in emu.issued_credentials:
        for text in texts:
            assert creds.access_key_secret not in text and (creds.security_token or "\0") not in text
            assert creds.access_key_id not in text  # at most its last 4 characters


def test_sigterm_mid_upload_exits_143_and_leaves_no_upload(emu: Emulator) -> None:
    """The CLI in its own process, as Kubernetes stops it: SIGTERM once parts are up."""
    emu.faults.oss_latency = 0.002  # long enough a listing to be caught in the middle
    env = child_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint)
    argv = [*CLI_ARGV, "ls", "--bucket", SOURCE,
            "--max-keys", "10", "--format", "jsonl", "--output", f"oss://{REPORTS}/t.jsonl", "--part-size", "100K"]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any("partNumber" in r.query for r in emu.requests_for("oss")):
        assert child.poll() is None and time.monotonic() < deadline, "no part went up before the run ended"
        time.sleep(0.005)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 143, stderr
    assert emu.open_uploads(REPORTS) == [] and emu.object_data(REPORTS, "t.jsonl") is None
