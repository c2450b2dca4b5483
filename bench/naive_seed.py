"""The seed's listing ported naively to Python: what osslist is measured against.

The seed (Alibaba's ECI page, in Go) curls the role name and then the credentials from the
metadata server, builds a client with that one STS set, and pages with ``ListObjects`` and a
marker at the SDK's default page size, printing each key. This is the same thing with oss2:
a plain HTTP GET for the role and the credentials document, ``oss2.StsAuth``, ``oss2.Bucket``
and ``oss2.ObjectIterator(bucket)`` with its default page size (100), ``print(key)``.

    python bench/naive_seed.py --metadata URL --endpoint URL --bucket B > keys.txt

It deliberately keeps the seed's shape (no retries beyond oss2's, no refresh, no lean parser):
that is the baseline. Printing the bare key (not the seed's ``log.Println`` line) is the
cheapest output it could have, so the comparison never flatters osslist.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request

import oss2

CREDENTIALS_PATH = "/latest/meta-data/ram/security-credentials/"


def fetch_credentials(metadata: str) -> dict[str, str]:
    """Role name, then its credentials document, each with one plain GET (as the seed's curl)."""
    base = metadata.rstrip("/") + CREDENTIALS_PATH
    with urllib.request.urlopen(base, timeout=10) as response:
        role = response.read().decode().strip()
    with urllib.request.urlopen(base + role, timeout=10) as response:
        return json.loads(response.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metadata", required=True, help="metadata server base URL (the emulator's)")
    parser.add_argument("--endpoint", required=True, help="OSS endpoint URL (the emulator's)")
    parser.add_argument("--bucket", required=True)
    args = parser.parse_args(argv)
    creds = fetch_credentials(args.metadata)
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    bucket = oss2.Bucket(auth, args.endpoint, args.bucket)
    for obj in oss2.ObjectIterator(bucket):
        print(obj.key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
