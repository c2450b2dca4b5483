"""`osslist cat`: an object back to stdout, gunzipped when its key says .gz (issue 11 point 5)."""

from __future__ import annotations

import gzip
import pytest
from click.testing import CliRunner

from osslist.cli import main
from osslist.emulator import Emulator
from osslist.osscat import CorruptObject, gunzipped
from tests.helpers import clean_env

LINES = b"".join(b'{"key": "k%06d", "size": %d}\n' % (i, i) for i in range(20_000))


def cat(emulator: Emulator, *args: str) -> tuple[int, bytes, str]:
    env = clean_env(emulator, OSSLIST_ENDPOINT=emulator.oss_endpoint)
    result = CliRunner().invoke(main, ["cat", *args], env=env)
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.create_bucket("reports")
    return emulator


def put(emu: Emulator, key: str, data: bytes) -> None:
    emu.put_object("reports", key, data=data)


def test_plain_object_to_stdout(emu: Emulator) -> None:
    put(emu, "run/objects.jsonl", LINES)
    assert cat(emu, "oss://reports/run/objects.jsonl") == (0, LINES, "")


def test_gz_key_is_gunzipped_unless_told_not_to(emu: Emulator) -> None:
    stored = gzip.compress(LINES)
    put(emu, "run/objects.jsonl.gz", stored)
    assert cat(emu, "oss://reports/run/objects.jsonl.gz")[:2] == (0, LINES)
    assert cat(emu, "--no-gunzip", "oss://reports/run/objects.jsonl.gz")[:2] == (0, stored)
    put(emu, "run/packed", stored)
    assert cat(emu, "--gunzip", "oss://reports/run/packed")[:2] == (0, LINES)


def test_several_gzip_members_read_as_gunzip_does() -> None:
    members = [gzip.compress(b"one\n"), gzip.compress(b""), gzip.compress(b"two\n" * 1000)]
    joined = b"".join(members)
    for size in (1, 7, len(joined)):
        chunks = [joined[i : i + size] for i in range(0, len(joined), size)]
        assert b"".join(gunzipped(chunks, "x")) == b"one\n" + b"two\n" * 1000


def test_a_truncated_or_foreign_gzip_is_an_error() -> None:
    whole = gzip.compress(LINES)
    with pytest.raises(CorruptObject, match="middle"):
        b"".join(gunzipped([whole[: len(whole) // 2]], "oss://r/x.gz"))
    with pytest.raises(CorruptObject, match="not valid gzip"):
        b"".join(gunzipped([b"plain text, not gzip"], "oss://r/x.gz"))


def test_missing_object_is_exit_4_naming_it(emu: Emulator) -> None:
    code, stdout, stderr = cat(emu, "oss://reports/nope.jsonl")
    assert code == 4 and stdout == b""
    assert "oss://reports/nope.jsonl" in stderr and "NoSuchKey" in stderr and len(stderr.strip().splitlines()) == 1


def test_denied_read_is_exit_4(emu: Emulator) -> None:
    put(emu, "private/x", b"secret report")
    emu.faults.deny("reports", "private/", {"oss:GetObject"})
    code, stdout, stderr = cat(emu, "oss://reports/private/x")
    assert code == 4 and stdout == b"" and "AccessDenied" in stderr


@pytest.mark.parametrize("url", ["reports/x", "oss://reports", "oss://reports/", "oss://reports//x"])
def test_bad_urls_are_usage_errors_before_any_request(emu: Emulator, url: str) -> None:
    emu.clear_requests()
    code, _, stderr = cat(emu, url)
    assert code == 2 and "oss://" in stderr and emu.requests == []


def test_the_retry_budget_bounds_a_throttled_object(emu: Emulator) -> None:
    put(emu, "run/objects.jsonl", LINES)
    emu.faults.error_every(1, 503)
    code, out, err = cat(emu, "--retry-budget", "0.3", "oss://reports/run/objects.jsonl")
    assert (code, out) == (1, b"")
    assert "retry budget 0.3 s" in err and err.count("OSS is throttling") == 1
