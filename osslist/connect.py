"""Opening what talks to the network: the credential provider, the bucket client, ``whoami``.

Building a provider or a client sends nothing (providers fetch lazily, on first use), which is
why ``job.prepare`` may build the client for --dry-run to check; ``whoami`` fetches once. The
credential and oss2 modules are imported inside the functions: oss2 alone takes a quarter of a
second to import, which ``--help`` should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from osslist.client import BucketClient
    from osslist.credentials import Provider


def open_provider(
    source: str,
    *,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Provider:
    """The credential provider (auto, env, rrsa or metadata); it fetches lazily, on first use."""
    from osslist.sources import resolve_provider

    return resolve_provider(source, role_name=role_name, metadata_endpoint=metadata_endpoint, environ=environ)


def open_client(
    bucket: str,
    endpoint: str,
    *,
    region: str | None,
    signature_version: str,
    credentials: str,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    retry_budget: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> BucketClient:
    """Credential provider, then the bucket client (which validates bucket name, endpoint and
    region); neither contacts the network yet."""
    from osslist.client import make_bucket_client

    provider = open_provider(credentials, role_name=role_name, metadata_endpoint=metadata_endpoint, environ=environ)
    return make_bucket_client(bucket, endpoint, provider, region=region, signature_version=int(signature_version),
                              retry_budget=retry_budget)


def whoami(
    source: str,
    *,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:  # Any: values are str, bool or None by key (describe() output), printed as they come
    """Fetch credentials once and describe them: source, role, masked key id, expiry, hardened mode."""
    from osslist.client import describe_identity

    provider = open_provider(source, role_name=role_name, metadata_endpoint=metadata_endpoint, environ=environ)
    return describe_identity(provider)
