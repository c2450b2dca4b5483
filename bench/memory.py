"""Memory benchmark: peak RSS of osslist listing 10,000 vs 1,000,000 objects, side by side,
and of `osslist diff` of two reports of each size.

    python bench/memory.py                  # 10,000 vs 1,000,000 objects (a few minutes)
    python bench/memory.py --quick          # 300 vs 3,000: seconds, for the smoke test

Issue 4: output is streamed page by page, so memory must not grow with the object count. Both
runs use the same command (sequential, ``--format jsonl --output FILE``, metadata credentials)
against one emulator process; peak RSS is the child's ru_maxrss from os.wait4. Target: the
large listing's peak within 20 MB of the small one's.

Issue 11: the same listing into ``--output oss://BUCKET/KEY.jsonl.gz`` (a multipart upload, default
8 MiB parts, gzip) must stay flat too: target, the large run's peak within 1.2x of the small one's.
The object count is checked in the run's --summary-json.

CONTRIBUTING's rule for every new output or source that handles every record: ``--format
oss-inventory`` into ``oss://BUCKET/PREFIX/`` (gzipped CSV data files, multipart, then the
manifest; counted by --summary-json) and ``--all-versions`` (ListObjectVersions over a versioned
bucket holding the same objects, one version each; jsonl to a file) stay flat too: target, the
large run's peak within 1.2x of the small one's.

Issue 12: ``osslist diff`` merges two reports in one pass, holding one key at a time. Two gzipped
jsonl reports per size (written here with osslist's own JsonlWriter: 1% of keys added, 1%
removed, 1% modified by size, ETag or storage class), diffed into a file. Target: the large
diff's peak RSS within 1.2x of the small one's.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import sys
import tempfile
from pathlib import Path
from typing import Callable

import _harness as h

h.ensure_osslist()

TARGET_MB = 20.0
HEADERS = ("bucket", "objects listed", "wall s", "CPU s", "peak RSS MB")


def parse_args(argv: list[str] | None = None) -> tuple[int, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="objects in the small bucket")
    parser.add_argument("--large", type=int, default=1_000_000, help="objects in the large bucket")
    parser.add_argument("--quick", action="store_true", help="300 vs 3,000 objects: seconds, for the smoke test")
    args = parser.parse_args(argv)
    return (300, 3000) if args.quick else (args.small, args.large)


@dataclasses.dataclass(frozen=True)
class Listings:
    """The peak-RSS pairs (small bucket, large bucket) measured against the emulator."""

    plain: list[h.Measurement]
    oss: list[h.Measurement]
    inventory: list[h.Measurement]
    versions: list[h.Measurement]


def versioned_name(bucket: str) -> str:
    """The versioned twin of a plain bucket (the same objects, one version each)."""
    return f"{bucket}-versioned"


def measure_all(sizes: dict[str, int]) -> Listings:
    """osslist sequential, jsonl to a file, on each bucket in turn; then into OSS, as an
    inventory into OSS, and --all-versions over the versioned twins."""
    versioned = {versioned_name(bucket): count for bucket, count in sizes.items()}
    with h.EmulatorProcess(buckets={**sizes, REPORTS_BUCKET: 0}, versioned=versioned) as emu, \
            tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        return Listings(
            plain=measure_files(emu, sizes, tmp),
            oss=measure_oss(emu, sizes, tmp),
            inventory=measure_inventory(emu, sizes, tmp),
            versions=measure_files(emu, versioned, tmp, extra=("--all-versions",)),
        )


def measure_files(emu: h.EmulatorProcess, sizes: dict[str, int], tmp: str, *,
                  extra: tuple[str, ...] = ()) -> list[h.Measurement]:
    """osslist sequential, jsonl to a file (lines counted), ``extra`` options added."""
    results = []
    env = h.metadata_env(emu)
    for bucket, count in sizes.items():
        h.progress(f"  osslist --format jsonl {' '.join(extra)} [{bucket}: {count:,} objects] ...")
        output = Path(tmp, f"{bucket}.jsonl")
        argv = h.osslist_argv(emu, bucket, output, fmt="jsonl", extra=extra)
        results.append(h.measure(bucket, argv, env=env, expected=count, output=output))
        output.unlink(missing_ok=True)
    return results


# --- --output oss:// --------------------------------------------------------------------------------

OSS_TARGET = 1.2
REPORTS_BUCKET = "bench-mem-reports"


def measure_oss(emu: h.EmulatorProcess, sizes: dict[str, int], tmp: str) -> list[h.Measurement]:
    """osslist sequential, jsonl gzipped into the emulator's report bucket; the object count
    is the one its --summary-json reports."""
    return measure_into_oss(emu, sizes, tmp, "jsonl", "oss://", lambda bucket: f"{bucket}.jsonl.gz")


def measure_inventory(emu: h.EmulatorProcess, sizes: dict[str, int], tmp: str) -> list[h.Measurement]:
    """osslist sequential, --format oss-inventory into a prefix of the report bucket."""
    return measure_into_oss(emu, sizes, tmp, "oss-inventory", "inventory", lambda bucket: f"{bucket}-inventory/")


def measure_into_oss(emu: h.EmulatorProcess, sizes: dict[str, int], tmp: str, fmt: str, tag: str,
                     target: Callable[[str], str]) -> list[h.Measurement]:
    """Each bucket listed in ``fmt`` into ``oss://REPORTS/<target(bucket)>``, counted by --summary-json."""
    results = []
    env = h.metadata_env(emu)
    for bucket, count in sizes.items():
        h.progress(f"  osslist --format {fmt} --output oss:// [{bucket}: {count:,} objects] ...")
        argv = h.osslist_argv(emu, bucket, f"oss://{REPORTS_BUCKET}/{target(bucket)}", fmt=fmt)
        results.append(h.measure_by_summary(f"{bucket} {tag}", argv, env=env, expected=count,
                                            summary=Path(tmp, f"{bucket}-summary.json")))
    return results


def pair_report(pair: list[h.Measurement], title: str, target: str) -> list[str]:
    """A small/large pair's table and its peak-RSS ratio line against 1.2x."""
    small, large = pair
    rows = [[m.label, f"{m.listed:,}", f"{m.wall:.1f}", f"{m.cpu:.1f}", h.fmt_number(m.rss_mb, ".1f")]
            for m in (small, large)]
    return ratio_section(title, h.render_table(HEADERS, rows), small, large,
                         f"{target} peak RSS {large.expected:,} / {small.expected:,} objects", OSS_TARGET)


def oss_report(listings: Listings) -> list[str]:
    return [
        *pair_report(listings.oss, "osslist --output oss:// peak RSS (sequential, --format jsonl, gzip, 8 MiB parts, "
                     "into the emulator)", "Target (issue 11): oss:// output"),
        *pair_report(listings.inventory, "osslist --format oss-inventory peak RSS (sequential, gzipped CSV data "
                     "files and manifest into oss:// in the emulator)", "Target (rule 4): oss-inventory"),
        *pair_report(listings.versions, "osslist --all-versions peak RSS (sequential, ListObjectVersions, one "
                     "version per key, --format jsonl --output FILE)", "Target (rule 4): --all-versions"),
    ]


def ratio_section(title: str, table: str, small: h.Measurement, large: h.Measurement, target: str,
                  at_most: float) -> list[str]:
    """A titled table and its peak-RSS ratio line (large / small) against ``at_most``."""
    return ["", title, "", table, *h.failures([small, large]), "",
            h.target_line(target, h.ratio(large.rss_mb, small.rss_mb), at_most=at_most)]


def report(small: h.Measurement, large: h.Measurement) -> list[str]:
    rows = [
        [m.label, f"{m.listed:,}", f"{m.wall:.1f}", f"{m.cpu:.1f}", h.fmt_number(m.rss_mb, ".1f")]
        for m in (small, large)
    ]
    growth = None if small.rss_mb is None or large.rss_mb is None else large.rss_mb - small.rss_mb
    verdict = "n/a" if growth is None else ("met" if growth <= TARGET_MB else "MISSED")
    return [
        f"$ python bench/memory.py {' '.join(sys.argv[1:])}",
        "osslist peak RSS (sequential, --format jsonl --output FILE, metadata credentials, emulator in "
        "its own process)",
        "",
        h.render_table(HEADERS, rows),
        *h.failures([small, large]),
        "",
        f"Target (issue 4): peak RSS grows by {h.fmt_number(growth, '+.1f')} MB from {small.listed:,} to "
        f"{large.listed:,} objects (target <= {TARGET_MB:g} MB): {verdict}",
    ]


# --- osslist diff ---------------------------------------------------------------------------------

DIFF_HEADERS = ("diff", "objects per report", "differences", "wall s", "CPU s", "peak RSS MB")
DIFF_TARGET = 1.2


def write_reports(directory: Path, count: int) -> tuple[Path, Path, int]:
    """Two gzipped jsonl reports in osslist's own format (its JsonlWriter) of ``count`` objects:
    NEW lacks 1% of OLD's keys, has 1% more, and 1% modified in turn by size, ETag and storage
    class. Returns (old, new, differences)."""
    from osslist.output import JsonlWriter
    from osslist.pages import ObjectRecord

    old_path, new_path = directory / f"old-{count}.jsonl.gz", directory / f"new-{count}.jsonl.gz"
    differences = 0
    with gzip.open(old_path, "wb", compresslevel=1) as old_file, gzip.open(new_path, "wb", compresslevel=1) as new_file:
        old, new = JsonlWriter(old_file), JsonlWriter(new_file)
        for index in range(count):
            record = ObjectRecord(f"k/{index:09d}", index, "2024-01-01T00:00:00.000Z", f"{index:032X}", "Standard", "Normal")
            kind = index % 100
            if kind != 1:
                old.write(record)
            if kind == 2:
                change = (index // 100) % 3
                record = ObjectRecord(record.key, record.size + (change == 0), record.last_modified,
                                      record.etag + ("X" if change == 1 else ""), "IA" if change == 2 else "Standard",
                                      "Normal")
            if kind != 0:
                new.write(record)
            differences += kind < 3
    return old_path, new_path, differences


def measure_diffs(sizes: list[int]) -> list[h.Measurement]:
    """`osslist diff OLD NEW --output FILE` on reports of each size (exit 1: they differ)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        for count in sizes:
            h.progress(f"  osslist diff [{count:,} objects per report] ...")
            old, new, differences = write_reports(Path(tmp), count)
            output = Path(tmp, "diff.jsonl")
            argv = [sys.executable, "-c", "from osslist.cli import main; main()", "diff", str(old), str(new),
                    "--output", str(output)]
            results.append(h.measure(f"diff-{count}", argv, env=h.child_env(), expected=differences, output=output,
                                     ok_status=(1,)))
            for path in (old, new, output):
                path.unlink(missing_ok=True)
    return results


def diff_report(small: h.Measurement, large: h.Measurement, sizes: list[int]) -> list[str]:
    rows = [
        [m.label, f"{count:,}", f"{m.listed:,}", f"{m.wall:.1f}", f"{m.cpu:.1f}", h.fmt_number(m.rss_mb, ".1f")]
        for m, count in zip((small, large), sizes)
    ]
    return ratio_section(
        "osslist diff peak RSS (two gzipped jsonl reports, 1% added, 1% removed, 1% modified, --output FILE)",
        h.render_table(DIFF_HEADERS, rows), small, large,
        f"Target (issue 12): diff peak RSS {sizes[1]:,} / {sizes[0]:,} objects", DIFF_TARGET)


def main(argv: list[str] | None = None) -> int:
    small_n, large_n = parse_args(argv)
    sizes = {"bench-mem-small": small_n, "bench-mem-large": large_n}
    h.progress(f"seeding the emulator: {sizes}")
    listings = measure_all(sizes)
    diff_small, diff_large = measure_diffs([small_n, large_n])
    print("\n".join([*report(*listings.plain), *oss_report(listings),
                     *diff_report(diff_small, diff_large, [small_n, large_n])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
