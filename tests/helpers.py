"""Helpers shared by several test modules: emulator clients, CLI result readers and child
processes, key shapes, fakes of the probes the sharding module sends, and the Dockerfile's
parser. Nothing here is a test."""

from __future__ import annotations

import bisect
import hashlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote
from xml.sax.saxutils import escape

import oss2.xml_utils

from click.testing import Result

from osslist.backoff import BackoffPolicy
from osslist.client import BucketClient, make_bucket_client
from osslist.emulator import Emulator
from osslist.errors import ListingError
from osslist.listing import Bound, Position
from osslist.pages import ObjectRecord, Page, PrefixRecord, parse_page, record_name
from osslist.ranges import KeyRange
from osslist.sources import resolve_provider

ROOT = Path(__file__).resolve().parent.parent

# --- secrets -------------------------------------------------------------------------------


def assert_no_credentials_in(text: str, emulator: Emulator, *, last_four: bool = False) -> None:
    """No credential the emulator issued is in ``text``: secret, token, key id (with
    ``last_four``, not even its last four characters), nor anything signed."""
    assert emulator.issued_credentials, "no credentials were issued: the check would prove nothing"
    assert "Signature" not in text and "security-token" not in text.lower()
    for creds in emulator.issued_credentials:
        assert creds.access_key_secret not in text and (creds.security_token or "\0") not in text
        assert creds.access_key_id[-4:] not in text if last_four else creds.access_key_id not in text


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


CLI_ARGV = [sys.executable, "-c", "from osslist.cli import main; main()"]
"""The CLI in a child process, for what CliRunner cannot fake: signals, kill -9, a closed or
full stdout, logging set up from scratch."""
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def child_env(emulator, **extra: str | None) -> dict[str, str]:
    """The environment of a CLI child process pointed at ``emulator``: this process's, less
    every credential, OSS_*, OSSLIST_* and proxy variable, plus :func:`clean_env`'s and ``extra``.
    OSSLIST_ENDPOINT is the emulator's unless ``extra`` says otherwise: pytest-socket does not
    guard a child process, so a forgotten --endpoint must still stay on loopback."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OSSLIST_", "ALIBABA_", "OSS_")) and k.lower() not in _PROXY_VARS}
    env.update({k: v for k, v in clean_env(emulator, **{"OSSLIST_ENDPOINT": emulator.oss_endpoint, **extra}).items()
                if v is not None})
    return env


def run_cli(args: list[str], env: dict[str, str], **run: Any) -> subprocess.CompletedProcess[str]:
    """The CLI run to its end in a child process (``env`` from :func:`child_env`), stderr
    captured as text; ``run`` passes more to subprocess.run (stdout, preexec_fn)."""
    return subprocess.run([*CLI_ARGV, *args], env=env, stderr=subprocess.PIPE, text=True, timeout=120, **run)


# --- time ----------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps (or a test advances
    it); every pause is recorded. Pass ``sleep=t.sleep, clock=t.clock``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- clients of the emulator ---------------------------------------------------------------

UPLOADS_BASE = 1_704_067_200
"""When start_uploads's first upload was initiated (2024-01-01, UTC)."""


def start_uploads(emu: Emulator, count: int, bucket: str = BUCKET) -> dict[tuple[str, str], tuple[int, int, int]]:
    """``count`` uploads (tricky keys first, several per key), k-th with k % 3 parts of 1..3
    bytes each, initiated a day apart; returns {(key, id): (parts, bytes, initiated)}."""
    emu.create_bucket(bucket)
    truth = {}
    # oss2's ListParts asks for no url encoding, so a key XML 1.0 cannot carry breaks its reply
    keys = [k for k in BODY_KEYS if "\x01" not in k]
    for k in range(count):
        key = keys[k] if k < len(keys) else f"up/{k % 300:04d}"
        initiated = UPLOADS_BASE + 86400 * k
        upload = emu.uploads.initiate(bucket, key, now=initiated, content_type="x", storage_class="Standard")
        sizes = [1 + (k + n) % 3 for n in range(k % 3)]
        for number, size in enumerate(sizes, start=1):
            emu.uploads.upload_part(bucket, key, upload.upload_id, number, b"x" * size, now=initiated)
        truth[(key, upload.upload_id)] = (len(sizes), sum(sizes), initiated)
    return truth


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


# --- an in-memory bucket listed range by range ------------------------------------------------


def Obj(key: str) -> ObjectRecord:
    return ObjectRecord(key, 1, "2024-06-22T13:13:58.000Z", "etag", "Standard", "Normal")


@dataclass
class RangeBucket:
    """Sorted keys plus OSS's v1 listing rules, listed range by range the way
    ``listing.iter_pages`` does (``list_range``); keys may change between pages."""

    keys: list[str]
    prefix: str = ""
    delimiter: str = ""
    max_keys: int = 10
    delay: dict[int, float] = field(default_factory=dict)  # origin-free: by range start
    fail_after: int | None = None
    requests: int = 0
    produced: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_page: Any = None

    def page_after(self, marker: str) -> tuple[list[Any], bool]:
        """One ListObjects page strictly after ``marker``."""
        with self.lock:
            self.requests += 1
            if self.fail_after is not None and self.requests > self.fail_after:
                raise ListingError("marker did not advance")
            keys = self.keys
            out: list[Any] = []
            for i in range(bisect.bisect_right(keys, marker), len(keys)):
                key = keys[i]
                if not key.startswith(self.prefix):
                    if key > self.prefix:
                        break
                    continue
                record: Any = Obj(key)
                cut = key.find(self.delimiter, len(self.prefix)) if self.delimiter else -1
                if cut != -1:
                    record = PrefixRecord(key[: cut + len(self.delimiter)])
                    if record.prefix <= marker or (out and out[-1] == record):
                        continue
                if len(out) == self.max_keys:
                    return out, True
                out.append(record)
            return out, False

    def list_range(
        self, key_range: KeyRange, position: Position | None, bound: Bound | None = None
    ) -> Iterator[tuple[Page, Position]]:
        """The contract of listing.iter_pages for one range (``bound``: its live end)."""
        if position is not None and position.done:
            return
        marker = position.marker if position is not None else key_range.start_after
        while True:
            pause = self.delay.get(key_range.start_after)
            if pause:
                time.sleep(pause)
            records, truncated = self.page_after(marker)
            end = key_range.end_before if bound is None or not records else bound(record_name(records[-1]))
            kept = [r for r in records if end is None or record_name(r) < end]
            done = not truncated or len(kept) < len(records) or not records
            if records:
                marker = record_name(records[-1])
            with self.lock:
                self.produced += 1
            if self.on_page is not None:
                self.on_page()
            yield Page(kept, truncated, marker, None), Position(marker, None, done)
            if done:
                return


# --- ListObjects bodies the way OSS encodes them, and oss2's reading of them -------------------

BODY_KEYS = [
    "plain.txt",
    "with space.txt",
    " leading and trailing ",
    "plus+sign",
    "literal%20percent",
    "100%",
    "中文/文件.txt",
    "emoji-😀.bin",
    "ctrl-\x01-char",
    "new\nline",
    "carriage\rreturn",
    "tab\there",
    "back\\slash",
    'double"quote',
    "single'quote",
    "amp&lt;<tag>",
    "double//slash",
    "a",
    "a/",
    "a/b",
    "\u00e9t\u00e9",
    "\ufffd-replacement",
    "k" * 1023,
    "键" * 341,  # 1023 bytes of UTF-8
]

PRETTY = "\n    "


def contents_xml(key: str, *, index: int, encode: bool, sep: str, safe: str = "/") -> str:
    """One <Contents> element as OSS writes it (etag quoted, owner present)."""
    value = quote(key, safe=safe) if encode else escape(key)
    classes = ["Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"]
    return (
        f"<Contents>{sep}<Key>{value}</Key>{sep}"
        f"<LastModified>2024-06-{1 + index % 28:02d}T13:13:{index % 60:02d}.000Z</LastModified>{sep}"
        f"<ETag>&quot;5B3C1A2E053D763E1B002CC607C5{index:04X}&quot;</ETag>{sep}"
        f"<Type>{'Multipart' if index % 3 else 'Normal'}</Type>{sep}<Size>{index * 1000}</Size>{sep}"
        f"<StorageClass>{classes[index % 5]}</StorageClass>{sep}"
        f"<Owner><ID>0022012</ID><DisplayName>user</DisplayName></Owner>{sep}</Contents>"
    )


def make_body(
    keys: list[str],
    prefixes: list[str] = (),  # type: ignore[assignment]
    *,
    api: str = "v1",
    truncated: bool = False,
    next_value: str | None = None,
    encode: bool = True,
    pretty: bool = True,
    safe: str = "/",
) -> bytes:
    """A ListBucketResult body like OSS sends; ``next_value`` is NextMarker or the v2 token."""
    sep = PRETTY if pretty else ""
    enc = (lambda v: quote(v, safe=safe)) if encode else escape
    head = ["<?xml version='1.0' encoding='UTF-8'?>", "<ListBucketResult>", "<Name>b</Name>"]
    head += [f"<Prefix>{enc('top prefix')}</Prefix>", "<MaxKeys>1000</MaxKeys>"]
    head += ["<Delimiter>/</Delimiter>"]
    if encode:
        head.append("<EncodingType>url</EncodingType>")
    head.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    if api == "v2":
        head.append(f"<KeyCount>{len(keys) + len(prefixes)}</KeyCount>")
    if next_value is not None:
        tag = "NextMarker" if api == "v1" else "NextContinuationToken"
        head.append(f"<{tag}>{enc(next_value)}</{tag}>")
    body = [contents_xml(k, index=i, encode=encode, sep=sep, safe=safe) for i, k in enumerate(keys)]
    body += [f"<CommonPrefixes>{sep}<Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes]
    return (sep.join(head + body) + "</ListBucketResult>\n").encode()


class _Result:
    """What oss2's parse functions fill in (a stand-in for ListObjectsResult)."""

    def __init__(self) -> None:
        self.object_list: list = []
        self.prefix_list: list = []
        self.is_truncated = False
        self.next_marker = ""
        self.next_continuation_token = ""


def oss2_parse(body: bytes, api: str) -> _Result:
    parse = oss2.xml_utils.parse_list_objects if api == "v1" else oss2.xml_utils.parse_list_objects_v2
    return parse(_Result(), body)


def assert_same_as_oss2(body: bytes, api: str) -> None:
    ours = parse_page(body, api=api)
    theirs = oss2_parse(body, api)
    objects = [r for r in ours.records if isinstance(r, ObjectRecord)]
    prefixes = [r.prefix for r in ours.records if isinstance(r, PrefixRecord)]
    assert [o.key for o in objects] == [o.key for o in theirs.object_list]
    for mine, info in zip(objects, theirs.object_list):
        assert (mine.size, mine.etag, mine.storage_class, mine.type) == (
            info.size,
            info.etag,
            info.storage_class,
            info.type,
        )
        assert oss2.utils.iso8601_to_unixtime(mine.last_modified) == info.last_modified
        assert int(mine.mtime_epoch()) == info.last_modified
    assert prefixes == theirs.prefix_list
    assert ours.is_truncated == theirs.is_truncated
    if api == "v1" and theirs.is_truncated:
        assert ours.next_marker == theirs.next_marker
    if api == "v2" and theirs.is_truncated:
        assert ours.next_token == theirs.next_continuation_token


# --- reports written and read back ---------------------------------------------------------


def listing_report(emulator, bucket: str, fmt: str = "jsonl", *args: str) -> bytes:
    """What `osslist ls --format FMT` writes for ``bucket`` of the emulator (a report to read back)."""
    from click.testing import CliRunner

    from osslist.cli import main

    argv = ["ls", "--bucket", bucket, "--endpoint", emulator.oss_endpoint, "--format", fmt, *args]
    result = CliRunner().invoke(main, argv, env=clean_env(emulator))
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def inventory_report(emulator, bucket: str, root, *args: str):  # type: ignore[no-untyped-def]
    """The manifest.json (a Path) of `osslist ls --format oss-inventory --output ROOT` for
    ``bucket`` of the emulator; ROOT holds no other run."""
    from click.testing import CliRunner

    from osslist.cli import main

    argv = ["ls", "--bucket", bucket, "--endpoint", emulator.oss_endpoint, "--format", "oss-inventory",
            "--output", str(root), *args]
    result = CliRunner().invoke(main, argv, env=clean_env(emulator))
    assert result.exit_code == 0, result.stderr
    (manifest,) = root.glob("*/manifest.json")
    return manifest


ARCHIVE_BASE = 1_704_067_200


def archived_bucket(emulator: Emulator, bucket: str) -> dict[str, tuple[str, str, str, str]]:
    """A bucket of archive-class objects in every restore state, some moved by a lifecycle rule;
    returns per key what a report must say: (type, restore state, restore expiry, transition time)."""
    from osslist.emulator import Archive

    emulator.create_bucket(bucket)
    emulator.put_object(bucket, "plain", object_type="Appendable")
    emulator.put_object(bucket, "cold ongoing", storage_class="ColdArchive", object_type="Multipart",
                        archive=Archive(True, None, ARCHIVE_BASE + 60))
    emulator.put_object(bucket, "cold/restored", storage_class="Archive",
                        archive=Archive(False, ARCHIVE_BASE + 86400, None))
    emulator.put_object(bucket, "deep,never", storage_class="DeepColdArchive", archive=Archive(None, None, ARCHIVE_BASE))
    return {
        "plain": ("Appendable", "", "", ""),
        "cold ongoing": ("Multipart", "ongoing", "", "2024-01-01T00:01:00.000Z"),
        "cold/restored": ("Normal", "restored", "2024-01-02T00:00:00.000Z", ""),
        "deep,never": ("Normal", "", "", "2024-01-01T00:00:00.000Z"),
    }


# --- the Dockerfile (its tests, and the manifests' user that must match it) -----------------

DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction after line continuations are joined."""

    keyword: str
    args: str
    comments: tuple[str, ...]  # the comment lines right above it (hadolint pragmas included)


def parse_dockerfile(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions, keeping the comments that precede each one."""
    instructions: list[Instruction] = []
    comments: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            comments = comments + [line] if line.startswith("#") else []
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            keyword, _, args = pending.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip(), tuple(comments)))
            comments, pending = [], ""
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """Instructions grouped per build stage (each starts at a FROM)."""
    result: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def final_user(instructions: list[Instruction]) -> str:
    """The USER the container runs as (the last USER of the last stage)."""
    users = [ins.args for ins in stages(instructions)[-1] if ins.keyword == "USER"]
    assert users, "the runtime stage sets no USER, so it would run as root"
    return users[-1]


def dockerfile_uid() -> int:
    """The numeric UID the image runs as; the manifests must use the same one."""
    return int(final_user(parse_dockerfile(DOCKERFILE.read_text())).split(":")[0])
