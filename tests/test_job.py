"""The job and its runner (osslist.job, osslist.runner): validation before any network call,
the Sink's filter/limit/commit, and a prepared job run against the emulator."""

from __future__ import annotations

import io
import os

import pytest

from osslist import job as jobs
from osslist import runner
from osslist.errors import UsageError

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


# --- the sink ------------------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write_many(self, records) -> None:
        self.written.extend(records)


class _Summary:
    def __init__(self) -> None:
        self.added: list[str] = []

    def add_many(self, records) -> None:
        self.added.extend(records)


def _sink(limit=None, predicate=lambda r: True):
    writer, summary, pages = _Writer(), _Summary(), []
    sink = runner.Sink(writer=writer, summary=summary, predicate=predicate, limit=limit, on_page=pages.append)
    return sink, writer, summary, pages


def test_sink_writes_and_counts_only_what_the_filter_keeps():
    sink, writer, summary, pages = _sink(predicate=lambda r: r.endswith("x"))
    sink.feed(["ax", "b", "cx"])
    sink.commit(None)
    assert writer.written == summary.added == ["ax", "cx"]
    assert pages == [2]


def test_sink_stops_at_the_limit_mid_page_and_reports_per_page():
    sink, writer, _summary, pages = _sink(limit=3)
    sink.feed(["a", "b"])
    sink.commit(None)
    assert not sink.full
    sink.feed(["c", "d", "e"])
    sink.commit(None)
    assert sink.full
    assert writer.written == ["a", "b", "c"]
    assert pages == [2, 1]


class _Page:
    def __init__(self, records) -> None:
        self.records = records


def test_packed_pages_write_and_count_what_feed_would():
    """Parallel workers pack pages (filter, render, totals); the consumer's bytes and totals
    must equal the records path's."""
    from osslist.output import make_writer
    from osslist.pages import ObjectRecord, PrefixRecord
    from osslist.summary import Summary

    page = [ObjectRecord(f"k{i}", i, "2024-06-22T13:13:58.000Z", "e", "IA" if i % 2 else "Standard", "Normal")
            for i in range(10)] + [PrefixRecord("d/")]
    runs = []
    for packed in (False, True):
        stream, summary, pages = io.BytesIO(), Summary(), []
        sink = runner.Sink(writer=make_writer("jsonl", stream), summary=summary,
                           predicate=lambda r: not r.key.endswith("3") if hasattr(r, "key") else True,
                           on_page=pages.append)
        pack = sink.packer()
        assert pack is not None
        sink.feed_page(pack(page) if packed else _Page(page))
        sink.commit(None)
        runs.append((stream.getvalue(), summary.to_dict(), pages))
    assert runs[0] == runs[1]
    assert runs[0][2] == [10] and runs[0][1]["prefixes"] == 1


def test_pages_stay_records_when_a_page_may_be_cut_or_the_writer_cannot_render():
    assert _sink(limit=3)[0].packer() is None  # --limit: cutting records is simply correct
    assert _sink()[0].packer() is None  # _Writer has no render (like du's totals)


def test_no_filter_means_no_call_per_record(emulator):
    plan = _emulator_job(emulator)
    assert plan.predicate is jobs.keep_all
    assert runner.select(iter(["a", "b"]), jobs.keep_all) == ["a", "b"]
    assert _emulator_job(emulator, min_size="0").predicate is not jobs.keep_all


# --- a run against the emulator ------------------------------------------------------------------


def _emulator_job(emulator, **selection) -> jobs.PreparedRun:
    conn = jobs.Connection(bucket="job-bucket", endpoint=emulator.oss_endpoint, region="cn-hangzhou",
                           credentials="metadata", metadata_endpoint=emulator.metadata_url)
    return jobs.prepare(jobs.ListJob(connection=conn, selection=jobs.Selection(**selection)), environ={})


def test_limit_stops_requesting_pages(emulator):
    emulator.create_bucket("job-bucket")
    for i in range(100):
        emulator.put_object("job-bucket", f"k{i:03d}")
    stream = io.StringIO()
    pages: list[int] = []
    summary = runner.run(_emulator_job(emulator, max_keys=10, limit=15), stream=stream, on_page=pages.append)
    assert stream.getvalue().split() == [f"k{i:03d}" for i in range(15)]
    assert pages == [10, 5]
    assert summary.objects == 15
    assert len(emulator.requests_for("oss")) == 2


def test_run_counts_requests_and_bytes(emulator):
    emulator.create_bucket("job-bucket")
    for i in range(25):
        emulator.put_object("job-bucket", f"k{i:03d}", size=i)
    summary = runner.run(_emulator_job(emulator, max_keys=10), stream=io.StringIO())
    assert summary.objects == 25 and summary.bytes == sum(range(25))
    assert summary.requests == len(emulator.requests_for("oss")) == 3


def test_prepare_makes_no_request(emulator):
    _emulator_job(emulator, max_keys=10)
    assert emulator.requests == []


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
