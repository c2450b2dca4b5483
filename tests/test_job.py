"""The job (osslist.job): options -> a validated PreparedRun before any network call."""

from __future__ import annotations

import os

import pytest

from osslist import job as jobs
from osslist.errors import UsageError
from osslist.filters import keep_all

ENDPOINT = "http://127.0.0.1:9"


def _job(*, env_region: bool = True, **parts) -> jobs.ListJob:
    conn = parts.pop("connection", None) or jobs.Connection(bucket="job-bucket", endpoint=ENDPOINT, region="cn-hangzhou")
    return jobs.ListJob(connection=conn, **parts)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        ({"connection": jobs.Connection(bucket="Bad_Bucket", endpoint=ENDPOINT, region="cn-hangzhou")}, "bucket"),
        ({"connection": jobs.Connection(bucket="ok-bucket", endpoint="ftp://x", region="cn-hangzhou")}, "endpoint"),
        ({"connection": jobs.Connection(bucket="ok-bucket", endpoint=ENDPOINT)}, "region"),
        ({"selection": jobs.Selection(max_keys=0)}, "max-keys"),
        ({"selection": jobs.Selection(list_api="v3")}, "v1"),
        ({"selection": jobs.Selection(limit=0)}, "--limit"),
        ({"selection": jobs.Selection(start_after="b", end_before="a")}, "--end-before"),
        ({"selection": jobs.Selection(start_after="a", end_before="a")}, "--end-before"),
        ({"selection": jobs.Selection(min_size="2K", max_size="1K")}, "--min-size"),
        ({"output": jobs.OutputOptions(format="jsonl", null=True)}, "--null"),
        ({"output": jobs.OutputOptions(format="yaml")}, "--format"),
        ({"scale": jobs.Scale(shard_index=0)}, "--shard-count"),
        ({"scale": jobs.Scale(shard_index=4, shard_count=4)}, "--shard-index"),
        ({"scale": jobs.Scale(parallel=0)}, "--parallel"),
        ({"scale": jobs.Scale(parallel=jobs.MAX_PARALLEL + 1)}, f"--parallel {jobs.MAX_PARALLEL + 1}: must be 1..64"),
        ({"selection": jobs.Selection(modified_after="2024-01-02", modified_before="2024-01-01")}, "--modified-after"),
        ({"selection": jobs.Selection(end_before="\udcff")}, "--end-before"),
        ({"selection": jobs.Selection(delimiter="\udcff")}, "--delimiter"),
        ({"selection": jobs.Selection(prefix="p" * 1024)}, "--prefix: 1,024 bytes, over the 1,023"),
        ({"output": jobs.OutputOptions(format="csv", human=True)}, "--human-readable"),
    ],
)
def test_prepare_rejects_bad_input_with_usage_error(parts, fragment):
    with pytest.raises(UsageError, match=fragment.replace("-", r"\-")) as info:
        jobs.prepare(_job(**parts))
    assert info.value.exit_code == 2


def test_start_after_and_end_before_compare_as_utf8_bytes():
    # In UTF-8 byte order "\uffff" sorts before "😀" (U+1F600), the same as code points here,
    # but "é" (0xC3 0xA9) sorts after "z": the range ("z", "é") is not empty.
    jobs.prepare(_job(selection=jobs.Selection(start_after="z", end_before="é")))


def test_plan_resolves_sizes_times_endpoint_and_region():
    conn = jobs.Connection(bucket="job-bucket", endpoint="oss-cn-shanghai-internal.aliyuncs.com")
    plan = jobs.prepare(
        jobs.ListJob(connection=conn, selection=jobs.Selection(min_size="1K", modified_after="1d")),
        now=1_000_000.0,
    )
    view = plan.to_dict()
    assert view["connection"]["endpoint"] == "https://oss-cn-shanghai-internal.aliyuncs.com"
    assert view["connection"]["region"] == "cn-shanghai"
    assert view["filters"]["min_size"] == 1024
    assert view["filters"]["modified_after"] == "1970-01-11T13:46:40Z"  # 1,000,000 s - 1 day, as ISO 8601 UTC
    assert view["listing"]["max_keys"] == 1000 and view["listing"]["list_api"] == "v1"


# --- a run against the emulator ------------------------------------------------------------------


def _emulator_job(emulator, **selection) -> jobs.PreparedRun:
    conn = jobs.Connection(bucket="job-bucket", endpoint=emulator.oss_endpoint, region="cn-hangzhou",
                           credentials="metadata", metadata_endpoint=emulator.metadata_url)
    return jobs.prepare(jobs.ListJob(connection=conn, selection=jobs.Selection(**selection)), environ={})


def test_prepare_makes_no_request(emulator):
    _emulator_job(emulator, max_keys=10)
    assert emulator.requests == []


def test_no_filter_means_the_keep_all_predicate(emulator):
    assert _emulator_job(emulator).predicate is keep_all
    assert _emulator_job(emulator, min_size="0").predicate is not keep_all


# --- one file, one role (through the real command line) ------------------------------------------


def _same_file_argv(tmp_path, case: str) -> list[str]:
    """The command line of one case; X is a file that exists before the run."""
    x, ck = str(tmp_path / "X"), str(tmp_path / "ck.json")
    (tmp_path / "link").symlink_to(tmp_path / "X")
    os.link(tmp_path / "X", tmp_path / "hard")
    return {
        "output-is-checkpoint": ["--output", x, "--checkpoint", x],
        "output-is-summary": ["--output", x, "--summary-json", x],
        "summary-through-symlink": ["--output", x, "--summary-json", str(tmp_path / "link")],
        "checkpoint-through-hard-link": ["--output", x, "--checkpoint", str(tmp_path / "hard")],
        "summary-on-stdout-with-the-records": ["--summary-json", "/dev/stdout"],
        "stdout-aliases": ["--output", "/dev/stdout", "--summary-json", "/proc/self/fd/1"],
        "output-is-the-checkpoint-lock": ["--output", ck + ".lock", "--checkpoint", ck],
        "output-overwrites-the-shard-plan": ["--shard-plan", x, "--shard-index", "0", "--output", x],
        "du-output-is-summary": ["du", "--output", x, "--summary-json", str(tmp_path / "link")],
    }[case]


@pytest.mark.parametrize("case", [
    "output-is-checkpoint", "output-is-summary", "summary-through-symlink", "checkpoint-through-hard-link",
    "summary-on-stdout-with-the-records", "stdout-aliases", "output-is-the-checkpoint-lock",
    "output-overwrites-the-shard-plan", "du-output-is-summary",
])
def test_one_file_in_two_roles_is_refused_before_any_request(emulator, tmp_path, case):
    """Issue 10 item 2: --output X --checkpoint X left only the checkpoint in X, exit 0."""
    from click.testing import CliRunner

    from osslist.cli import main
    from tests.test_cli import BUCKET, clean_env

    emulator.create_bucket(BUCKET)
    emulator.put_object(BUCKET, "k", size=1)
    (tmp_path / "X").write_bytes(b"keep me\n")
    argv = _same_file_argv(tmp_path, case)
    command = [argv.pop(0)] if argv[0] == "du" else []
    result = CliRunner().invoke(main, [*command, "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, *argv],
                                env=clean_env(emulator))
    assert result.exit_code == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "is the same file as" in result.stderr, result.stderr
    assert emulator.requests == []
    assert (tmp_path / "X").read_bytes() == b"keep me\n"
    assert not (tmp_path / "ck.json").exists()


def test_both_ends_on_dev_null_are_not_one_file_in_two_roles(tmp_path):
    """Discarding records and summary alike is harmless, so /dev/null may serve twice."""
    jobs.prepare(_job(output=jobs.OutputOptions(path="/dev/null", summary_json="/dev/null")))
