"""``Emulator``: the metadata server, STS and OSS on free loopback ports, sharing one
credential store, one set of buckets, one fault switchboard and one request log.

    with Emulator(EmulatorConfig(metadata_mode="required")) as emu:
        emu.create_bucket("b"); emu.seed("b", 10_000)
        ...  # point a client at emu.metadata_url / emu.sts_endpoint / emu.oss_endpoint
"""

from __future__ import annotations

import dataclasses
from typing import Any

from osslist.emulator.config import EmulatorConfig, ShiftedClock
from osslist.emulator.credentials import CredentialStore, IssuedCredentials, RotatingRole
from osslist.emulator.faults import Faults
from osslist.emulator.metadata import MetadataService
from osslist.emulator.oss import OssService
from osslist.emulator.seeding import synthetic_objects
from osslist.emulator.server import RequestLog, RequestRecord, Service, ServiceServer
from osslist.emulator.state import Bucket, BucketStore, StoredContent
from osslist.emulator.sts import StsService
from osslist.emulator.uploads import UploadStore, content_etag
from osslist.emulator.versions import Archive, Query, VersionEntry


class Emulator:
    """A loopback Alibaba Cloud for tests, the demo and benchmarks.

    ``Emulator(config)`` or ``Emulator(**config_fields)``; ``start()`` binds the ports (also a
    context manager); ``stop()`` closes everything. State (buckets, credentials, faults) can
    be changed from Python while it serves, from any thread.
    """

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        base = config or EmulatorConfig()
        self.config = dataclasses.replace(base, **overrides) if overrides else base
        if self.config.clock_offset:
            shifted = ShiftedClock(self.config.clock, self.config.clock_offset)
            self.config = dataclasses.replace(self.config, clock=shifted)
        clock = self.config.clock
        self.faults = Faults(clock)
        self.buckets = BucketStore()
        self.credential_store = CredentialStore(clock)
        for key_id, secret in self.config.static_keys.items():
            self.credential_store.add_static(key_id, secret)
        for name in self.config.buckets:
            self.buckets.create(name)
        self.role = RotatingRole(
            self.credential_store,
            lifetime=self.config.credential_lifetime,
            window=self.config.rotation_window,
            clock=clock,
        )
        self.uploads = UploadStore()
        self._log = RequestLog(enabled=self.config.log_requests, clock=clock)
        self._sts = StsService(self.config, self.credential_store, self.faults)
        oss = OssService(self.config, self.buckets, self.credential_store, self.faults, self.uploads)
        self._services: dict[str, Service] = {
            "metadata": MetadataService(self.config, self.role, self.faults),
            "sts": self._sts,
            "oss": oss,
        }
        # The clock each service's Date header reads: the one it judges by.
        self._date_clocks = {"metadata": clock, "sts": clock, "oss": oss.server_time}
        self._servers: dict[str, ServiceServer] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Emulator":
        """Bind each service on its own loopback port and serve from daemon threads."""
        if self._servers:
            return self
        ports = {"metadata": self.config.metadata_port, "sts": self.config.sts_port, "oss": self.config.oss_port}
        try:
            for name, service in self._services.items():
                server = ServiceServer(service, self._log, host=self.config.host, port=ports[name],
                                       date_clock=self._date_clocks[name])
                self._servers[name] = server
                server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and join the threads. Idempotent."""
        servers, self._servers = self._servers, {}
        for server in servers.values():
            server.stop()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _url(self, name: str) -> str:
        if name not in self._servers:
            raise RuntimeError("the emulator is not started; call start() first")
        return self._servers[name].url

    @property
    def metadata_url(self) -> str:
        """Base URL of the metadata server (what ALIBABA_CLOUD_IMDS_ENDPOINT gets)."""
        return self._url("metadata")

    @property
    def sts_endpoint(self) -> str:
        """URL of STS (what ALIBABA_CLOUD_STS_ENDPOINT gets)."""
        return self._url("sts")

    @property
    def oss_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` for OSS; an IP endpoint makes oss2 use path style."""
        return self._url("oss")

    # --- buckets and objects ---------------------------------------------------------------

    def create_bucket(self, name: str) -> Bucket:
        """Create an empty bucket (no-op if it exists) and return it."""
        return self.buckets.create(name)

    def delete_bucket(self, name: str) -> None:
        """Remove a bucket; listing it then answers NoSuchBucket."""
        self.buckets.delete(name)

    def put_object(
        self,
        bucket: str,
        key: str,
        *,
        size: int = 0,
        storage_class: str = "Standard",
        object_type: str = "Normal",
        last_modified: float | None = None,
        etag: str | None = None,
        data: bytes | None = None,
        content_type: str = "application/octet-stream",
        archive: Archive | None = None,
    ) -> str | None:
        """Create or replace an object (thread-safe: allowed while a listing runs).

        With ``data`` the object has that content (size and, unless given, ETag follow from
        it, as after a PutObject); without, it has only a size. ``last_modified`` is epoch
        seconds (default: the emulator clock's now). ``archive`` gives an archive-class object
        its RestoreInfo / TransitionTime. Returns the new version id when the bucket has
        versioning on (else None)."""
        mtime = self.config.clock() if last_modified is None else last_modified
        content = None
        if data is not None:
            content = StoredContent(data, content_type)
            etag = etag or content_etag(data)
        return self.buckets.require(bucket).put(
            key, size=size, storage_class=storage_class, object_type=object_type, last_modified=int(mtime), etag=etag,
            content=content, archive=archive,
        )

    def object_data(self, bucket: str, key: str) -> bytes | None:
        """The bytes of a written object (PutObject or a completed multipart upload); None
        for a missing key or a seeded object, which has a size but no content."""
        found = self.buckets.require(bucket).read(key)
        return found[1].data if found and found[1] else None

    def open_uploads(self, bucket: str) -> list[tuple[str, str]]:
        """(key, upload id) of every multipart upload in progress in ``bucket``: what
        ListMultipartUploads shows, i.e. the parts still billed."""
        page = self.uploads.list_uploads(
            bucket, prefix="", delimiter="", key_marker="", upload_id_marker="", max_uploads=10**9
        )
        return [(u.key, u.upload_id) for u in page.uploads]

    def delete_object(self, bucket: str, key: str, *, last_modified: float | None = None) -> bool:
        """Delete an object (with versioning on: add a delete marker dated ``last_modified``,
        default now); False when no current object existed."""
        mtime = self.config.clock() if last_modified is None else last_modified
        return self.buckets.require(bucket).remove(key, now=int(mtime))[0]

    # --- versions --------------------------------------------------------------------------

    def set_versioning(self, bucket: str, status: str) -> None:
        """PutBucketVersioning from Python: "Enabled" or "Suspended"."""
        self.buckets.require(bucket).set_versioning(status)

    def seed_versions(
        self, bucket: str, key: str, n: int, *, start: float = 1_704_067_200, step: float = 1.0,
        size: int = 100, delete_every: int = 0, storage_class: str = "Standard",
    ) -> None:
        """Give ``key`` ``n`` new versions, the i-th (from 0) dated ``start + i * step`` and
        ``size + i`` bytes long, every ``delete_every``-th a delete marker instead (0: none).
        Fast for thousands of versions; versioning must be on."""
        versions = [
            (size + i, int(start + i * step), bool(delete_every) and (i + 1) % delete_every == 0) for i in range(n)
        ]
        self.buckets.require(bucket).add_versions(key, versions, storage_class=storage_class)

    def versions(self, bucket: str, *, prefix: str = "") -> list[VersionEntry]:
        """Every version and delete marker of ``bucket`` in ListObjectVersions order: the
        ground truth a version listing must equal."""
        page = self.buckets.require(bucket).list_versions(Query(prefix=prefix, max_keys=10**12))
        return page.entries

    def seed(self, bucket: str, n: int, *, seed: int = 0, prefix: str = "") -> int:
        """Add ``n`` synthetic objects (realistic prefixes, sizes, storage classes), the same
        ones for the same ``seed``; creates the bucket if needed. Returns their total size."""
        columns = synthetic_objects(n, seed=seed, prefix=prefix)
        self.buckets.create(bucket).load(*columns)
        return sum(columns[1])

    def deny_bucket(self, name: str) -> None:
        """Make an existing bucket answer 403 AccessDenied (creates it if missing)."""
        self.buckets.create(name)
        self.faults.denied_buckets.add(name)

    # --- credentials -----------------------------------------------------------------------

    @property
    def issued_credentials(self) -> list[IssuedCredentials]:
        """Every temporary set handed out (metadata, STS, issue_credentials), in order."""
        return self.credential_store.issued

    def issue_credentials(self, *, lifetime: float | None = None) -> IssuedCredentials:
        """A set OSS accepts, issued directly (source "test"); for tests of the OSS side."""
        return self.credential_store.issue(source="test", lifetime=lifetime or self.config.credential_lifetime)

    def add_static_key(self, access_key_id: str, access_key_secret: str) -> IssuedCredentials:
        """A long-lived key pair OSS accepts without a token (like a RAM user's AccessKey)."""
        return self.credential_store.add_static(access_key_id, access_key_secret)

    def set_oidc_tokens(self, *tokens: str) -> None:
        """Replace the OIDC tokens STS accepts (simulates kubelet rotating the token file)."""
        self._sts.set_oidc_tokens(tokens)

    # --- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first (empty when log_requests is off)."""
        return self._log.snapshot()

    def requests_for(self, service: str) -> list[RequestRecord]:
        """The logged requests of one service: "metadata", "sts" or "oss"."""
        return [r for r in self._log.snapshot() if r.service == service]

    def clear_requests(self) -> None:
        self._log.clear()

    def now(self) -> float:
        """The emulator's clock."""
        return self.config.clock()
