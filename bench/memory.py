"""Memory benchmark: peak RSS of osslist listing 10,000 vs 1,000,000 objects, side by side.

    python bench/memory.py                  # 10,000 vs 1,000,000 objects (~1 min)
    python bench/memory.py --quick          # 300 vs 3,000: seconds, for the smoke test

Issue 4: output is streamed page by page, so memory must not grow with the object count. Both
runs use the same command (sequential, ``--format jsonl --output FILE``, metadata credentials)
against one emulator process; peak RSS is the child's ru_maxrss from os.wait4. Target: the
large listing's peak within 20 MB of the small one's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

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


def measure_all(sizes: dict[str, int]) -> list[h.Measurement]:
    """osslist sequential, jsonl to a file, on each bucket in turn."""
    results = []
    with h.EmulatorProcess(buckets=sizes) as emu, tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        env = h.metadata_env(emu)
        for bucket, count in sizes.items():
            h.progress(f"  osslist --format jsonl [{bucket}: {count:,} objects] ...")
            output = Path(tmp, f"{bucket}.jsonl")
            argv = h.osslist_argv(emu, bucket, output, fmt="jsonl")
            results.append(h.measure(bucket, argv, env=env, expected=count, output=output))
            output.unlink(missing_ok=True)
    return results


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


def main(argv: list[str] | None = None) -> int:
    small_n, large_n = parse_args(argv)
    sizes = {"bench-mem-small": small_n, "bench-mem-large": large_n}
    h.progress(f"seeding the emulator: {sizes}")
    small, large = measure_all(sizes)
    print("\n".join(report(small, large)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
