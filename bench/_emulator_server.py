"""The benchmark's emulator, in its own process so its CPU never mixes with a contender's.

Run as a script by ``_harness.EmulatorProcess``. It seeds the buckets named on the command line
(``--bucket NAME=N``, the same synthetic objects for the same seed) and the versioned ones
(``--versioned NAME=N``: versioning enabled, then those same N objects written once each, so every
key has one version with a real version id, as in a bucket versioned from the start), prints one
JSON line with its endpoints, then obeys one command per line on stdin, answering each with a line:

    latency SECONDS   set the per-request OSS latency (scenarios switch without reseeding)
    quit              stop and exit (EOF on stdin does the same)

The request log is off so the server keeps flat memory over millions of requests.
"""

from __future__ import annotations

import argparse
import json
import sys

from osslist.emulator import Emulator, EmulatorConfig
from osslist.emulator.seeding import synthetic_objects
from osslist.emulator.state import STORAGE_CLASSES


def _bucket_arg(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if not name or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=COUNT, got {text!r}")
    return name, int(count)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bucket", type=_bucket_arg, action="append", default=[], help="NAME=OBJECTS to seed")
    parser.add_argument(
        "--versioned", type=_bucket_arg, action="append", default=[], help="NAME=OBJECTS to seed, one version each"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def seed_versioned(emu: Emulator, name: str, count: int, *, seed: int) -> int:
    """A versioned bucket holding the objects ``emu.seed(name, count, seed=seed)`` would make
    (keys, sizes, dates, storage classes), each written once with versioning on. Returns their
    total size."""
    keys, sizes, mtimes, classes, _types = synthetic_objects(count, seed=seed)
    emu.create_bucket(name)
    emu.set_versioning(name, "Enabled")
    for key, size, mtime, klass in zip(keys, sizes, mtimes, classes):
        emu.seed_versions(name, key, 1, start=mtime, size=size, storage_class=STORAGE_CLASSES[klass])
    return sum(sizes)


def _serve_commands(emu: Emulator) -> None:
    """Apply stdin commands until ``quit`` or EOF."""
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "latency":
            emu.faults.oss_latency = float(arg)
        elif command == "quit":
            break
        print("ok" if command == "latency" else f"unknown command {command!r}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    emu = Emulator(EmulatorConfig(log_requests=False))
    totals = {name: emu.seed(name, count, seed=args.seed) for name, count in args.bucket}
    totals |= {name: seed_versioned(emu, name, count, seed=args.seed) for name, count in args.versioned}
    with emu:
        ready = {"metadata": emu.metadata_url, "oss": emu.oss_endpoint, "buckets": totals}
        print(json.dumps(ready), flush=True)
        _serve_commands(emu)


if __name__ == "__main__":
    main()
