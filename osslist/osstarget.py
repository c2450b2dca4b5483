"""Reports written into OSS: which object a ``--output oss://...`` (or ``--summary-json``,
du's and plan's ``--output``) names for this run, and the writer that streams into it.

A target is resolved before any request (placeholders expanded, bucket name, endpoint and
region checked) and shares the listing's credential provider, so the destination is written
with the same role and refresh as the bucket is listed; it may be another bucket, endpoint or
region (``--output-endpoint`` / ``--output-region``; by default the listing's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from osslist.client import BucketClient, make_bucket_client, normalize_endpoint, region_of
from osslist.errors import UsageError
from osslist.filters import parse_size
from osslist.ossobjects import ObjectClient
from osslist.ossout import DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, OssWriter
from osslist.ossurl import OssUrl, RunFacts, is_oss_url, parse_oss_url

COMPRESS_CHOICES = ("auto", "gzip", "none")
PARTS_IN_FLIGHT = 1
"""One part uploading while the next fills: a report grows far slower than one part uploads in
the region, so a second part in flight bought no speed and cost a part of memory."""

__all__ = ["COMPRESS_CHOICES", "OssTarget", "ReportSettings", "is_oss_url", "run_facts", "target_for"]


@dataclass(frozen=True, kw_only=True)
class ReportSettings:
    """How reports go into OSS, as the options gave them."""

    endpoint: str | None = None
    """--output-endpoint; None: the listing's endpoint."""
    region: str | None = None
    """--output-region; None: the region --output-endpoint names, else the listing's."""
    part_size: str = "8M"
    compress: str = "auto"
    """auto (gzip when the key ends in .gz), gzip or none."""

    def part_bytes(self) -> int:
        """--part-size in bytes, within OSS's limits (UsageError otherwise)."""
        size = parse_size(self.part_size) if self.part_size else DEFAULT_PART_SIZE
        if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
            raise UsageError(f"invalid --part-size {self.part_size}: OSS parts are 100K..5G")
        return size

    def gzip(self) -> bool | None:
        if self.compress not in COMPRESS_CHOICES:
            raise UsageError(f"invalid --compress {self.compress!r}: choose one of {', '.join(COMPRESS_CHOICES)}")
        return {"auto": None, "gzip": True, "none": False}[self.compress]


@dataclass(frozen=True)
class OssTarget:
    """One destination object of this run; nothing sent until ``open()``."""

    option: str
    url: OssUrl
    objects: ObjectClient
    part_size: int
    compress: bool | None

    def open(self) -> OssWriter:
        """The writer, probed: InitiateMultipartUpload now, so a destination that refuses
        writes ends the run (exit 4, naming it) before any listing request."""
        writer = OssWriter(self.objects, self.url.key, part_size=self.part_size, compress=self.compress,
                           workers=1, in_flight=PARTS_IN_FLIGHT)
        try:
            writer.probe()
        except BaseException:
            writer.abort()
            raise
        return writer

    def view(self) -> dict[str, object]:
        """What --dry-run shows of it."""
        return {"url": str(self.url), "endpoint": self.objects.endpoint, "region": self.objects.region,
                "part_size": self.part_size,
                "gzip": self.url.key.endswith(".gz") if self.compress is None else self.compress}


def run_facts(*, bucket: str, shard: int | None, now: float | None = None, report: str = "") -> RunFacts:
    """The values of the key placeholders for a run starting now."""
    started = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc)
    return RunFacts(started=started, bucket=bucket, shard=shard, report=report)


def target_for(
    option: str,
    text: str,
    *,
    listing: BucketClient,
    settings: ReportSettings,
    facts: RunFacts,
    environ: Mapping[str, str],
) -> OssTarget:
    """The target ``text`` (an ``oss://`` URL) names; UsageError naming ``option`` when it is
    not a valid destination. Builds the destination's client on the listing's credential
    provider; sends nothing."""
    try:
        url = parse_oss_url(text, facts, environ)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc}") from exc
    try:
        endpoint = normalize_endpoint(settings.endpoint) if settings.endpoint else listing.endpoint
        region = settings.region or region_of(endpoint) or listing.region
        client = make_bucket_client(
            url.bucket, endpoint, listing.provider, region=region, signature_version=listing.signature_version
        )
    except UsageError as exc:
        raise UsageError(f"{option} {url}: {exc} (--output-endpoint / --output-region)") from exc
    return OssTarget(option, url, ObjectClient(client), settings.part_bytes(), settings.gzip())
