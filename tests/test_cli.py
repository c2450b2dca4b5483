"""The real command line against the emulator: the listing issue's acceptance, end to end.

Every test runs ``osslist`` through click's CliRunner with the metadata endpoint pointed at an
in-process emulator (loopback only), so the whole path runs: metadata discovery -> STS
credentials -> oss2 -> pages -> filters -> writer -> summary. Expected listings are computed
from what the test seeded, sorted in UTF-8 byte order as OSS defines it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import time

import pytest
from click.testing import CliRunner, Result

from osslist.cli import main
from tests.helpers import BUCKET, byte_order, child_env, clean_env, ok, out, put, run_cli


TRICKY_KEYS = [
    "with space",
    "plus+sign",
    "literal%20percent",
    "中文/文件.txt",
    "emoji-😀",
    "ctrl-\x01-char",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    'double"quote',
    "comma,key",
    "tab\tkey",
    "double//slash",
    "a",
    "a/",
    "a/b",
    "k" * 1023,
]


def osslist(emulator, *args: str, bucket: str = BUCKET, env: dict | None = None) -> Result:
    """Run the seed's invocation (no command name: ls is the default) plus ``args``."""
    argv = ["--bucket", bucket, "--endpoint", emulator.oss_endpoint, *args]
    return CliRunner().invoke(main, argv, env=clean_env(emulator, **(env or {})))


# --- the seed's job -----------------------------------------------------------------------------


def test_seed_invocation_lists_2503_objects_exactly_in_order(emulator):
    keys = [f"data/{i % 7}/object-{i:05d}.bin" for i in range(2503)]
    put(emulator, keys, size=3)
    result = ok(osslist(emulator))
    assert out(result) == "".join(k + "\n" for k in byte_order(keys))
    list_requests = [r for r in emulator.requests if r.service == "oss"]
    assert len(list_requests) == 3  # 1000 + 1000 + 503: max-keys 1000 is sent, not OSS's default 100


def test_ls_is_the_default_command(emulator):
    put(emulator, ["x", "y"])
    assert out(ok(osslist(emulator))) == out(ok(CliRunner().invoke(
        main, ["ls", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint], env=clean_env(emulator)
    ))) == "x\ny\n"


def test_options_come_from_osslist_env_vars(emulator):
    put(emulator, ["p/1", "p/2", "q/1"])
    env = {"OSSLIST_BUCKET": BUCKET, "OSSLIST_ENDPOINT": emulator.oss_endpoint, "OSSLIST_PREFIX": "p/"}
    result = CliRunner().invoke(main, [], env=clean_env(emulator, **env))
    assert out(ok(result)) == "p/1\np/2\n"


# --- exact keys in every machine format ----------------------------------------------------------


def test_tricky_keys_exact_in_jsonl(emulator):
    put(emulator, TRICKY_KEYS, size=5)
    lines = out(ok(osslist(emulator, "--format", "jsonl"))).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["key"] for r in records] == byte_order(TRICKY_KEYS)
    assert all(r["size"] == 5 and r["type"] == "Normal" for r in records)


def test_tricky_keys_exact_in_csv(emulator):
    put(emulator, TRICKY_KEYS, size=5)
    rows = list(csv.reader(io.StringIO(out(ok(osslist(emulator, "--format", "csv"))), newline="")))
    header, body = rows[0], rows[1:]
    assert {"Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "ObjectType"} <= set(header)
    key_col = header.index("Key")
    assert [row[key_col] for row in body] == byte_order(TRICKY_KEYS)
    assert {row[header.index("Bucket")] for row in body} == {BUCKET}


def test_tricky_keys_exact_with_null(emulator):
    put(emulator, TRICKY_KEYS)
    text = out(ok(osslist(emulator, "-0")))
    assert text.endswith("\0")
    assert text[:-1].split("\0") == byte_order(TRICKY_KEYS)


# --- pagination ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("max_keys", [7, 1000])
@pytest.mark.parametrize("short", [False, True], ids=["full-pages", "short-pages"])
def test_pagination_is_exact(emulator, api, max_keys, short):
    # A few pages' worth of keys for each page size; short pages serve under half a page
    # while more remain, so the lister must follow IsTruncated, not the page's length.
    keys = [f"k/{i:05d}" for i in range(3 * max_keys + 40)] + TRICKY_KEYS
    put(emulator, keys)
    emulator.faults.short_pages = max_keys // 2 if short else 0
    result = ok(osslist(emulator, "--list-api", api, "--max-keys", str(max_keys), "--format", "jsonl"))
    assert [json.loads(line)["key"] for line in out(result).splitlines()] == byte_order(keys)
    sent = [r for r in emulator.requests if r.service == "oss"]
    assert len(sent) > (6 if short else 3)
    assert all(r.query.get("max-keys") == str(max_keys) for r in sent)
    assert all(("list-type" in r.query) == (api == "v2") for r in sent)


DELIMITED = ["a", "a/", "a/b", "a/b/c", "a/d", "b/x", "b/y/z", "c"]


def _records(result: Result) -> list[tuple[str, str]]:
    """(kind, name) per jsonl line: objects by key, common prefixes by prefix."""
    rows = [json.loads(line) for line in out(result).splitlines()]
    return [("prefix", r["prefix"]) if "prefix" in r else ("object", r["key"]) for r in rows]


def test_delimiter_without_prefix_gives_top_level_objects_and_prefixes(emulator):
    put(emulator, DELIMITED)
    result = ok(osslist(emulator, "--delimiter", "/", "--format", "jsonl"))
    assert _records(result) == [("object", "a"), ("prefix", "a/"), ("prefix", "b/"), ("object", "c")]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_delimiter_with_prefix_gives_one_level_below_it(emulator, api):
    put(emulator, DELIMITED)
    result = ok(osslist(emulator, "--prefix", "a/", "--delimiter", "/", "--format", "jsonl", "--list-api", api,
                        "--max-keys", "1"))
    assert _records(result) == [("object", "a/"), ("object", "a/b"), ("prefix", "a/b/"), ("object", "a/d")]


# --- faults and refusals -------------------------------------------------------------------------


def test_every_fifth_request_503_still_gives_exact_output(emulator):
    keys = [f"f/{i:04d}" for i in range(600)]
    put(emulator, keys)
    emulator.faults.error_every(5, 503)
    result = ok(osslist(emulator, "--max-keys", "50"))
    assert out(result) == "".join(k + "\n" for k in keys)
    assert any(r.status == 503 for r in emulator.requests)


THROTTLING = "OSS is throttling requests"


def test_throttling_mid_listing_is_said_once_and_the_output_stays_exact(emulator):
    keys = [f"t/{i:04d}" for i in range(600)]
    put(emulator, keys)
    emulator.faults.error_every(2, 503)
    result = ok(osslist(emulator, "--max-keys", "50", "--parallel", "4"))
    assert out(result) == "".join(k + "\n" for k in keys)
    assert sum(r.status == 503 for r in emulator.requests) > 5
    assert result.stderr.count(THROTTLING) == 1


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_503_on_every_request_exits_1_when_the_retry_budget_runs_out(emulator, how):
    put(emulator, ["k"])
    emulator.faults.error_every(1, 429)
    if how == "option":
        result = osslist(emulator, "--retry-budget", "0.4")
    else:
        result = osslist(emulator, env={"OSSLIST_RETRY_BUDGET": "0.4"})
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count(THROTTLING) == 1
    assert re.search(r"gave up after \d+ tries in [\d.]+ s \(retry budget 0.4 s\): HTTP 429 QpsLimitExceeded",
                     result.stderr)
    assert sum(r.status == 429 for r in emulator.requests) >= 2


@pytest.mark.parametrize("value", ["-1", "nan", "86401", "soon"])
def test_a_bad_retry_budget_exits_2_before_any_request(emulator, value):
    put(emulator, ["k"])
    result = osslist(emulator, "--retry-budget", value)
    assert result.exit_code == 2 and "--retry-budget" in result.stderr
    assert emulator.requests_for("oss") == []


def test_a_20_second_throttling_burst_mid_listing_is_survived_by_default(emulator):
    """Issue 10 item 6: the default budget rides out a 20-second 503 burst with --parallel 4
    (it gave up after about 6 s). This test takes the burst's 20 seconds, on purpose."""
    keys = [f"burst/{i:05d}" for i in range(3000)]
    put(emulator, keys)
    emulator.faults.unavailable_for(20.0, 503, after_requests=8)
    result = ok(osslist(emulator, "--max-keys", "100", "--parallel", "4"))
    assert out(result) == "".join(k + "\n" for k in keys)
    refused = [r for r in emulator.requests_for("oss") if r.status == 503]
    assert len(refused) > 4 and refused[-1].time - refused[0].time > 15
    assert result.stderr.count(THROTTLING) == 1


@pytest.mark.parametrize("variable, value", [
    ("ALIBABA_CLOUD_SECURITY_TOKEN", "CAIS-token\nsecond-line"),
    ("ALIBABA_CLOUD_SECURITY_TOKEN", "CAIS-token-€"),
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tAbc\ndef0123"),
])
def test_env_credentials_no_header_can_carry_exit_3_naming_the_variable(emulator, variable, value):
    """Issue 10 item 11: these were retried as network errors for seconds, then exit 1."""
    put(emulator, ["k"])
    keys = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tAbcdef0123", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s3cr3t-value",
            "ALIBABA_CLOUD_SECURITY_TOKEN": None, variable: value}
    result = osslist(emulator, env=keys)
    assert result.exit_code == 3 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert "second-line" not in result.stderr and "€" not in result.stderr and "def0123" not in result.stderr
    assert emulator.requests_for("oss") == []


def test_no_such_bucket_exits_4_naming_bucket_endpoint_and_code(emulator):
    result = osslist(emulator, bucket="missing-bucket")
    assert result.exit_code == 4
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    for part in ("missing-bucket", emulator.oss_endpoint.split("//")[1], "NoSuchBucket"):
        assert part in line
    assert re.search(r"request.id\W+[0-9A-F]{24}\b", line, re.IGNORECASE), line


def test_access_denied_exits_4(emulator):
    put(emulator, ["secret-object"])
    emulator.deny_bucket(BUCKET)
    result = osslist(emulator)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "AccessDenied" in result.stderr and len(result.stderr.splitlines()) == 1


def test_invalid_bucket_name_exits_2_before_any_request(emulator):
    result = osslist(emulator, bucket="Bad_Bucket")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert emulator.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ["--min-size", "ten"],
        ["--max-size", "-1"],
        ["--modified-after", "last tuesday"],
        ["--modified-before", "2024-13-45"],
        ["--max-keys", "0"],
        ["--shard-index", "1"],
        ["--shard-index", "3", "--shard-count", "3"],
        ["--start-after", "m", "--end-before", "a"],
        ["--endpoint", "ftp://example"],
        ["--role-name", "../../latest/api/token"],
        ["--role-name", "bad/role", "--dry-run"],
        ["--metadata-endpoint", "ftp://127.0.0.1"],
        ["--metadata-endpoint", "http://exa mple.com"],  # httpx would send it percent-encoded
        ["--metadata-endpoint", "http://127.0.0.1:0"],
        # issue 10 item 8: --parallel is bounded
        ["--parallel", "65"],
        ["--parallel", "100000"],
        # item 9: "$" accepted a trailing newline
        ["--region", "cn-hangzhou\n"],
        # item 11: exit 1 "unexpected" before
        ["--endpoint", "http://exa mple.com"],
        ["--min-size", "1" * 400],
        ["--modified-after", "9" * 400 + "d"],
        ["--end-before", "\udcff"],  # what Python makes of the byte 0xff in argv
        ["--prefix", "logs/\udcff"],
        # item 12: inconsistent checks
        ["--modified-after", "2024-02-01", "--modified-before", "2024-01-01"],
        ["--modified-after", "2024-01-01", "--modified-before", "2024-01-01"],
        ["--prefix", "p" * 1024],
        ["--start-after", "é" * 512],
        ["--end-before", "z" * 1024],
        ["--endpoint", "http://127.0.0.1:0"],
        ["--format", "jsonl", "--human-readable"],
        ["--format", "text", "--human-readable"],
    ],
)
def test_bad_values_exit_2_with_one_line_before_any_request(emulator, args):
    result = osslist(emulator, *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert emulator.requests == []


def test_a_bucket_name_with_a_trailing_newline_exits_2_before_any_request(emulator):
    put(emulator, ["a"])
    result = osslist(emulator, bucket=BUCKET + "\n")
    assert result.exit_code == 2 and "invalid bucket name" in result.stderr
    assert emulator.requests == []


def test_keys_of_1023_bytes_are_accepted_as_range_bounds(emulator):
    put(emulator, ["a" * 1023, "b" * 1023, "c" * 1023])
    result = ok(osslist(emulator, "--start-after", "a" * 1023, "--end-before", "c" * 1023, "--prefix", ""))
    assert out(result) == "b" * 1023 + "\n"


def test_an_ipv6_endpoint_lists_the_bucket(make_emulator):
    emu = make_emulator(host="::1")
    put(emu, ["a", "b/c"])
    assert out(ok(osslist(emu))) == "a\nb/c\n"


def test_a_region_contradicting_the_endpoint_warns_on_stderr(emulator):
    result = ok(osslist(emulator, "--endpoint", "oss-cn-shanghai.aliyuncs.com", "--region", "cn-hangzhou", "--dry-run"))
    assert json.loads(result.stdout)["connection"]["region"] == "cn-hangzhou"
    assert result.stderr.startswith("WARNING: --region cn-hangzhou contradicts the endpoint")


# --- range, limit, filters -----------------------------------------------------------------------

RANGE_KEYS = [f"r{i:03d}" for i in range(100)]


def test_start_after_end_before_limit_exact(emulator):
    put(emulator, RANGE_KEYS)
    result = ok(osslist(emulator, "--start-after", "r010", "--end-before", "r050", "--limit", "15",
                        "--max-keys", "7"))
    assert out(result).split() == RANGE_KEYS[11:26]


def test_start_after_end_before_without_limit_and_marker_alias(emulator):
    put(emulator, RANGE_KEYS)
    by_start = ok(osslist(emulator, "--start-after", "r010", "--end-before", "r050", "--list-api", "v2"))
    by_marker = ok(osslist(emulator, "--marker", "r010", "--end-before", "r050"))
    assert out(by_start).split() == out(by_marker).split() == RANGE_KEYS[11:50]


def test_limit_alone_stops_after_n_records_and_succeeds(emulator):
    put(emulator, RANGE_KEYS)
    result = ok(osslist(emulator, "--limit", "3", "--max-keys", "2"))
    assert out(result).split() == RANGE_KEYS[:3]


NOW = int(time.time())
FILTER_OBJECTS = {
    # key: (size, storage class, last modified)
    "logs/a.gz": (100, "Standard", NOW - 86400),
    "logs/b.txt": (5_000, "IA", NOW - 40 * 86400),
    "img/c.gz": (2_000_000, "Archive", 1_704_067_200),  # 2024-01-01
    "img/d.jpg": (10, "Standard", 1_733_011_200),  # 2024-12-01
    "tmp/e.gz": (20_480, "ColdArchive", NOW - 3 * 86400),
}


def _put_filter_objects(emulator) -> None:
    for key, (size, cls, mtime) in FILTER_OBJECTS.items():
        put(emulator, [key], size=size, storage_class=cls, last_modified=mtime)


def _where(pred) -> list[str]:
    return byte_order(k for k, (size, cls, mtime) in FILTER_OBJECTS.items() if pred(k, size, cls, mtime))


@pytest.mark.parametrize(
    ("args", "pred"),
    [
        (["--include", "logs/*"], lambda k, s, c, m: k.startswith("logs/")),
        (["--include", "*.gz", "--include", "*.jpg"], lambda k, s, c, m: k.endswith((".gz", ".jpg"))),
        (["--exclude", "*.gz"], lambda k, s, c, m: not k.endswith(".gz")),
        (["--min-size", "20K"], lambda k, s, c, m: s >= 20 * 1024),
        (["--max-size", "5000"], lambda k, s, c, m: s <= 5000),
        (["--modified-after", "7d"], lambda k, s, c, m: m >= NOW - 7 * 86400),
        (["--modified-before", "2024-06-01"], lambda k, s, c, m: m < 1_717_200_000),
        (["--modified-after", "2024-06-01T00:00:00Z"], lambda k, s, c, m: m >= 1_717_200_000),
        (["--storage-class", "IA", "--storage-class", "Archive"], lambda k, s, c, m: c in ("IA", "Archive")),
    ],
    ids=["include", "include-twice", "exclude", "min-size", "max-size", "modified-after-age",
         "modified-before-date", "modified-after-iso", "storage-class"],
)
def test_each_filter_through_the_cli(emulator, args, pred):
    _put_filter_objects(emulator)
    result = ok(osslist(emulator, *args))
    expected = _where(pred)
    assert expected, "the case must select something"
    assert out(result).split("\n")[:-1] == expected


# --- streams -------------------------------------------------------------------------------------


def test_stdout_holds_only_records_and_summary_goes_to_stderr(emulator, tmp_path):
    keys = [f"s/{i:03d}" for i in range(250)]
    put(emulator, keys, size=1000)
    summary_file = tmp_path / "summary.json"
    result = ok(osslist(emulator, "--max-keys", "100", "--summary-json", str(summary_file)))
    assert out(result) == "".join(k + "\n" for k in keys)
    assert "250" in result.stderr and ("250,000" in result.stderr or "250000" in result.stderr)
    summary = json.loads(summary_file.read_text())
    assert summary["objects"] == 250 and summary["bytes"] == 250_000


def test_output_file_gets_the_records_and_stdout_stays_empty(emulator, tmp_path):
    put(emulator, TRICKY_KEYS)
    target = tmp_path / "keys.jsonl"
    result = ok(osslist(emulator, "--format", "jsonl", "--output", str(target)))
    assert result.stdout == ""
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines] == byte_order(TRICKY_KEYS)


def test_an_output_file_named_gz_is_gzip_unless_compress_none(emulator, tmp_path):
    """`--output keys.jsonl.gz` used to be plain text under a .gz name (zcat failed on it)."""
    import gzip

    put(emulator, TRICKY_KEYS)
    plain = ok(osslist(emulator, "--format", "jsonl")).stdout_bytes
    ok(osslist(emulator, "--format", "jsonl", "--output", str(tmp_path / "keys.jsonl.gz")))
    ok(osslist(emulator, "--format", "jsonl", "--output", str(tmp_path / "raw.jsonl.gz"), "--compress", "none"))
    ok(osslist(emulator, "--format", "jsonl", "--output", str(tmp_path / "forced.jsonl"), "--compress", "gzip"))
    assert gzip.decompress((tmp_path / "keys.jsonl.gz").read_bytes()) == plain
    assert gzip.decompress((tmp_path / "forced.jsonl").read_bytes()) == plain
    assert (tmp_path / "raw.jsonl.gz").read_bytes() == plain


def test_a_local_gzip_output_cannot_be_resumed(emulator, tmp_path):
    result = osslist(emulator, "--output", str(tmp_path / "keys.txt.gz"), "--checkpoint", str(tmp_path / "ck"))
    assert result.exit_code == 2 and "cannot resume a local gzip output" in result.stderr
    assert not (tmp_path / "keys.txt.gz").exists() and emulator.requests_for("oss") == []


def test_ctrl_c_is_exit_130_with_one_line_saying_how_to_resume(emulator, tmp_path):
    import signal

    from tests.helpers import CLI_ARGV

    put(emulator, [f"k{i:05d}" for i in range(3000)])
    emulator.faults.oss_latency = 0.05
    # 300 pages of 50 ms: the run is still going when the signal comes, however loaded the machine
    child = subprocess.Popen([*CLI_ARGV, "ls", "--bucket", BUCKET, "--max-keys", "10", "--no-progress",
                              "--output", str(tmp_path / "keys.txt"), "--checkpoint", str(tmp_path / "ck")],
                             env=child_env(emulator, OSSLIST_ENDPOINT=emulator.oss_endpoint), stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # (a shell's background job, e.g. `make test &`, starts with SIGINT ignored, and its children inherit that)
    deadline = time.monotonic() + 60
    while not (tmp_path / "ck").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("stopped by Ctrl-C") and "Traceback" not in err


def test_dry_run_prints_the_plan_and_makes_no_request(emulator):
    result = ok(osslist(emulator, "--dry-run", "--prefix", "p/", "--min-size", "1K", "--list-api", "v2"))
    plan = json.loads(result.stdout)
    assert plan["connection"]["bucket"] == BUCKET
    assert plan["connection"]["endpoint"] == emulator.oss_endpoint
    assert plan["listing"]["prefix"] == "p/" and plan["listing"]["list_api"] == "v2"
    assert plan["filters"]["min_size"] == 1024
    assert emulator.requests == []


def test_dry_run_endpoint_without_scheme_is_https():
    result = CliRunner().invoke(main, ["--bucket", "my-bucket", "--dry-run"], env={"OSSLIST_ENDPOINT": None})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["connection"]["endpoint"] == "https://oss-cn-hangzhou-internal.aliyuncs.com"


# --- help, repeatable env vars, streams that fail (issue 10 items 10, 11, 14, 15) ------------------

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: osslist}
data:
  OSSLIST_INCLUDE: |
    reports/my file*.gz
    *.parquet
  OSSLIST_STORAGE_CLASS: |
    Standard
    IA
"""


def test_repeatable_options_read_their_env_var_one_value_per_line(emulator):
    import yaml

    emulator.create_bucket(BUCKET)
    for key, storage_class in [("reports/my file1.gz", "Standard"), ("reports/my", "Standard"),
                               ("file1.gz", "Standard"), ("t.parquet", "IA"), ("u.parquet", "Archive")]:
        emulator.put_object(BUCKET, key, storage_class=storage_class)
    data = yaml.safe_load(CONFIGMAP)["data"]
    result = ok(osslist(emulator, env=data))
    assert out(result) == "reports/my file1.gz\nt.parquet\n"
    crlf = ok(osslist(emulator, env={"OSSLIST_INCLUDE": "*.gz\r\n*.parquet\r\n"}))
    assert out(crlf) == "file1.gz\nreports/my file1.gz\nt.parquet\nu.parquet\n"


@pytest.mark.parametrize("command", [[], ["ls"], ["du"], ["plan"], ["whoami"], ["demo"], ["emulator"]])
def test_dash_h_is_help_on_the_group_and_every_command(command):
    result = CliRunner().invoke(main, [*command, "-h"], prog_name="osslist")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(" ".join(["Usage: osslist", *command, "[OPTIONS]"]))


def test_human_readable_has_no_short_flag_and_still_works(emulator):
    emulator.create_bucket(BUCKET)
    emulator.put_object(BUCKET, "big", size=3 * 1024 * 1024)
    assert "3.0M" in ok(osslist(emulator, "--format", "long", "--human-readable")).stdout
    emulator.clear_requests()
    assert ok(osslist(emulator, "--format", "long", "-h")).stdout.startswith("Usage: main ls [OPTIONS]")
    assert emulator.requests == []


@pytest.mark.parametrize(("word", "suggestion"), [("wohami", "whoami"), ("sl", None)])
def test_a_mistyped_command_is_named(word, suggestion):
    result = CliRunner().invoke(main, [word, "--bucket", "b"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: No such command '{word}'.")
    assert (f"Did you mean '{suggestion}'?" in result.stderr) == (suggestion is not None)


@pytest.mark.parametrize("command", ["whoami", "plan", "emulator", "demo"])
def test_each_help_lists_its_own_exit_codes(command):
    text = CliRunner().invoke(main, [command, "--help"]).stdout
    epilog = text[text.index("Exit codes:"):]
    assert "--limit" not in epilog and "--checkpoint" not in epilog
    assert (" 4 " in epilog) == (command == "plan")


@pytest.mark.parametrize("command", ["du", "uploads", "cat"])
def test_help_of_commands_without_limit_or_checkpoint_does_not_mention_them(command):
    """du, uploads and cat have no --limit, --checkpoint or --format oss-inventory: their help
    (options and exit codes) must not describe those of ls."""
    text = " ".join(CliRunner().invoke(main, [command, "--help"], terminal_width=200).stdout.split())
    for word in ("--limit", "checkpoint", "oss-inventory", "{shard}", "stream them"):
        assert word not in text, (command, word)


def test_du_output_help_says_the_totals_are_written_at_the_end():
    text = " ".join(CliRunner().invoke(main, ["du", "--help"], terminal_width=200).stdout.split())
    assert "written as one object when the totals are complete" in text


@pytest.mark.parametrize("command", [[], ["ls"], ["du"]])
def test_listing_help_lists_ctrl_c_and_closed_pipe(command):
    epilog = CliRunner().invoke(main, [*command, "--help"]).stdout.split("Exit codes:")[1]
    assert "  130 " in epilog and "  141 " in epilog and "  143 " in epilog


def test_plan_help_keeps_every_option_whole():
    text = CliRunner(env={"COLUMNS": "80"}).invoke(main, ["plan", "--help"]).stdout
    description = text[: text.index("Examples:")]
    assert "`" not in description and not any(line.rstrip().endswith("-") for line in description.splitlines())


def test_an_error_names_the_env_var_only_when_the_value_came_from_it(emulator):
    typed = osslist(emulator, "--format", "yaml")
    from_env = osslist(emulator, env={"OSSLIST_FORMAT": "yaml"})
    missing = CliRunner().invoke(main, ["ls"], env={"OSSLIST_BUCKET": None})
    assert typed.exit_code == from_env.exit_code == missing.exit_code == 2
    assert "OSSLIST_FORMAT" not in typed.stderr and "'--format'" in typed.stderr
    assert "(from env var OSSLIST_FORMAT)" in from_env.stderr
    assert missing.stderr.strip() == "Error: Missing option '--bucket' (or env var OSSLIST_BUCKET)."


def test_dry_run_shows_the_metadata_endpoint_in_use_and_times_in_iso_8601(emulator):
    result = ok(osslist(emulator, "--dry-run", "--modified-after", "2024-01-01T08:00:00+08:00"))
    plan = json.loads(result.stdout)
    assert plan["connection"]["metadata_endpoint"] == emulator.metadata_url  # from ALIBABA_CLOUD_IMDS_ENDPOINT
    assert plan["filters"]["modified_after"] == "2024-01-01T00:00:00Z"
    assert emulator.requests == []


def test_whoami_says_yes_or_no_for_hardened_mode(emulator):
    lines = ok(whoami(emulator)).stdout.splitlines()
    assert [line.split()[-1] for line in lines if line.startswith("hardened mode")] == ["yes"]


def _process(emulator, *args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process (for what CliRunner cannot fake: a closed or full stdout),
    pointed at the emulator like ``osslist()``; ``args`` start with the command if any."""
    return run_cli(list(args), child_env(emulator, OSSLIST_BUCKET=BUCKET, OSSLIST_ENDPOINT=emulator.oss_endpoint),
                   **popen)


def test_a_closed_stdout_exits_2_before_any_request(emulator, tmp_path):
    put(emulator, ["a", "b"])
    result = _process(emulator, preexec_fn=lambda: os.close(1))
    assert result.returncode == 2
    assert result.stderr == "Error: stdout is closed: give --output FILE, or redirect stdout (e.g. >/dev/null)\n"
    assert emulator.requests == []
    target = tmp_path / "keys.txt"
    assert _process(emulator, "--output", str(target), preexec_fn=lambda: os.close(1)).returncode == 0
    assert target.read_text() == "a\nb\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [[], ["--output", "/dev/full"], ["--dry-run"], ["du"], ["whoami"]])
def test_a_full_device_is_named_in_one_line(emulator, args):
    put(emulator, ["a", "b"])
    with open("/dev/full", "wb") as full:
        result = _process(emulator, *args, stdout=full)
    name = "--output /dev/full" if "--output" in args else "stdout"
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"Error: cannot write {name}: No space left on device"
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


# --- whoami and credential failures ---------------------------------------------------------------


def whoami(emulator, *args: str, env: dict | None = None) -> Result:
    return CliRunner().invoke(main, ["whoami", *args], env=clean_env(emulator, **(env or {})))


def _secrets(emulator) -> list[str]:
    values = []
    for issued in emulator.issued_credentials:
        values += [issued.access_key_secret, issued.security_token or "", issued.access_key_id]
    return [v for v in values if v]


def test_whoami_json_names_source_role_and_masked_key(make_emulator):
    emulator = make_emulator(metadata_mode="required")
    result = ok(whoami(emulator, "--format", "json"))
    info = json.loads(result.stdout)
    issued = emulator.issued_credentials[-1]
    assert info["source"] == "metadata"
    assert info["role_name"] == "osslist-emulator-role"
    assert info["hardened_mode"] is True
    assert info["access_key_id"].endswith(issued.access_key_id[-4:]) and "****" in info["access_key_id"]
    assert info["expiration"]
    for secret in _secrets(emulator):
        assert secret not in result.stdout + result.stderr


def test_whoami_text_is_one_line_per_field(emulator):
    result = ok(whoami(emulator))
    lines = result.stdout.splitlines()
    assert any(line.startswith("source") and line.split()[-1] == "metadata" for line in lines)
    assert any(line.startswith("role name") and "osslist-emulator-role" in line for line in lines)
    for secret in _secrets(emulator):
        assert secret not in result.stdout + result.stderr


def _credential_failures(make_emulator):
    """(emulator, extra env) for each way credentials can fail, all against loopback."""
    no_role = make_emulator(role_name=None)
    failed = make_emulator()
    failed.faults.metadata_code = "Failed"
    unsupported = make_emulator(metadata_mode="unsupported")
    return [
        (no_role, {}),
        (failed, {}),
        (unsupported, {"ALIBABA_CLOUD_IMDSV1_DISABLED": "true"}),
    ]


@pytest.mark.parametrize("case", [0, 1, 2], ids=["no-role", "code-failed", "imdsv1-disabled"])
def test_credential_failures_exit_3_with_one_line(make_emulator, case):
    emulator, env = _credential_failures(make_emulator)[case]
    quiet = osslist(emulator, env=env)
    assert quiet.exit_code == 3, quiet.stderr
    assert quiet.stdout == ""
    assert len(quiet.stderr.splitlines()) == 1 and quiet.stderr.startswith("Error: ")
    loud = osslist(emulator, "-v", env=env)
    assert loud.exit_code == 3
    assert "Traceback" in loud.stderr
    assert not [r for r in emulator.requests if r.service == "oss"]


def test_no_secret_in_any_error_path_even_with_verbose(make_emulator):
    emulator = make_emulator(metadata_mode="required", credential_lifetime=3.0, rotation_window=1.0)
    put(emulator, [f"s/{i}" for i in range(30)])
    runs = [
        osslist(emulator, "-v", "--max-keys", "10"),  # success, with debug logs
        osslist(emulator, "-v", bucket="no-such-bucket"),  # NoSuchBucket
        whoami(emulator, "-v", "--format", "json"),
    ]
    emulator.deny_bucket(BUCKET)
    runs.append(osslist(emulator, "-v"))  # AccessDenied
    emulator.faults.metadata_code = "Failed"
    runs.append(whoami(emulator, "-v", env={"OSSLIST_CREDENTIALS": "metadata"}))
    runs.append(osslist(emulator, "-v", "--signature-version", "1", env={
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIstaticKeyId0001",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "static-secret-never-printed-0001",
    }))  # unknown static key: InvalidAccessKeyId
    assert [r.exit_code for r in runs][:4] == [0, 4, 0, 4]
    assert runs[-1].exit_code == 4
    secrets = _secrets(emulator) + ["static-secret-never-printed-0001"]
    assert len(secrets) >= 3
    for result in runs:
        text = result.stdout + result.stderr
        for secret in secrets:
            if secret.startswith(("STS.", "LTAI")):
                continue  # key ids are not secret (whoami shows a masked one); checked below
            assert secret not in text
        for issued in emulator.issued_credentials:
            assert issued.access_key_id not in result.stdout


# --- du, emulator --------------------------------------------------------------------------------


DU_OBJECTS = {
    "logs/2024/a.gz": (300, "Standard"),
    "logs/2024/b.gz": (700, "IA"),
    "logs/2025/c.gz": (50, "Standard"),
    "img/x.jpg": (5000, "Standard"),
    "top.txt": (1, "Archive"),
}


def _put_du(emulator) -> None:
    for key, (size, cls) in DU_OBJECTS.items():
        put(emulator, [key], size=size, storage_class=cls)


def du(emulator, *args: str) -> Result:
    argv = ["du", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, *args]
    return CliRunner().invoke(main, argv, env=clean_env(emulator))


def test_du_jsonl_totals_per_prefix_largest_first(emulator):
    _put_du(emulator)
    rows = [json.loads(line) for line in out(ok(du(emulator, "--format", "jsonl", "--max-keys", "2"))).splitlines()]
    totals = {row["prefix"]: (row["objects"], row["bytes"]) for row in rows}
    assert totals["img/"] == (1, 5000)
    assert totals["logs/"] == (3, 1050)
    assert sum(objects for objects, _ in totals.values()) == len(DU_OBJECTS)
    assert sum(size for _, size in totals.values()) == sum(size for size, _ in DU_OBJECTS.values())
    assert [row["bytes"] for row in rows] == sorted((row["bytes"] for row in rows), reverse=True)


def test_du_depth_prefix_and_storage_classes(emulator):
    _put_du(emulator)
    result = ok(du(emulator, "--prefix", "logs/", "--depth", "1", "--by-storage-class", "--format", "jsonl"))
    rows = {json.loads(line)["prefix"]: json.loads(line) for line in out(result).splitlines()}
    assert set(rows) == {"logs/2024/", "logs/2025/"}
    assert (rows["logs/2024/"]["objects"], rows["logs/2024/"]["bytes"]) == (2, 1000)
    assert "IA" in json.dumps(rows["logs/2024/"])
    assert "1,050" in result.stderr or "1050" in result.stderr  # the summary, on stderr


def test_du_table_is_for_people(emulator):
    _put_du(emulator)
    table = out(ok(du(emulator)))
    assert "img/" in table and "logs/" in table
    assert table.index("img/") < table.index("logs/")  # largest first


def test_emulator_command_passes_its_options_through(monkeypatch):
    from osslist.emulator import standalone

    seen = {}
    monkeypatch.setattr(standalone, "run_standalone", lambda **kwargs: seen.update(kwargs))
    result = CliRunner().invoke(main, ["emulator", "--objects", "12", "--port", "0", "--metadata-mode", "required",
                                       "--latency", "0.5"])
    assert result.exit_code == 0, result.stderr
    assert seen["objects"] == 12 and seen["metadata_mode"] == "required" and seen["latency"] == 0.5
    assert seen["port"] == 0 and seen["bucket"] == "emulator-bucket"
    assert seen["reports_bucket"] is None and seen["versioning"] is False
    result = CliRunner().invoke(main, ["emulator", "--reports-bucket", "reports", "--versioning"])
    assert result.exit_code == 0, result.stderr
    assert seen["reports_bucket"] == "reports" and seen["versioning"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--bucket", "Bad_Name"], "invalid bucket name 'Bad_Name'"),
     (["--bucket", "emulator-bucket\n"], "invalid bucket name"),
     (["--port", "45998", "--metadata-port", "45998"], "port 45998 given for both oss and metadata"),
     (["--reports-bucket", "Bad_Reports"], "invalid bucket name 'Bad_Reports'"),
     (["--reports-bucket", "emulator-bucket"], "--reports-bucket emulator-bucket is the seeded bucket")],
)
def test_emulator_command_refuses_what_osslist_would_refuse(monkeypatch, args, message):
    from osslist.emulator import emulator as emulator_module

    monkeypatch.setattr(emulator_module.Emulator, "start", lambda self: pytest.fail("must not start"))
    result = CliRunner().invoke(main, ["emulator", "--objects", "1", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {message}") and len(result.stderr.splitlines()) == 1


# --- parallel and shards -------------------------------------------------------------------------


def _spread_keys() -> list[str]:
    """Keys whose first characters vary (hashed, numbered, named), so shards all get some."""
    keys = [f"{i:04d}/part" for i in range(0, 400, 7)]
    keys += [f"{h}{i:03d}.bin" for h in "0123456789abcdef" for i in range(12)]
    keys += [f"{name}/file-{i}" for name in ("alpha", "Beta", "zeta", "中文") for i in range(15)]
    return byte_order(set(keys + TRICKY_KEYS))


def test_parallel_output_is_the_sequential_output(emulator):
    keys = _spread_keys()
    put(emulator, keys)
    sequential = out(ok(osslist(emulator, "--max-keys", "20", "--format", "jsonl")))
    parallel = ok(osslist(emulator, "--max-keys", "20", "--format", "jsonl", "--parallel", "4"))
    assert out(parallel) == sequential
    assert [json.loads(line)["key"] for line in sequential.splitlines()] == keys


def test_shards_are_disjoint_and_cover_the_bucket(emulator):
    keys = _spread_keys()
    put(emulator, keys)
    shards = [
        out(ok(osslist(emulator, "--max-keys", "25", "-0", "--shard-index", str(i), "--shard-count", "3")))
        for i in range(3)
    ]
    listed = [shard[:-1].split("\0") if shard else [] for shard in shards]
    assert all(part == byte_order(part) for part in listed)
    assert all(len(part) > 0 for part in listed)
    assert byte_order(key for part in listed for key in part) == keys  # each key exactly once


def test_shards_with_delimiter_report_each_common_prefix_once(emulator):
    keys = _spread_keys()
    put(emulator, keys)
    whole = _records(ok(osslist(emulator, "--delimiter", "/", "--format", "jsonl")))
    parts = [
        _records(ok(osslist(emulator, "--delimiter", "/", "--format", "jsonl", "--shard-index", str(i),
                            "--shard-count", "2", "--parallel", "2")))
        for i in range(2)
    ]
    assert sorted(parts[0] + parts[1], key=lambda r: r[1].encode()) == whole


# --- progress ------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "disabled", "shown"),
    [(_Terminal, False, True), (_Terminal, True, False), (io.StringIO, False, False)],
    ids=["terminal", "no-progress", "not-a-terminal"],
)
def test_progress_bar_only_on_a_terminal_and_never_with_no_progress(monkeypatch, stream, disabled, shown):
    import sys

    from osslist.cli import _Progress

    fake = stream()
    monkeypatch.setattr(sys, "stderr", fake)
    bar = _Progress(disabled=disabled)
    bar(1000)
    bar.close()
    assert ("obj" in fake.getvalue()) is shown


# --- checkpoint and resume -----------------------------------------------------------------------

RESUME_KEYS = [f"r/{i:04d}" for i in range(300)]


def _resumable(emulator, tmp_path, *args: str) -> Result:
    return osslist(emulator, "--max-keys", "20", "--format", "jsonl", "--output", str(tmp_path / "out.jsonl"),
                   "--checkpoint", str(tmp_path / "ck.json"), *args)


def _written_keys(tmp_path) -> list[str]:
    return [json.loads(line)["key"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]


def _crash_on_save(monkeypatch, number: int, *, before_save: bool) -> None:
    """Make the ``number``-th checkpoint save crash (before or after it reaches the disk)."""
    from osslist import checkpoint

    real, calls = checkpoint.Checkpointer.commit, []

    def commit(self, remaining, summary):
        calls.append(1)
        if len(calls) == number and before_save:
            raise RuntimeError("crash before the save")
        state = real(self, remaining, summary)
        if len(calls) == number:
            raise RuntimeError("crash after the save")
        return state

    monkeypatch.setattr(checkpoint.Checkpointer, "commit", commit)


def test_checkpointed_run_is_exact_and_a_rerun_is_a_no_op(emulator, tmp_path):
    put(emulator, RESUME_KEYS, size=2)
    first = ok(_resumable(emulator, tmp_path))
    assert first.stdout == ""
    assert _written_keys(tmp_path) == RESUME_KEYS
    assert json.loads((tmp_path / "ck.json").read_text())["remaining"] == []
    emulator.clear_requests()
    again = ok(_resumable(emulator, tmp_path))
    assert "finished at" in again.stderr and "300 objects" not in again.stderr
    assert _written_keys(tmp_path) == RESUME_KEYS
    assert emulator.requests_for("oss") == []


@pytest.mark.parametrize("before_save", [True, False], ids=["crash-before-save", "crash-after-save"])
@pytest.mark.parametrize("parallel", ["1", "3"])
def test_a_crashed_run_resumes_with_every_key_once(emulator, tmp_path, monkeypatch, before_save, parallel):
    put(emulator, RESUME_KEYS, size=2)
    _crash_on_save(monkeypatch, 4, before_save=before_save)
    crashed = _resumable(emulator, tmp_path, "--parallel", parallel)
    assert crashed.exit_code == 1
    assert 0 < len(_written_keys(tmp_path)) < len(RESUME_KEYS)
    monkeypatch.undo()
    emulator.clear_requests()
    resumed = ok(_resumable(emulator, tmp_path, "--parallel", parallel, "--summary-json", str(tmp_path / "s.json")))
    assert _written_keys(tmp_path) == RESUME_KEYS
    resumed_from = [r.query.get("marker") or r.query.get("start-after") or r.query.get("continuation-token")
                    for r in emulator.requests_for("oss")]
    assert resumed_from and all(resumed_from), "the resumed run must not list from the start again"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["objects"] == len(RESUME_KEYS) and summary["bytes"] == 2 * len(RESUME_KEYS)
    assert "300" in resumed.stderr


def test_sigterm_stops_after_the_page_with_143_then_resumes(emulator, tmp_path, monkeypatch):
    import signal

    from osslist import checkpoint

    put(emulator, RESUME_KEYS)
    real, calls = checkpoint.Checkpointer.commit, []

    def commit(self, remaining, summary):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # what Kubernetes sends; the StopFlag catches it
        return real(self, remaining, summary)

    monkeypatch.setattr(checkpoint.Checkpointer, "commit", commit)
    stopped = _resumable(emulator, tmp_path)
    assert stopped.exit_code == 143
    assert len(stopped.stderr.splitlines()) == 1 and "SIGTERM" in stopped.stderr
    assert len(_written_keys(tmp_path)) == 60  # three pages of 20, each saved
    monkeypatch.undo()
    ok(_resumable(emulator, tmp_path))
    assert _written_keys(tmp_path) == RESUME_KEYS


def test_limit_with_checkpoint_counts_what_was_written_before(emulator, tmp_path, monkeypatch):
    put(emulator, RESUME_KEYS)
    _crash_on_save(monkeypatch, 2, before_save=False)
    assert _resumable(emulator, tmp_path, "--limit", "70").exit_code == 1
    monkeypatch.undo()
    ok(_resumable(emulator, tmp_path, "--limit", "70"))
    assert _written_keys(tmp_path) == RESUME_KEYS[:70]


def test_checkpoint_needs_an_output_file_and_matching_arguments(emulator, tmp_path):
    put(emulator, RESUME_KEYS)
    alone = osslist(emulator, "--checkpoint", str(tmp_path / "ck.json"))
    assert alone.exit_code == 2 and "--output" in alone.stderr
    ok(_resumable(emulator, tmp_path))
    other = _resumable(emulator, tmp_path, "--prefix", "r/01")
    assert other.exit_code == 2
    assert len(other.stderr.splitlines()) == 1


def test_sigterm_without_checkpoint_stops_after_a_whole_page_with_143(emulator, monkeypatch):
    import signal

    from osslist import cli

    put(emulator, RESUME_KEYS)
    pages = []

    def on_page(self, count):
        pages.append(count)
        if len(pages) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(cli._Progress, "__call__", on_page)
    result = osslist(emulator, "--max-keys", "20")
    assert result.exit_code == 143
    assert out(result) == "".join(k + "\n" for k in RESUME_KEYS[:40])  # two whole pages, nothing torn
    assert len(result.stderr.splitlines()) == 1 and "SIGTERM" in result.stderr
    assert "checkpoint" not in result.stderr and "resume" not in result.stderr  # there is none to resume from
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler was put back


@pytest.mark.parametrize("parallel", ["1", "4"])
def test_sigterm_abandons_the_requests_in_flight(emulator, monkeypatch, parallel):
    """A request hanging when SIGTERM comes is not the page being committed: the run exits
    143 at once, without waiting for it (Kubernetes kills the pod after its grace period)."""
    import signal
    import threading

    from osslist import client

    put(emulator, RESUME_KEYS)
    real, lock, release = client.BucketClient.get_listing_page, threading.Lock(), threading.Event()
    state = {"calls": 0, "hanging": 0}

    def hang_after_two(self, params):
        with lock:
            state["calls"] += 1
            late = state["calls"] > 2
            state["hanging"] += late
        if late:
            if state["calls"] == 3:
                os.kill(os.getpid(), signal.SIGTERM)
            release.wait(60)  # a request that takes a minute
            with lock:
                state["hanging"] -= 1
        return real(self, params)

    monkeypatch.setattr(client.BucketClient, "get_listing_page", hang_after_two)
    try:
        result = osslist(emulator, "--max-keys", "20", "--parallel", parallel)
        still_hanging = state["hanging"]
    finally:
        release.set()
    assert result.exit_code == 143, result.stderr
    assert still_hanging >= 1  # it did not wait for the hanging request
    written = out(result).splitlines()
    assert written == RESUME_KEYS[: len(written)] and len(written) % 20 == 0  # whole pages, in order


def test_sigterm_after_the_summary_leaves_a_success_alone(emulator, tmp_path):
    """The listing is complete and its summary printed: a SIGTERM now must not turn exit 0
    into death by signal (-15)."""
    import subprocess
    import sys

    put(emulator, RESUME_KEYS[:30])
    script = (
        "import os, signal, osslist.cli as cli\n"
        "real = cli._write_summary_json\n"
        "def late(path, summary):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    real(path, summary)\n"
        "cli._write_summary_json = late\n"
        "cli.main()\n"
    )
    env = {k: v for k, v in {**os.environ, **clean_env(emulator)}.items() if v is not None}
    argv = [sys.executable, "-c", script, "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint,
            "--no-progress", "--summary-json", str(tmp_path / "s.json")]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr[-300:])
    assert done.stdout.decode().splitlines() == RESUME_KEYS[:30]
    assert json.loads((tmp_path / "s.json").read_text())["objects"] == 30


@pytest.mark.parametrize(
    "args",
    [
        ["--summary-json", "{missing}/summary.json"],
        ["du", "--summary-json", "{missing}/summary.json"],
        ["du", "--output", "{missing}/usage.csv"],
        ["--output", "{tmp}/keys.txt", "--checkpoint", "{missing}/state.json"],
    ],
    ids=["ls-summary-json", "du-summary-json", "du-output", "ls-checkpoint"],
)
def test_an_unwritable_result_file_exits_2_before_any_request(emulator, tmp_path, args):
    """A file written at the end must not fail after a listing of the whole bucket."""
    emulator.create_bucket(BUCKET)
    emulator.put_object(BUCKET, "k", size=1)
    argv = [a.format(missing=tmp_path / "no-such-dir", tmp=tmp_path) for a in args]
    if argv[0] == "du":
        argv = ["du", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, *argv[1:]]
    else:
        argv = ["--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, *argv]
    result = CliRunner().invoke(main, argv, env=clean_env(emulator))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: cannot write") and len(result.stderr.splitlines()) == 1
    assert emulator.requests == []


# --- archive fields, --restore-state, --fetch-owner (issue 13 item 5) ---------------------------


def _archive_bucket(emulator) -> None:
    from osslist.emulator import Archive

    emulator.create_bucket("arc")
    emulator.put_object("arc", "a-none", storage_class="Archive")
    emulator.put_object("arc", "b-ongoing", storage_class="ColdArchive", archive=Archive(True))
    emulator.put_object("arc", "c-restored", storage_class="Archive", archive=Archive(False, 1_704_067_200))
    emulator.put_object("arc", "d-standard")


@pytest.mark.parametrize(("states", "expected"), [
    (["none"], ["a-none"]), (["restored", "ongoing"], ["b-ongoing", "c-restored"]),
])
def test_restore_state_filters_and_the_summary_counts_restore_states(emulator, states, expected):
    _archive_bucket(emulator)
    args = [arg for state in states for arg in ("--restore-state", state)]
    assert out(ok(osslist(emulator, *args, bucket="arc"))).splitlines() == expected
    summary = ok(osslist(emulator, "--format", "jsonl", bucket="arc")).stderr
    assert "archive-class objects by restore state: 1 none, 1 ongoing, 1 restored" in summary


def test_an_unknown_restore_state_exits_2_with_one_line(emulator):
    _archive_bucket(emulator)
    result = osslist(emulator, "--restore-state", "thawed", bucket="arc")
    assert result.exit_code == 2 and "unknown restore state 'thawed'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_fetch_owner_writes_the_owner_and_only_then(emulator, api):
    _archive_bucket(emulator)
    plain = [json.loads(line) for line in out(ok(osslist(emulator, "--format", "jsonl", "--list-api", api,
                                                            bucket="arc"))).splitlines()]
    owned = [json.loads(line) for line in out(ok(osslist(emulator, "--format", "jsonl", "--list-api", api,
                                                            bucket="arc", env={"OSSLIST_FETCH_OWNER": "1"}))).splitlines()]
    assert all("owner" not in line for line in plain)
    assert [line.pop("owner") for line in owned] == ["1234567890123456"] * 4 and owned == plain
    assert plain[1]["restore"] == {"ongoing": True} and plain[2]["restore"]["ongoing"] is False
    assert "restore" not in plain[0] and "restore" not in plain[3]


def test_local_output_paths_expand_the_key_placeholders_up_front(emulator, tmp_path):
    """ls and du name a report on disk as they name one in OSS: never a file called {date}.jsonl;
    a placeholder that cannot be expanded is exit 2 before any request, with no file written."""
    put(emulator, ["a", "b"])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ok(osslist(emulator, "--format", "jsonl", "--output", str(out_dir / "{bucket}-{date}.jsonl"),
               "--summary-json", str(out_dir / "{env:RUN}-summary.json"), env={"RUN": "run-7"}))
    ok(osslist(emulator, "--shard-index", "1", "--shard-count", "2", "--output", str(out_dir / "s{shard}.txt")))
    ok(CliRunner().invoke(main, ["du", "--bucket", BUCKET, "--endpoint", emulator.oss_endpoint,
                                 "--output", str(out_dir / "du-{time}.txt")], env=clean_env(emulator)))
    names = sorted(p.name for p in out_dir.iterdir())
    assert len(names) == 4 and not any("{" in name for name in names), names
    assert names[0].startswith(f"{BUCKET}-20") and names[0].endswith(".jsonl")
    assert names[1].startswith("du-20") and names[2:] == ["run-7-summary.json", "s1.txt"]
    emulator.clear_requests()
    for option in ("--output", "--summary-json"):
        refused = osslist(emulator, option, str(tmp_path / "{nope}.txt"))
        assert refused.exit_code == 2 and "unknown placeholder {nope}" in refused.stderr, refused.stderr
    assert emulator.requests_for("oss") == [] and not (tmp_path / "{nope}.txt").exists()
