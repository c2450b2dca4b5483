"""Listing benchmark: the seed's approach ported naively vs osslist, sequential and parallel.

    python bench/listing.py                 # 1,000,000 objects, 0 ms and 50 ms scenarios (~5-10 min)
    python bench/listing.py --quick         # tiny buckets, seconds: checks the bench itself works
    python bench/listing.py --variants-only # just the slow-latency plain row and the variant rows

One emulator process (seeded once, latency switched per scenario) serves every contender; each
contender is its own process writing keys to a file, measured with os.wait4 (wall time, client
CPU user+sys, peak RSS) and checked for the exact object count. One table, then the ratios of
issue 6's targets.

Variants (CONTRIBUTING's rule: a new output, source or command that handles every record keeps a
listing within 10% of the plain listing's throughput at 50 ms): at the slow latency the plain
sequential listing and each variant -- ``--output oss://...jsonl.gz``, ``--format oss-inventory``
into ``oss://``, ``--all-versions`` over a versioned bucket holding the same objects with one
version each -- run round after round in turn (so a burst of load on the shared machine hits
them alike), and each variant's objects/s over the plain row's is a PASS/FAIL verdict against
0.9x. Runs into ``oss://`` are counted from their ``--summary-json``.

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
VERSIONED, REPORTS = "bench-versioned", "bench-reports"
NAIVE = "naive seed port"
VARIANT_FLOOR = 0.9
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
    variants: tuple[str, ...] = ()
    variants_only: bool = False


@dataclass(frozen=True)
class Variant:
    """A sequential listing measured against the plain one: its label in the table, the bucket
    it lists, its --format, the name it writes into the report bucket (``oss_name``: the run's
    --output is ``oss://REPORTS/<run number>/<oss_name>``, counted by --summary-json; None: a
    local file) and any further options."""

    label: str
    bucket: str
    fmt: str = "text"
    oss_name: str | None = None
    extra: tuple[str, ...] = ()

    def output(self, run: int, local: Path) -> Path | str:
        """Where run number ``run`` writes (a fresh place each run: an inventory refuses a
        prefix whose manifest names other files)."""
        return local if self.oss_name is None else f"oss://{REPORTS}/{run}/{self.oss_name}"


VARIANTS = {
    "oss": Variant("osslist --output oss://…jsonl.gz", BIG, "jsonl", "x.jsonl.gz"),
    "inventory": Variant("osslist --format oss-inventory", BIG, "oss-inventory", "inventory/"),
    "versions": Variant("osslist --all-versions", VERSIONED, extra=("--all-versions",)),
}
"""``--variants`` names. Labels stay short for the table; the header spells out each command."""


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
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), type=_variant_names,
        help=f"comma-separated variants measured next to the plain listing at the slow latency "
             f"({', '.join(VARIANTS)}; '' for none)",
    )
    parser.add_argument(
        "--variants-only", action="store_true",
        help="only the slow-latency plain osslist row and the variant rows (no naive port, 0 ms or --parallel)",
    )
    args = parser.parse_args(argv)
    parallel = tuple(int(n) for n in args.parallel.split(",") if n.strip())
    common = {"parallel": parallel, "repeat": max(args.repeat, 1), "variants": args.variants,
              "variants_only": args.variants_only}
    if args.quick:
        return Settings(objects=3000, naive_slow_objects=1000, small_objects=300, latency_ms=5.0, **common)
    return Settings(
        objects=args.objects,
        naive_slow_objects=args.naive_slow_objects,
        small_objects=args.small_objects,
        latency_ms=args.latency_ms,
        **common,
    )


def _variant_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown variant {unknown[0]!r} (choose from {', '.join(VARIANTS)})")
    return names


def osslist_label(parallel: int) -> str:
    return "osslist" if parallel == 1 else f"osslist --parallel {parallel}"


class Runner:
    """Runs contenders against one emulator process, each with a fresh output file."""

    def __init__(self, emu: h.EmulatorProcess, sizes: dict[str, int], tmp: Path, *, repeat: int = 1) -> None:
        self._emu, self._sizes, self._tmp = emu, sizes, tmp
        self._env = h.metadata_env(emu)
        self._repeat = repeat
        self._runs = 0

    def naive(self, bucket: str) -> h.Measurement:
        label = NAIVE
        h.progress(f"  {label} [{bucket}] ...")
        argv = h.naive_argv(self._emu, bucket)
        return h.measure(label, argv, env=self._env, expected=self._sizes[bucket], server=self._emu)

    def osslist(self, bucket: str, parallel: int = 1) -> h.Measurement:
        """The contender run ``repeat`` times: medians of wall, CPU and server CPU, the peak RSS."""
        return combine([self._osslist_once(bucket, parallel) for _ in range(self._repeat)])

    def side_by_side(self, variants: list[Variant]) -> list[h.Measurement]:
        """The plain sequential listing of BIG and each variant, taken in turn ``repeat`` rounds
        (never one contender's runs back to back), each combined like ``osslist``."""
        plain = Variant(osslist_label(1), BIG)
        rounds = [[self._variant_once(v) for v in (plain, *variants)] for _ in range(self._repeat)]
        return [combine(list(runs)) for runs in zip(*rounds)]

    def _osslist_once(self, bucket: str, parallel: int) -> h.Measurement:
        return self._variant_once(Variant(osslist_label(parallel), bucket), parallel)

    def _variant_once(self, variant: Variant, parallel: int = 1) -> h.Measurement:
        h.progress(f"  {variant.label} [{variant.bucket}] ...")
        output = self._tmp / "out.txt"
        expected = self._sizes[variant.bucket]
        self._runs += 1
        try:
            argv = h.osslist_argv(self._emu, variant.bucket, variant.output(self._runs, output), parallel=parallel,
                                  fmt=variant.fmt, extra=variant.extra)
            if variant.oss_name:
                return h.measure_by_summary(variant.label, argv, env=self._env, expected=expected,
                                            summary=self._tmp / "summary.json", server=self._emu)
            return h.measure(variant.label, argv, env=self._env, expected=expected, output=output, server=self._emu)
        finally:
            output.unlink(missing_ok=True)


def combine(runs: list[h.Measurement]) -> h.Measurement:
    """One row from repeated runs: medians of wall, CPU and server CPU, the peak RSS (the first
    failed run instead, when one failed)."""
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


def run_scenarios(settings: Settings, runner: Runner, emu: h.EmulatorProcess) -> tuple[list[Row], h.Measurement | None]:
    """0 ms then the slow latency: naive, osslist sequential (at the slow latency side by side
    with the variants), osslist --parallel N; plus the small-bucket --parallel 8 run that is the
    peak-RSS baseline. ``variants_only``: the slow latency's sequential and variant rows alone."""
    if settings.variants_only:
        emu.set_latency(settings.latency_ms / 1000)
        h.progress(f"scenario: {settings.latency_ms:g} ms per OSS request, the plain listing and its variants")
        return [Row(settings.latency_ms, m) for m in runner.side_by_side(variant_list(settings))], None
    rows: list[Row] = []
    for latency_ms, naive_bucket in ((0.0, BIG), (settings.latency_ms, SLOW)):
        h.progress(f"scenario: {latency_ms:g} ms per OSS request")
        emu.set_latency(latency_ms / 1000)
        rows.append(Row(latency_ms, runner.naive(naive_bucket)))
        if latency_ms == settings.latency_ms:
            rows.extend(Row(latency_ms, m) for m in runner.side_by_side(variant_list(settings)))
        else:
            rows.append(Row(latency_ms, runner.osslist(BIG)))
        rows.extend(Row(latency_ms, runner.osslist(BIG, n)) for n in settings.parallel)
    if 8 not in settings.parallel:
        return rows, None
    emu.set_latency(0.0)
    h.progress("peak-RSS baseline: osslist --parallel 8 on the small bucket, 0 ms")
    return rows, runner.osslist(SMALL, 8)


def variant_command(variant: Variant) -> str:
    """What a variant row runs, beyond the plain row's options."""
    output = str(variant.output(0, Path("FILE"))).replace("/0/", "/N/")
    return " ".join(["osslist", "--format", variant.fmt, "--output", output, *variant.extra, f"[{variant.bucket}]"])


def variant_list(settings: Settings) -> list[Variant]:
    return [VARIANTS[name] for name in settings.variants]


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


def variant_lines(rows: list[Row], settings: Settings) -> list[str]:
    """Each variant's objects/s over the plain sequential listing's, at the slow latency."""
    slow = settings.latency_ms
    plain = _figure(find(rows, slow, osslist_label(1)), "rate")
    return [
        h.target_line(f"{slow:g} ms: {v.label} / osslist (objects/s)",
                      h.ratio(_figure(find(rows, slow, v.label), "rate"), plain), at_least=VARIANT_FLOOR,
                      words=("PASS", "FAIL"))
        for v in variant_list(settings)
    ]


def bucket_sizes(settings: Settings) -> tuple[dict[str, int], dict[str, int]]:
    """The plain and the versioned buckets the selected rows list (name -> objects)."""
    plain = {BIG: settings.objects}
    if not settings.variants_only:
        plain |= {SLOW: settings.naive_slow_objects, SMALL: settings.small_objects}
    variants = variant_list(settings)
    if any(v.oss_name for v in variants):
        plain[REPORTS] = 0
    return plain, {VERSIONED: settings.objects} if any(v.bucket == VERSIONED for v in variants) else {}


def header(settings: Settings) -> str:
    variants = variant_list(settings)
    sizes, versioned = bucket_sizes(settings)
    notes = {SLOW: f" (naive at {settings.latency_ms:g} ms)", VERSIONED: " (the same objects, one version each)"}
    buckets = ", ".join(f"{name}={count:,}{notes.get(name, '')}" for name, count in (sizes | versioned).items()
                        if name != REPORTS)
    return (
        f"$ python bench/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}\n"
        f"osslist listing benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"emulator in its own process on 127.0.0.1; buckets {buckets}. CPU = client user+sys; RSS = client peak; "
        f"emulator CPU = the server's CPU during the row (near wall s: the server was the bound).\n"
        + ("" if settings.variants_only else
           f"naive seed port = the seed's loop in oss2: one metadata credential fetch, StsAuth, "
           f"ObjectIterator at its default 100 keys/page, print(key). Last row: the peak-RSS baseline ({SMALL}). ")
        + "osslist = its CLI, metadata credentials, text output to a file."
        + (f"\nVariants at {settings.latency_ms:g} ms, taken in turn with the plain osslist row: "
           + "; ".join(variant_command(v) for v in variants) + "." if variants else "")
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    sizes, versioned = bucket_sizes(settings)
    h.progress(f"seeding the emulator: {sizes}, versioned {versioned}")
    with h.EmulatorProcess(buckets=sizes, versioned=versioned) as emu, \
            tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        runner = Runner(emu, sizes | versioned, Path(tmp), repeat=settings.repeat)
        rows, baseline = run_scenarios(settings, runner, emu)
    print(header(settings))
    print()
    print(table(rows, baseline))
    for line in h.failures([row.measurement for row in rows] + ([baseline] if baseline else [])):
        print(line)
    if not settings.variants_only:
        print()
        print(f"Targets (issues 6 and 9; osslist rows: medians of {settings.repeat} runs):")
        print("\n".join(f"  {line}" for line in target_lines(rows, baseline, settings)))
    if settings.variants:
        print()
        print(f"Variants (CONTRIBUTING: within 10% of the plain listing's objects/s; medians of {settings.repeat} "
              f"rounds):")
        print("\n".join(f"  {line}" for line in variant_lines(rows, settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
