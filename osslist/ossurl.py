"""``oss://BUCKET/KEY`` destinations and the placeholders of their keys. Pure: no network, no oss2.

A key may name the run it belongs to, so a CronJob writes one report per run and the retries
of one Job share one key: ``{date}`` (UTC run start, ``YYYY-MM-DD``), ``{time}``
(``YYYY-MM-DDTHH-MMZ``), ``{bucket}`` (the bucket listed), ``{shard}`` (the shard index) and
``{env:NAME}`` (an environment variable, e.g. the Job name from the downward API). ``osslist diff
FOLDER/`` adds ``{report}``: the time folder of the newer report it compared, so the changes are kept
next to that report's manifest.json. A local ``--output`` or ``--summary-json`` path takes the same
placeholders (``expand_path``), so a report on disk is named the way one in OSS is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from osslist.errors import UsageError

SCHEME = "oss://"
MAX_KEY_BYTES = 1023
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class OssUrl:
    """A destination object: bucket and key (placeholders already expanded)."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"


@dataclass(frozen=True)
class RunFacts:
    """What the placeholders stand for in one run."""

    started: datetime
    bucket: str = ""
    shard: int | None = None
    report: str = ""
    """The newer report's time folder (``YYYY-MM-DDTHH-MMZ``) when a diff compared a folder's two newest."""


def is_oss_url(text: str) -> bool:
    return text.startswith(SCHEME)


def split_oss_url(text: str) -> OssUrl:
    """``oss://BUCKET/KEY`` as it is (no placeholder expanded: ``cat`` reads keys literally)."""
    if not is_oss_url(text):
        raise UsageError(f"{text!r} is not an oss://BUCKET/KEY destination")
    bucket, slash, key = text[len(SCHEME):].partition("/")
    if not bucket or not slash or not key:
        raise UsageError(f"{text!r}: expected oss://BUCKET/KEY with a bucket and a key")
    check_object_key(key, text)
    return OssUrl(bucket, key)


def parse_oss_url(text: str, facts: RunFacts, environ: Mapping[str, str]) -> OssUrl:
    """``oss://BUCKET/KEY`` with the key's placeholders expanded; UsageError naming what is wrong."""
    template = split_oss_url(text)
    key = expand_key(template.key, facts, environ)
    check_object_key(key, text)
    return OssUrl(template.bucket, key)


def expand_path(option: str, path: str, facts: RunFacts, environ: Mapping[str, str]) -> str:
    """A local path with its placeholders expanded as a key's are; the UsageError names ``option``."""
    try:
        return expand_key(path, facts, environ, what="the path")
    except UsageError as exc:
        raise UsageError(f"{option} {path}: {exc}") from exc


def expand_key(template: str, facts: RunFacts, environ: Mapping[str, str], *, what: str = "the key") -> str:
    """The key (or path: ``what``) with every ``{...}`` replaced; an unknown placeholder,
    ``{shard}`` without a shard, or an unset ``{env:NAME}`` is a UsageError (a silent empty part
    would make every run write the same key)."""
    started = facts.started.astimezone(timezone.utc)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "date":
            return started.strftime("%Y-%m-%d")
        if name == "time":
            return started.strftime("%Y-%m-%dT%H-%MZ")
        if name == "bucket" and facts.bucket:
            return facts.bucket
        if name == "shard":
            if facts.shard is None:
                raise UsageError(what + " uses {shard} but no --shard-index is given")
            return str(facts.shard)
        if name == "report":
            if not facts.report:
                raise UsageError(what + " uses {report}, the newer report's folder: only `osslist diff FOLDER/` "
                                 "comparing two reports has one")
            return facts.report
        if name.startswith("env:") and _ENV_NAME.fullmatch(name[4:]):
            if not environ.get(name[4:]):
                raise UsageError(f"{what} uses {{{name}}} but ${name[4:]} is not set")
            return environ[name[4:]]
        raise UsageError(f"unknown placeholder {{{name}}} in {what}: use {{date}} {{time}} {{bucket}} {{shard}} {{env:NAME}} ({{report}} in diff)")

    return _PLACEHOLDER.sub(value, template)


def check_object_key(key: str, text: str) -> None:
    """OSS object names: 1..1023 bytes of UTF-8, not starting with '/' or '\\'."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= MAX_KEY_BYTES:
        raise UsageError(f"{text!r}: the key must be 1..{MAX_KEY_BYTES} bytes, not {size}")
    if key[0] in "/\\":
        raise UsageError(f"{text!r}: an OSS key cannot start with '/' or '\\'")
