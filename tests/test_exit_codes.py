"""The CLI's edge: every failure becomes one line on stderr and the documented exit code.

These drive the real command line with the job's entry point replaced by one that raises, so
each error class of osslist/errors.py is checked against the code the README promises.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from osslist import cli
from osslist import job as jobs
from osslist.errors import (
    CheckpointMismatch,
    CredentialsError,
    Interrupted,
    ListingError,
    MetadataError,
    OssRefused,
    OssUnavailable,
    StsError,
    UsageError,
)

ARGS = ["--bucket", "my-bucket", "--endpoint", "http://127.0.0.1:9"]


def _raising(exc: BaseException):
    def prepare(*_args, **_kwargs):
        raise exc

    return prepare


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UsageError("bad value"), 2),
        (CheckpointMismatch("other run"), 2),
        (CredentialsError("no credentials"), 3),
        (MetadataError("no role attached"), 3),
        (StsError("sts refused"), 3),
        (OssRefused("access denied", status=403, code="AccessDenied", request_id="R1"), 4),
        (OssUnavailable("kept failing", status=503), 1),
        (ListingError("marker did not advance"), 1),
        (Interrupted("terminated"), 143),
        (RuntimeError("boom"), 1),
    ],
)
def test_each_error_maps_to_its_exit_code_with_one_line(monkeypatch, exc, code):
    monkeypatch.setattr(jobs, "prepare", _raising(exc))
    result = CliRunner().invoke(cli.main, ARGS)
    assert result.exit_code == code
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr


def test_traceback_only_with_verbose(monkeypatch):
    monkeypatch.setattr(jobs, "prepare", _raising(RuntimeError("boom")))
    quiet = CliRunner().invoke(cli.main, ARGS)
    loud = CliRunner().invoke(cli.main, [*ARGS, "-v"])
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr
    assert loud.exit_code == quiet.exit_code == 1
    assert loud.stderr.rstrip().splitlines()[-1] == "Error: unexpected RuntimeError: boom"


def test_oss_error_line_names_bucket_endpoint_code_and_request_id(monkeypatch):
    exc = OssRefused(
        "OSS refused the listing",
        status=404,
        code="NoSuchBucket",
        request_id="5C3D9175B6FC201293AD4890",
        bucket="my-bucket",
        endpoint="http://127.0.0.1:9",
    )
    monkeypatch.setattr(jobs, "prepare", _raising(exc))
    result = CliRunner().invoke(cli.main, ARGS)
    assert result.exit_code == 4
    line = result.stderr.strip()
    for part in ("my-bucket", "http://127.0.0.1:9", "NoSuchBucket", "5C3D9175B6FC201293AD4890"):
        assert part in line


def test_multi_line_message_is_folded_into_one_line(monkeypatch):
    monkeypatch.setattr(jobs, "prepare", _raising(ListingError("first\nsecond")))
    result = CliRunner().invoke(cli.main, ARGS)
    assert result.stderr == "Error: first second\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--bucket", "my-bucket", "--max-keys", "0"],
        ["--bucket", "my-bucket", "--max-keys", "1001"],
        ["--bucket", "my-bucket", "--list-api", "v3"],
        ["--bucket", "my-bucket", "--no-such-option"],
        ["--endpoint", "http://127.0.0.1:9"],  # --bucket missing
        ["ls", "--bucket", "my-bucket", "--parallel", "0"],
    ],
)
def test_click_usage_errors_exit_2_with_one_line(monkeypatch, args):
    monkeypatch.setattr(jobs, "prepare", _raising(AssertionError("must not be reached")))
    result = CliRunner().invoke(cli.main, args, env={"OSSLIST_BUCKET": None})
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")


def test_help_epilog_documents_every_exit_code():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    for code in ("0", "1", "2", "3", "4", "143"):
        assert any(line.split()[:1] == [code] for line in result.stdout.splitlines()), code
