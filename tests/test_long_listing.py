"""Issue 3's long-run acceptance through the real command line: a listing that runs about a minute
while 5-second metadata credentials rotate underneath it succeeds with exact output, the emulator saw
many successive key ids, and no OSS request was signed with an expired or unknown set.

This is the one deliberately slow test (about a minute): it is what a pod's multi-hour audit does
with 6-hour credentials, compressed. The emulator checks every signature and every token's expiry.
"""

from __future__ import annotations

from click.testing import CliRunner

from osslist.cli import main
from osslist.emulator import Emulator

BUCKET = "rotating-bucket"
OBJECTS = 6_000
PAGE = 25  # 240 pages
LATENCY = 0.22  # seconds per OSS request: 240 x ~0.25 s ~ one minute


def test_a_minute_long_listing_over_rotating_5_second_credentials(make_emulator) -> None:
    emu: Emulator = make_emulator(metadata_mode="required", credential_lifetime=5.0, rotation_window=2.0)
    bucket = emu.create_bucket(BUCKET)
    emu.seed(BUCKET, OBJECTS)
    expected = sorted(bucket.keys(), key=lambda k: k.encode("utf-8"))  # OSS order: UTF-8 bytes
    assert len(expected) == OBJECTS
    emu.faults.oss_latency = LATENCY
    emu.clear_requests()

    result = CliRunner().invoke(
        main,
        ["--bucket", BUCKET, "--endpoint", emu.oss_endpoint, "--max-keys", str(PAGE), "--no-progress"],
        env={"ALIBABA_CLOUD_IMDS_ENDPOINT": emu.metadata_url, "OSSLIST_REGION": "cn-hangzhou"},
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == expected
    oss = emu.requests_for("oss")
    assert len(oss) == OBJECTS // PAGE
    assert all(r.status == 200 and r.credentials_valid for r in oss), {r.error_code for r in oss}
    key_ids = [r.access_key_id for r in oss]
    successive = [k for i, k in enumerate(key_ids) if i == 0 or k != key_ids[i - 1]]
    assert len(set(successive)) >= 8, "a minute of 5-second credentials means many successive sets"
    assert len(successive) == len(set(successive)), "a set once replaced is never used again"
    assert set(key_ids) <= {c.access_key_id for c in emu.issued_credentials}
    metadata = emu.requests_for("metadata")
    assert all("x-aliyun-ecs-metadata-token" in r.headers for r in metadata if r.method == "GET")

