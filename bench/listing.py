"""Listing benchmark: the seed's approach ported naively vs osslist, sequential and parallel.

    python bench/listing.py                 # 1,000,000 objects, 0 ms and 50 ms scenarios (~5-10 min)
    python bench/listing.py --quick         # tiny buckets, seconds: checks the bench itself works

One emulator process (seeded once, latency switched per scenario) serves every contender; each
contender is its own process writing keys to a file, measured with os.wait4 (wall time, client
CPU user+sys, peak RSS) and checked for the exact object count. One table, then the ratios of
issue 6's targets.

At 50 ms the naive port needs one 55 ms round trip per 100 keys (~10 minutes for a million), so
its 50 ms row lists a smaller bucket (``--naive-slow-objects``); every row says how many objects
it listed, and rates (objects/s) are what the ratios compare.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import _harness as h

h.ensure_osslist()

BIG, SLOW, SMALL = "bench-big", "bench-naive-slow", "bench-small"
NAIVE = "naive seed port"
HEADERS = ("latency", "contender", "objects listed", "wall s", "objects/s", "CPU s / 1M keys", "peak RSS MB", "emulator CPU s")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Bucket sizes, latency and parallelism of one benchmark run."""

    objects: int
    naive_slow_objects: int
    small_objects: int
    latency_ms: float
    parallel: tuple[int, ...]
    repeat: int = 1


@dataclass(frozen=True)
class Row:
    latency_ms: float
    measurement: h.Measurement


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000, help="objects in the main bucket")
    parser.add_argument(
        "--naive-slow-objects", type=int, default=100_000, help="objects the naive port lists at the slow latency"
    )
    parser.add_argument(
        "--small-objects", type=int, default=10_000, help="objects of the small bucket (the peak-RSS baseline)"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0, help="per-request OSS latency of the slow scenario")
    parser.add_argument("--parallel", default="2,4,8,16", help="comma-separated --parallel values to measure")
    parser.add_argument("--quick", action="store_true", help="tiny buckets and 5 ms: seconds, for the smoke test")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each osslist row; the row shows their medians (peak RSS: max)"
    )
    args = parser.parse_args(argv)
    parallel = tuple(int(n) for n in args.parallel.split(",") if n.strip())
    repeat = max(args.repeat, 1)
    if args.quick:
        return Settings(objects=3000, naive_slow_objects=1000, small_objects=300, latency_ms=5.0, parallel=parallel,
                        repeat=repeat)
    return Settings(
        objects=args.objects,
        naive_slow_objects=args.naive_slow_objects,
        small_objects=args.small_objects,
        latency_ms=args.latency_ms,
        parallel=parallel,
        repeat=repeat,
    )


def osslist_label(parallel: int) -> str:
    return "osslist" if parallel == 1 else f"osslist --parallel {parallel}"


class Runner:
    """Runs contenders against one emulator process, each with a fresh output file."""

    def __init__(self, emu: h.EmulatorProcess, sizes: dict[str, int], tmp: Path, *, repeat: int = 1) -> None:
        self._emu, self._sizes, self._tmp = emu, sizes, tmp
        self._env = h.metadata_env(emu)
        self._repeat = repeat

    def naive(self, bucket: str) -> h.Measurement:
        label = NAIVE
        h.progress(f"  {label} [{bucket}] ...")
        argv = h.naive_argv(self._emu, bucket)
        return h.measure(label, argv, env=self._env, expected=self._sizes[bucket], server=self._emu)

    def osslist(self, bucket: str, parallel: int = 1) -> h.Measurement:
        """The contender run ``repeat`` times: medians of wall, CPU and server CPU, the peak RSS."""
        runs = [self._osslist_once(bucket, parallel) for _ in range(self._repeat)]
        if len(runs) == 1 or not all(m.ok for m in runs):
            return next((m for m in runs if not m.ok), runs[0])
        return replace(
            runs[0],
            wall=statistics.median(m.wall for m in runs),
            cpu=statistics.median(m.cpu for m in runs),
            max_rss_kb=max(m.max_rss_kb for m in runs),
            server_cpu=None if any(m.server_cpu is None for m in runs) else statistics.median(
                m.server_cpu for m in runs if m.server_cpu is not None),
        )

    def _osslist_once(self, bucket: str, parallel: int) -> h.Measurement:
        label = osslist_label(parallel)
        h.progress(f"  {label} [{bucket}] ...")
        output = self._tmp / "out.txt"
        try:
            argv = h.osslist_argv(self._emu, bucket, output, parallel=parallel)
            return h.measure(
                label, argv, env=self._env, expected=self._sizes[bucket], output=output, server=self._emu
            )
        finally:
            output.unlink(missing_ok=True)


def run_scenarios(settings: Settings, runner: Runner, emu: h.EmulatorProcess) -> tuple[list[Row], h.Measurement | None]:
    """0 ms then the slow latency: naive, osslist sequential, osslist --parallel N; plus the
    small-bucket --parallel 8 run that is the peak-RSS baseline."""
    rows: list[Row] = []
    for latency_ms, naive_bucket in ((0.0, BIG), (settings.latency_ms, SLOW)):
        h.progress(f"scenario: {latency_ms:g} ms per OSS request")
        emu.set_latency(latency_ms / 1000)
        rows.append(Row(latency_ms, runner.naive(naive_bucket)))
        rows.append(Row(latency_ms, runner.osslist(BIG)))
        rows.extend(Row(latency_ms, runner.osslist(BIG, n)) for n in settings.parallel)
    if 8 not in settings.parallel:
        return rows, None
    emu.set_latency(0.0)
    h.progress("peak-RSS baseline: osslist --parallel 8 on the small bucket, 0 ms")
    return rows, runner.osslist(SMALL, 8)


def table(rows: list[Row], baseline: h.Measurement | None) -> str:
    def cells(latency_ms: float, m: h.Measurement) -> list[str]:
        return [
            f"{latency_ms:g} ms",
            m.label,
            f"{m.listed:,}",
            f"{m.wall:.1f}",
            h.fmt_number(m.rate, ",.0f"),
            h.fmt_number(m.cpu_per_million, ".1f"),
            h.fmt_number(m.rss_mb, ".1f"),
            h.fmt_number(m.server_cpu, ".1f"),
        ]

    body = [cells(row.latency_ms, row.measurement) for row in rows]
    if baseline is not None:
        body.append(cells(0.0, baseline))
    return h.render_table(HEADERS, body)


def find(rows: list[Row], latency_ms: float, label: str) -> h.Measurement | None:
    """The measurement of that contender at that latency (None when it was not run)."""
    for row in rows:
        if row.latency_ms == latency_ms and row.measurement.label == label:
            return row.measurement
    return None


def _figure(m: h.Measurement | None, attr: str) -> float | None:
    return None if m is None else getattr(m, attr)


def target_lines(rows: list[Row], baseline: h.Measurement | None, settings: Settings) -> list[str]:
    """Issue 6's four targets, each computed from this run's rows."""
    slow = settings.latency_ms
    naive_slow, seq_slow, p8_slow = (find(rows, slow, label) for label in (NAIVE, "osslist", osslist_label(8)))
    naive_fast, seq_fast, p8_fast = (find(rows, 0.0, label) for label in (NAIVE, "osslist", osslist_label(8)))
    return [
        h.target_line(
            f"{slow:g} ms: osslist sequential / naive (objects/s)",
            h.ratio(_figure(seq_slow, "rate"), _figure(naive_slow, "rate")),
            at_least=8,
        ),
        h.target_line(
            f"{slow:g} ms: osslist --parallel 8 / sequential (objects/s)",
            h.ratio(_figure(p8_slow, "rate"), _figure(seq_slow, "rate")),
            at_least=5,
        ),
        h.target_line(
            f"{slow:g} ms: osslist --parallel 8 / sequential (CPU per 1M keys)",
            h.ratio(_figure(p8_slow, "cpu_per_million"), _figure(seq_slow, "cpu_per_million")),
            at_most=1.1,
        ),
        h.target_line(
            "0 ms: osslist CPU per 1M keys / naive's",
            h.ratio(_figure(seq_fast, "cpu_per_million"), _figure(naive_fast, "cpu_per_million")),
            at_most=1 / 3,
        ),
        h.target_line(
            f"peak RSS --parallel 8: {settings.objects:,} objects / {settings.small_objects:,}",
            h.ratio(_figure(p8_fast, "rss_mb"), _figure(baseline, "rss_mb")),
            at_most=1.2,
        ),
    ]


def header(settings: Settings) -> str:
    return (
        f"$ python bench/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}\n"
        f"osslist listing benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"emulator in its own process on 127.0.0.1; buckets {BIG}={settings.objects:,}, "
        f"{SLOW}={settings.naive_slow_objects:,} (naive at {settings.latency_ms:g} ms), "
        f"{SMALL}={settings.small_objects:,}. CPU = client user+sys; RSS = client peak; "
        f"emulator CPU = the server's CPU during the row (near wall s: the server was the bound).\n"
        f"naive seed port = the seed's loop in oss2: one metadata credential fetch, StsAuth, "
        f"ObjectIterator at its default 100 keys/page, print(key). osslist = its CLI, metadata "
        f"credentials, text output to a file. Last row: the peak-RSS baseline ({SMALL})."
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    sizes = {BIG: settings.objects, SLOW: settings.naive_slow_objects, SMALL: settings.small_objects}
    h.progress(f"seeding the emulator: {sizes}")
    with h.EmulatorProcess(buckets=sizes) as emu, tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        rows, baseline = run_scenarios(settings, Runner(emu, sizes, Path(tmp), repeat=settings.repeat), emu)
    print(header(settings))
    print()
    print(table(rows, baseline))
    for line in h.failures([row.measurement for row in rows] + ([baseline] if baseline else [])):
        print(line)
    print()
    print(f"Targets (issues 6 and 9; osslist rows: medians of {settings.repeat} runs):")
    print("\n".join(f"  {line}" for line in target_lines(rows, baseline, settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
