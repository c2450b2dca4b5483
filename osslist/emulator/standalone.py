"""``osslist emulator``: run the emulator on 127.0.0.1 until interrupted, seeded, and print
how to point osslist (or any Alibaba SDK) at it.

``cli.py`` wraps ``run_standalone``; ``OPTION_HELP`` holds the help text of each argument so
the command's ``--help`` and this function say the same thing.
"""

from __future__ import annotations

import threading
from typing import TextIO

from osslist.emulator.config import (
    DEFAULT_OIDC_PROVIDER_ARN,
    DEFAULT_OIDC_TOKEN,
    DEFAULT_ROLE_ARN,
    DEFAULT_ROTATION_WINDOW,
    EmulatorConfig,
)
from osslist.emulator.emulator import Emulator

DEFAULT_BUCKET = "emulator-bucket"
OIDC_TOKEN_FILE = "/tmp/osslist-emulator-oidc-token"

OPTION_HELP = {
    "objects": "Synthetic objects to seed the bucket with (realistic prefixes, sizes, storage classes).",
    "port": "OSS port on 127.0.0.1 (0 picks a free one).",
    "metadata_port": "Metadata server port on 127.0.0.1 (0 picks a free one).",
    "sts_port": "STS port on 127.0.0.1 (0 picks a free one).",
    "bucket": "Name of the seeded bucket.",
    "seed": "Random seed of the synthetic objects (same seed, same bucket).",
    "metadata_mode": "Metadata hardened mode: optional, required (token needed) or unsupported.",
    "credential_lifetime": "Seconds each metadata/STS credential set lives (real servers: 21600).",
    "rotation_window": "A new metadata set is issued this many seconds before the current one expires.",
    "latency": "Seconds of latency added to every OSS request.",
    "reports_bucket": "Also create this empty bucket, for what osslist writes to oss:// (reports, "
    "checkpoints, summaries, changes).",
    "versioning": "Turn versioning on in the seeded bucket and give it history: every 10th object a newer "
    "version, every 25th a delete marker (for --all-versions, --as-of, du --by-version-state).",
}

NEWER_VERSION_EVERY = 10
DELETE_MARKER_EVERY = 25


class SetupError(ValueError):
    """The standalone emulator cannot start as asked (a port given twice or already in use)."""


def _check_ports(**ports: int) -> None:
    """Each service needs a port of its own; 0 (a free one) may repeat."""
    seen: dict[int, str] = {}
    for service, number in ports.items():
        if number and number in seen:
            raise SetupError(f"port {number} given for both {seen[number]} and {service}: each service needs its own")
        seen[number] = service


def add_history(emu: Emulator, bucket: str) -> tuple[int, int]:
    """Versioning on in ``bucket``, then a newer version of every 10th key and a delete marker
    on every 25th, as a bucket that lived with versioning would have; returns (newer versions,
    delete markers). The seeded objects become the keys' "null" versions, as objects written
    before versioning was enabled are in OSS."""
    emu.set_versioning(bucket, "Enabled")
    keys = emu.buckets.require(bucket).keys()
    newer = keys[NEWER_VERSION_EVERY - 1::NEWER_VERSION_EVERY]
    for index, key in enumerate(newer):
        emu.put_object(bucket, key, size=1024 + index)
    deleted = keys[DELETE_MARKER_EVERY - 1::DELETE_MARKER_EVERY]
    for key in deleted:
        emu.delete_object(bucket, key)
    return len(newer), len(deleted)


def _check_buckets(bucket: str, reports_bucket: str | None) -> None:
    if reports_bucket is not None and reports_bucket == bucket:
        raise SetupError(f"--reports-bucket {reports_bucket} is the seeded bucket: give the reports a bucket of their own")


def describe(emu: Emulator, bucket: str, objects: int, total_bytes: int, *, notes: tuple[str, ...] = ()) -> str:
    """The banner: endpoints and the environment lines that point osslist at ``emu``
    (``notes``: a line each about the extra buckets and versions)."""
    cfg = emu.config
    return "\n".join(
        [
            f"osslist emulator: bucket {bucket!r} with {objects} objects ({total_bytes} bytes)",
            *(f"  {note}" for note in notes),
            f"  metadata  {emu.metadata_url}  (mode {cfg.metadata_mode}, role {cfg.role_name})",
            f"  sts       {emu.sts_endpoint}",
            f"  oss       {emu.oss_endpoint}",
            "",
            "# Point osslist at it (metadata RAM role credentials):",
            f"export ALIBABA_CLOUD_IMDS_ENDPOINT={emu.metadata_url}",
            f"export OSSLIST_ENDPOINT={emu.oss_endpoint}",
            f"export OSSLIST_BUCKET={bucket}",
            f"export OSSLIST_REGION={cfg.region}",
            "export OSSLIST_CREDENTIALS=metadata",
            "# Or RRSA (STS AssumeRoleWithOIDC) instead of the metadata server:",
            f"printf '%s' '{DEFAULT_OIDC_TOKEN}' > {OIDC_TOKEN_FILE}",
            f"export ALIBABA_CLOUD_ROLE_ARN={DEFAULT_ROLE_ARN}",
            f"export ALIBABA_CLOUD_OIDC_PROVIDER_ARN={DEFAULT_OIDC_PROVIDER_ARN}",
            f"export ALIBABA_CLOUD_OIDC_TOKEN_FILE={OIDC_TOKEN_FILE}",
            f"export ALIBABA_CLOUD_STS_ENDPOINT={emu.sts_endpoint}",
            "# then: osslist --credentials rrsa",
            "",
        ]
    )


def _extras(emu: Emulator, bucket: str, reports_bucket: str | None, versioning: bool) -> tuple[str, ...]:
    """--versioning and --reports-bucket, with the banner line saying what each made."""
    notes = []
    if versioning:
        newer, markers = add_history(emu, bucket)
        notes.append(f"versioning Enabled: {newer} newer versions, {markers} delete markers "
                     f"(a listing shows {len(emu.buckets.require(bucket).keys())} current objects)")
    if reports_bucket is not None:
        emu.create_bucket(reports_bucket)
        notes.append(f"reports bucket {reports_bucket!r} (empty): --output oss://{reports_bucket}/...")
    return tuple(notes)


def run_standalone(
    *,
    objects: int = 1000,
    port: int = 0,
    metadata_port: int = 0,
    sts_port: int = 0,
    bucket: str = DEFAULT_BUCKET,
    seed: int = 0,
    metadata_mode: str = "optional",
    credential_lifetime: float = 3600.0,
    rotation_window: float = DEFAULT_ROTATION_WINDOW,
    latency: float = 0.0,
    reports_bucket: str | None = None,
    versioning: bool = False,
    out: TextIO,
    stop: threading.Event | None = None,
) -> None:
    """Seed, print the banner to ``out``, and serve on 127.0.0.1 until Ctrl-C (or ``stop`` is
    set, for tests). The request log is off, so a long session keeps flat memory."""
    config = EmulatorConfig(
        metadata_mode=metadata_mode,
        credential_lifetime=credential_lifetime,
        rotation_window=rotation_window,
        log_requests=False,
        oss_port=port,
        metadata_port=metadata_port,
        sts_port=sts_port,
    )
    _check_ports(oss=port, metadata=metadata_port, sts=sts_port)
    _check_buckets(bucket, reports_bucket)
    emu = Emulator(config)
    total = emu.seed(bucket, objects, seed=seed)
    notes = _extras(emu, bucket, reports_bucket, versioning)
    emu.faults.oss_latency = latency
    try:
        emu.start()
    except OSError as exc:
        ports = ", ".join(str(p) for p in (port, metadata_port, sts_port) if p)
        raise SetupError(f"cannot listen on {config.host} port {ports}: {exc.strerror or exc}") from exc
    with emu:
        out.write(describe(emu, bucket, objects, total, notes=notes))
        out.write("Serving until interrupted (Ctrl-C).\n")
        out.flush()
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            pass
