"""oss://BUCKET/KEY destinations and their placeholders (pure: no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from osslist.errors import UsageError
from osslist.ossurl import OssUrl, RunFacts, expand_key, expand_path, is_oss_url, parse_oss_url

STARTED = datetime(2026, 11, 29, 7, 5, 9, tzinfo=timezone.utc)
FACTS = RunFacts(started=STARTED, bucket="audited", shard=3)


def test_plain_url() -> None:
    url = parse_oss_url("oss://reports/run/objects.jsonl.gz", FACTS, {})
    assert url == OssUrl("reports", "run/objects.jsonl.gz") and str(url) == "oss://reports/run/objects.jsonl.gz"
    assert is_oss_url("oss://x/y") and not is_oss_url("/tmp/oss://x") and not is_oss_url("reports.jsonl")


def test_every_placeholder() -> None:
    template = "osslist/{env:JOB_NAME}/{bucket}/{date}/{time}/shard-{shard}.jsonl"
    key = expand_key(template, FACTS, {"JOB_NAME": "audit-28"})
    assert key == "osslist/audit-28/audited/2026-11-29/2026-11-29T07-05Z/shard-3.jsonl"


def test_the_run_start_is_taken_in_utc() -> None:
    east = STARTED.astimezone(timezone(timedelta(hours=8)))  # 15:05 on the same day in UTC+8
    late = datetime(2026, 11, 29, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert expand_key("{date}", RunFacts(started=east), {}) == "2026-11-29"
    assert expand_key("{time}", RunFacts(started=late), {}) == "2026-11-30T01-30Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oss://reports", "bucket and a key"),
        ("oss://reports/", "bucket and a key"),
        ("oss:///key", "bucket and a key"),
        ("s3://reports/key", "not an oss://"),
        ("oss://reports/{nope}", "unknown placeholder {nope}"),
        ("oss://reports/{env:1BAD}", "unknown placeholder"),
        ("oss://reports/{env:UNSET}", "$UNSET is not set"),
        ("oss://reports//abs", "cannot start with '/'"),
        ("oss://reports/" + "k" * 1024, "1..1023 bytes"),
    ],
)
def test_refusals_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")):
        parse_oss_url(text, FACTS, {})


def test_shard_needs_a_shard() -> None:
    with pytest.raises(UsageError, match="--shard-index"):
        parse_oss_url("oss://r/{shard}.jsonl", RunFacts(started=STARTED), {})
    assert parse_oss_url("oss://r/{shard}.jsonl", RunFacts(started=STARTED, shard=0), {}).key == "0.jsonl"


def test_an_empty_env_value_is_refused_rather_than_collapsing_keys() -> None:
    with pytest.raises(UsageError):
        parse_oss_url("oss://r/{env:JOB_NAME}/x", FACTS, {"JOB_NAME": ""})


def test_report_is_the_newer_reports_folder_and_only_a_diff_of_a_folder_has_one() -> None:
    facts = RunFacts(started=STARTED, report="2026-11-28T03-00Z")
    assert expand_key("inv/b/{report}/changes.jsonl.gz", facts, {}) == "inv/b/2026-11-28T03-00Z/changes.jsonl.gz"
    with pytest.raises(UsageError, match="only `osslist diff FOLDER/`"):
        parse_oss_url("oss://r/{report}/changes.jsonl.gz", FACTS, {})


def test_a_local_path_takes_the_same_placeholders_and_names_its_option() -> None:
    assert expand_path("--output", "out/{bucket}-{date}-{shard}.jsonl", FACTS, {}) == "out/audited-2026-11-29-3.jsonl"
    assert expand_path("--output", "plain/a,b.jsonl", FACTS, {}) == "plain/a,b.jsonl"
    with pytest.raises(UsageError, match=r"^--summary-json s/\{nope\}.json: unknown placeholder \{nope\} in the path"):
        expand_path("--summary-json", "s/{nope}.json", FACTS, {})
