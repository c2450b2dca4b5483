"""The job (osslist.job): options -> a validated PreparedRun before any network call."""

from __future__ import annotations

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
