"""`osslist demo`: the whole path of a pod's listing, run against a local emulator.

It starts ``osslist.emulator`` in-process on free loopback ports (hardened metadata mode
required, credentials rotating every few seconds), seeds a bucket that looks like a real one
(logs, images, backups and data files across prefixes, sizes and storage classes), and runs
the same job the CLI runs: the metadata server is found through ALIBABA_CLOUD_IMDS_ENDPOINT
(in a copied environment, never the caller's), the role is discovered, STS credentials are
fetched with a hardened-mode token, oss2 signs every page. It prints a sample of the listing
and the summary, and checks the totals against what it seeded.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from osslist import job as jobs
from osslist import runner

DEMO_BUCKET = "osslist-demo"
DEFAULT_OBJECTS = 20_000
SAMPLE_LINES = 8
PAGE_LATENCY = 0.25



@dataclass(frozen=True)
class Seeded:
    """What the demo put in the bucket, to compare the listing against."""

    objects: int
    bytes: int


@dataclass(frozen=True)
class DemoResult:
    """The outcome: what was seeded, what the listing saw, and whether they agree."""

    seeded: Seeded
    summary: Any
    key_ids_used: int
    """Distinct AccessKeyIds OSS saw: credentials rotated underneath the listing."""
    invalid_requests: int
    """Requests signed with an unknown or expired set (must be 0)."""
    elapsed: float

    @property
    def matches(self) -> bool:
        exact = self.summary.objects == self.seeded.objects and self.summary.bytes == self.seeded.bytes
        return exact and self.invalid_requests == 0


class _SampleStream(io.TextIOBase):
    """A text sink that keeps the first few lines and drops the rest (the demo prints a sample)."""

    def __init__(self, lines: int) -> None:
        self._wanted = lines
        self._buffer: list[str] = []
        self._seen = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._seen < self._wanted:
            self._buffer.append(text)
            self._seen += text.count("\n")
        return len(text)

    def sample(self) -> list[str]:
        return "".join(self._buffer).splitlines()[: self._wanted]


def _start_emulator() -> Any:
    from osslist.emulator import Emulator, EmulatorConfig

    # Credentials live 4 s and rotate 2 s before expiry; a little latency per page makes the
    # listing outlast a few of them, so the refresh path runs as it would over hours in a pod.
    config = EmulatorConfig(metadata_mode="required", credential_lifetime=4.0, rotation_window=2.0)
    emulator = Emulator(config)
    emulator.faults.oss_latency = PAGE_LATENCY
    emulator.start()
    return emulator


def run_demo(
    *, objects: int = DEFAULT_OBJECTS, out: TextIO, sample_lines: int = SAMPLE_LINES, on_page: Callable[[int], None] | None = None
) -> DemoResult:
    """Seed, list through the real path, print a sample and the summary to ``out``."""
    started = time.monotonic()
    emulator = _start_emulator()
    try:
        # The emulator's synthetic bucket: logs, images, backups, data files under dated
        # prefixes, log-normal sizes, a realistic mix of storage classes and object types.
        seeded = Seeded(objects=objects, bytes=emulator.seed(DEMO_BUCKET, objects, seed=7))
        _say(out, f"emulator on 127.0.0.1: metadata {emulator.metadata_url}, OSS {emulator.oss_endpoint}")
        _say(
            out,
            f"metadata server in hardened mode (token required); STS credentials live "
            f"{emulator.config.credential_lifetime:g} s; each OSS page is delayed {PAGE_LATENCY:g} s so they "
            "rotate during the listing",
        )
        _say(out, f"seeded {seeded.objects:,} objects, {seeded.bytes:,} bytes in bucket {DEMO_BUCKET}")
        environ = {**os.environ, "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url}
        job = jobs.ListJob(
            connection=jobs.Connection(
                bucket=DEMO_BUCKET, endpoint=emulator.oss_endpoint, region="cn-hangzhou", credentials="metadata"
            ),
            output=jobs.OutputOptions(format="long", human=True),
        )
        sample = _SampleStream(sample_lines)
        summary = runner.run(jobs.prepare(job, environ=environ), stream=sample, on_page=on_page)
        signed = emulator.requests_for("oss")
        key_ids = len({r.access_key_id for r in signed})
        invalid = sum(1 for r in signed if r.credentials_valid is False)
    finally:
        emulator.stop()
    result = DemoResult(
        seeded=seeded,
        summary=summary,
        key_ids_used=key_ids,
        invalid_requests=invalid,
        elapsed=time.monotonic() - started,
    )
    _report(out, result, sample.sample())
    return result


def _say(out: TextIO, line: str = "") -> None:
    out.write(line + "\n")


def _report(out: TextIO, result: DemoResult, sample: list[str]) -> None:
    _say(out, f"\nfirst {len(sample)} objects (osslist --format long --human-readable):")
    for line in sample:
        _say(out, "  " + line)
    _say(out, "\nsummary:")
    for line in result.summary.to_text().splitlines():
        _say(out, "  " + line)
    verdict = "MATCHES" if result.matches else "DOES NOT MATCH"
    _say(
        out,
        f"\nlisted {result.summary.objects:,} objects, {result.summary.bytes:,} bytes: {verdict} the "
        f"{result.seeded.objects:,} objects, {result.seeded.bytes:,} bytes seeded "
        f"in {result.elapsed:.1f} s",
    )
    _say(
        out,
        f"OSS saw {result.key_ids_used} successive STS credential sets from the metadata server and "
        f"{result.invalid_requests} requests signed with an expired or unknown one",
    )
