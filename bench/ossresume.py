"""Resume benchmark: a listing into `--output oss://...` with `--checkpoint oss://...`, its pods
killed with SIGKILL at random moments, each rerun from a fresh empty working directory and HOME.

    python bench/ossresume.py                        # 1,000,000 objects, 10 kills (minutes; a quiet machine)
    python bench/ossresume.py --quick                # 20,000 objects, 3 kills: seconds, for the smoke test
    python bench/ossresume.py --parallel 8           # the same with --parallel 8 (or --shard-index 1 --shard-count 3)
    python bench/ossresume.py --inventory            # --format oss-inventory (data files of --file-size) instead

Issue 11 point 2: killed at any instant, the finished object holds every record exactly once, in
order. The verdict line says PASS when the report (gunzipped) equals a plain local listing byte for
byte and `osslist uploads` finds no multipart upload left in the report bucket; it also says how many
kills landed mid-run (a pod that finished before its kill does not count as one). With --inventory
(issue 12: the inventory is "resumable with --checkpoint like any OSS output") the report is an OSS
inventory, and PASS needs exactly one manifest and `osslist diff` of it against the plain listing to be
empty (its reader checks every data file's size and MD5, and the keys' order); with a shard, the
other shards then run unkilled (the manifest comes with the last) and the whole bucket is compared.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

h.ensure_osslist()

SOURCE, REPORTS = "src", "reports"
REPORT, CHECKPOINT = "run/objects.jsonl.gz", "run/checkpoint.json"
INVENTORY = "run/inventory/"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000, help="objects in the listed bucket")
    parser.add_argument("--kills", type=int, default=10, help="pods killed with SIGKILL before one finishes")
    parser.add_argument("--part-size", default="100K", help="--part-size of the report")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--shard-index", type=int)
    parser.add_argument("--shard-count", type=int)
    parser.add_argument("--seed", type=int, default=11, help="seed of the random kill moments")
    parser.add_argument("--inventory", action="store_true", help="--format oss-inventory instead of jsonl.gz")
    parser.add_argument("--file-size", default="4M", help="--file-size of the inventory's data files")
    parser.add_argument("--quick", action="store_true", help="20,000 objects, 3 kills: for the smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.objects, args.kills = 20_000, 3
    return args


def base_argv(emu: h.EmulatorProcess, args: argparse.Namespace, shard: int | None = None) -> list[str]:
    argv = [sys.executable, "-c", "from osslist.cli import main; main()", "ls", "--bucket", SOURCE,
            "--endpoint", emu.oss_endpoint, "--region", h.REGION, "--credentials", "metadata", "--no-progress",
            "--format", "jsonl"]
    if shard is not None:
        argv += ["--shard-index", str(shard), "--shard-count", str(args.shard_count)]
    return argv


def pod_argv(emu: h.EmulatorProcess, args: argparse.Namespace, shard: int | None = None) -> list[str]:
    output = ["--format", "oss-inventory", "--file-size", args.file_size, "--output", f"oss://{REPORTS}/{INVENTORY}"] \
        if args.inventory else ["--output", f"oss://{REPORTS}/{REPORT}"]
    return base_argv(emu, args, shard) + [
        "--parallel", str(args.parallel), "--part-size", args.part_size, *output,
        "--checkpoint", f"oss://{REPORTS}/{CHECKPOINT if shard is None else CHECKPOINT.replace('.json', f'-{shard}.json')}",
    ]


def finish_other_shards(emu: h.EmulatorProcess, env: dict[str, str], args: argparse.Namespace) -> bool:
    """An inventory's manifest comes with the last shard: the other shards run to the end, unkilled."""
    others = [i for i in range(args.shard_count) if i != args.shard_index]
    return all(subprocess.run(pod_argv(emu, args, i), env=env, capture_output=True).returncode == 0 for i in others)


def start_pod(argv: list[str], env: dict[str, str], root: Path, number: int) -> subprocess.Popen[bytes]:
    """A new pod: a fresh empty working directory and HOME, nothing local from earlier pods."""
    pod = root / f"pod{number}"
    (pod / "home").mkdir(parents=True)
    return subprocess.Popen(argv, cwd=pod, env={**env, "HOME": str(pod / "home")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def osslist_output(emu: h.EmulatorProcess, env: dict[str, str], *argv: str) -> bytes:
    command = [sys.executable, "-c", "from osslist.cli import main; main()", *argv,
               "--endpoint", emu.oss_endpoint, "--region", h.REGION, "--credentials", "metadata"]
    return subprocess.run(command, env=env, capture_output=True, check=True).stdout


def same_report(emu: h.EmulatorProcess, env: dict[str, str], plain: bytes, _tmp: Path) -> tuple[bool, str]:
    """The jsonl.gz report, gunzipped, equals the plain listing byte for byte."""
    report = osslist_output(emu, env, "cat", f"oss://{REPORTS}/{REPORT}")  # cat gunzips .gz
    return report == plain, f"{len(report):,} vs {len(plain):,} bytes"


def same_inventory(emu: h.EmulatorProcess, env: dict[str, str], plain: bytes, tmp: Path) -> tuple[bool, str]:
    """One manifest, and `osslist diff` of it against the plain listing finds nothing (exit 0)."""
    keys = osslist_output(emu, env, "ls", "--bucket", REPORTS, "--prefix", INVENTORY).decode().splitlines()
    manifests = [k for k in keys if k.endswith("/manifest.json")]
    files = [k for k in keys if "/data/" in k]
    if len(manifests) != 1:
        return False, f"{len(manifests)} manifests"
    (tmp / "plain.jsonl").write_bytes(plain)
    command = [sys.executable, "-c", "from osslist.cli import main; main()", "diff", str(tmp / "plain.jsonl"),
               f"oss://{REPORTS}/{manifests[0]}", "--endpoint", emu.oss_endpoint, "--region", h.REGION,
               "--credentials", "metadata"]
    diff = subprocess.run(command, env=env, capture_output=True)
    return diff.returncode == 0, f"{len(files)} data files, diff exit {diff.returncode}: {diff.stderr.decode()[-200:]!r}"


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    with h.EmulatorProcess(buckets={SOURCE: args.objects, REPORTS: 0}) as emu, \
            tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        env = h.metadata_env(emu)
        h.progress(f"  plain listing of {args.objects:,} objects ...")
        started = time.monotonic()
        whole = args.inventory  # an inventory's manifest covers every shard: compared with the whole bucket
        plain = subprocess.run(base_argv(emu, args, None if whole else args.shard_index), env=env, capture_output=True,
                               check=True).stdout
        window = max(1.0, (time.monotonic() - started) * 1.5 / max(args.kills, 1))
        mid_run, argv = 0, pod_argv(emu, args, args.shard_index)
        for number in range(args.kills):
            pod = start_pod(argv, env, Path(tmp), number)
            time.sleep(rng.uniform(0.5, window))
            mid_run += pod.poll() is None
            pod.send_signal(signal.SIGKILL)
            pod.wait()
            h.progress(f"  pod {number} killed")
        last = start_pod(argv, env, Path(tmp), args.kills)
        _, err = last.communicate()
        others_ok = args.shard_index is None or not args.inventory or finish_other_shards(emu, env, args)
        same, sizes = (same_inventory if args.inventory else same_report)(emu, env, plain, Path(tmp))
        left = osslist_output(emu, env, "uploads", "--bucket", REPORTS, "--format", "jsonl")
    print(f"objects: {args.objects:,}, parallel {args.parallel}, shard {args.shard_index}, "
          f"{'inventory' if args.inventory else 'jsonl.gz'}, kills mid-run: {mid_run} of {args.kills}, "
          f"last pod exit {last.returncode}")
    print(f"report == plain listing: {same} ({sizes}); uploads left: {len(left.splitlines())}")
    passed = last.returncode == 0 and others_ok and same and not left.strip()
    print(f"verdict: {'PASS' if passed else 'FAIL'}")
    if last.returncode != 0:
        print(err.decode(errors="replace")[-500:], file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
