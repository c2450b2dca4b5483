"""Helpers shared by several test modules: emulator clients, CLI result readers, key shapes,
and fakes of the probes the sharding module sends. Nothing here is a test."""

from __future__ import annotations

import bisect
import hashlib
import os

from click.testing import Result

from osslist.backoff import BackoffPolicy
from osslist.client import BucketClient, make_bucket_client
from osslist.emulator import Emulator
from osslist.ranges import KeyRange
from osslist.sources import resolve_provider

# --- the command line ----------------------------------------------------------------------

BUCKET = "cli-bucket"
_CREDENTIAL_VARS = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "OSS_ACCESS_KEY_ID",
    "OSS_ACCESS_KEY_SECRET",
    "OSS_SESSION_TOKEN",
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_ECS_METADATA",
    "ALIBABA_CLOUD_IMDSV1_DISABLED",
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED",
)


def byte_order(keys) -> list[str]:
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def clean_env(emulator, **extra: str | None) -> dict[str, str | None]:
    """Only the emulator's metadata endpoint and a region; no ambient keys, RRSA or other
    OSSLIST_* settings."""
    env: dict[str, str | None] = {name: None for name in _CREDENTIAL_VARS}
    env.update({name: None for name in os.environ if name.startswith("OSSLIST_")})
    env["ALIBABA_CLOUD_IMDS_ENDPOINT"] = emulator.metadata_url
    # An IP endpoint names no region and V4 signing needs one: give it the way a pod would.
    env["OSSLIST_REGION"] = "cn-hangzhou"
    env.update(extra)
    return env


def out(result: Result) -> str:
    """stdout exactly as written (CliRunner's .stdout folds \\r\\n)."""
    return result.stdout_bytes.decode("utf-8")


def put(emulator, keys, **attrs) -> None:
    emulator.create_bucket(BUCKET)
    for key in keys:
        emulator.put_object(BUCKET, key, **attrs)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stderr
    return result


# --- clients of the emulator ---------------------------------------------------------------

FAST = BackoffPolicy(max_attempts=4, base=0.001, cap=0.01, deadline=5.0)


def emulator_client(emu: Emulator, bucket: str) -> BucketClient:
    provider = resolve_provider("auto", environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": emu.metadata_url})
    return make_bucket_client(bucket, emu.oss_endpoint, provider, region="cn-hangzhou", policy=FAST)


# --- key shapes and fakes --------------------------------------------------------------------


def flat_keys(n: int) -> list[str]:
    return [f"obj-{i:07d}" for i in range(n)]


def tree_keys() -> list[str]:
    return sorted(f"d{a:02d}/s{b:02d}/f{c:04d}.dat" for a in range(6) for b in range(7) for c in range(37))


def hex_keys(n: int) -> list[str]:
    return sorted(hashlib.md5(str(i).encode()).hexdigest() for i in range(n))


def owners(ranges: list[KeyRange], keys: list[str]) -> dict[str, int]:
    """How many of ``ranges`` each key falls in."""
    return {k: sum(r.contains(k) for r in ranges) for k in keys}


def sample_probe(keys: list[str], calls: list[str]):  # type: ignore[no-untyped-def]
    def probe(after: str) -> tuple[list[str], bool]:
        calls.append(after)
        i = bisect.bisect_right(keys, after)
        return keys[i : i + 1000], i + 1000 < len(keys)

    return probe


def fake_folders(keys: list[str]) -> tuple[list[str], object]:
    calls: list[str] = []

    def folders(prefix: str) -> list[str]:
        calls.append(prefix)
        found = {k[: k.index("/", len(prefix)) + 1] for k in keys if k.startswith(prefix) and "/" in k[len(prefix):]}
        return sorted(found)

    return calls, folders
