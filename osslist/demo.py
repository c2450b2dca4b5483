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
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

from osslist import job as jobs

DEMO_BUCKET = "osslist-demo"
DEFAULT_OBJECTS = 20_000
SAMPLE_LINES = 8
_EPOCH_2024 = 1_704_067_200

# (prefix template, extension, size range in bytes, storage classes with weights)
_FAMILIES: tuple[tuple[str, str, tuple[int, int], tuple[tuple[str, int], ...]], ...] = (
    ("logs/app-{a}/2024/{m:02d}/{d:02d}/", ".log.gz", (2_000, 4_000_000), (("Standard", 3), ("IA", 1))),
    ("images/{a}/", ".jpg", (40_000, 6_000_000), (("Standard", 5), ("IA", 1))),
    ("backups/db-{a}/", ".tar.zst", (50_000_000, 900_000_000), (("Archive", 2), ("ColdArchive", 1))),
    ("data/events/year=2024/month={m:02d}/", ".parquet", (1_000_000, 120_000_000), (("Standard", 1), ("IA", 1))),
    ("archive/{a}/", ".bin", (1_000, 20_000_000), (("DeepColdArchive", 1), ("ColdArchive", 1))),
)


@dataclass
class Seeded:
    """What the demo put in the bucket, to compare the listing against."""

    objects: int = 0
    bytes: int = 0
    per_class: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoResult:
    """The outcome: what was seeded, what the listing saw, and whether they agree."""

    seeded: Seeded
    summary: Any
    key_ids_issued: int
    elapsed: float

    @property
    def matches(self) -> bool:
        return self.summary.objects == self.seeded.objects and self.summary.bytes == self.seeded.bytes


def seed_bucket(emulator: Any, bucket: str, count: int, *, seed: int = 7) -> Seeded:
    """Put ``count`` realistic objects into ``bucket`` and return their totals."""
    rng = random.Random(seed)
    seeded = Seeded()
    keys: set[str] = set()
    while len(keys) < count:
        template, ext, (lo, hi), classes = rng.choice(_FAMILIES)
        prefix = template.format(a=rng.choice("abcdef"), m=rng.randint(1, 12), d=rng.randint(1, 28))
        key = f"{prefix}{rng.getrandbits(40):010x}{ext}"
        if key in keys:
            continue
        keys.add(key)
        size = rng.randint(lo, hi)
        storage_class = rng.choices([c for c, _ in classes], weights=[w for _, w in classes])[0]
        emulator.put_object(
            bucket,
            key,
            size=size,
            storage_class=storage_class,
            last_modified=_EPOCH_2024 + rng.randint(0, 365 * 86400),
        )
        seeded.objects += 1
        seeded.bytes += size
        seeded.per_class[storage_class] = seeded.per_class.get(storage_class, 0) + 1
    return seeded


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

    config = EmulatorConfig(metadata_mode="required", credential_lifetime=6.0, rotation_window=3.0)
    emulator = Emulator(config)
    emulator.start()
    return emulator


def run_demo(
    *, objects: int = DEFAULT_OBJECTS, out: TextIO, sample_lines: int = SAMPLE_LINES, on_page: Callable[[int], None] | None = None
) -> DemoResult:
    """Seed, list through the real path, print a sample and the summary to ``out``."""
    started = time.monotonic()
    emulator = _start_emulator()
    try:
        emulator.create_bucket(DEMO_BUCKET)
        seeded = seed_bucket(emulator, DEMO_BUCKET, objects)
        _say(out, f"emulator on 127.0.0.1: metadata {emulator.metadata_url}, OSS {emulator.oss_endpoint}")
        _say(out, f"seeded {seeded.objects:,} objects, {seeded.bytes:,} bytes in bucket {DEMO_BUCKET}")
        environ = {**os.environ, "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url}
        job = jobs.ListJob(
            connection=jobs.Connection(bucket=DEMO_BUCKET, endpoint=emulator.oss_endpoint, credentials="metadata"),
            output=jobs.OutputOptions(format="long", human=True),
        )
        sample = _SampleStream(sample_lines)
        summary = jobs.run(jobs.prepare(job, environ=environ), stream=sample, on_page=on_page)
        key_ids = len({c.access_key_id for c in emulator.issued_credentials})
    finally:
        emulator.stop()
    result = DemoResult(seeded=seeded, summary=summary, key_ids_issued=key_ids, elapsed=time.monotonic() - started)
    _report(out, result, sample.sample())
    return result


def _say(out: TextIO, line: str = "") -> None:
    out.write(line + "\n")


def _report(out: TextIO, result: DemoResult, sample: list[str]) -> None:
    _say(out, f"\nfirst {len(sample)} objects (osslist --format long -h):")
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
        f"({result.key_ids_issued} credential sets issued by the metadata server; {result.elapsed:.1f} s in all)",
    )
