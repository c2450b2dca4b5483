"""The credential chain: which source signs this run's requests.

``auto`` follows the order of Alibaba's official SDKs: static keys from the environment, then
RRSA when the webhook's three variables are set, then the instance RAM role from the metadata
server. Each source is a provider with a ``method`` name for logs and ``whoami``; nothing here
makes a network call: the first ``get_credentials()`` fetches.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

from osslist.credentials import Credentials, Provider, RefreshingCredentials, StaticProvider, check_credential_text
from osslist.errors import CredentialsError, UsageError
from osslist.metadata import MetadataClient, check_role_name, env_flag
from osslist.rrsa import rrsa_configured, rrsa_provider
ENV_KEY_SETS = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"),
)


def env_provider(environ: Mapping[str, str]) -> StaticProvider | None:
    """Static keys from the Alibaba SDK variables, else oss2's; None when neither is set."""
    for id_var, secret_var, token_var in ENV_KEY_SETS:
        key_id, secret = environ.get(id_var, "").strip(), environ.get(secret_var, "").strip()
        if key_id and secret:
            token = environ.get(token_var, "").strip() or None
            check_credential_text({id_var: key_id, secret_var: secret, token_var: token})
            return StaticProvider(Credentials(key_id, secret, token), method="env", origin=id_var)
        if key_id or secret:
            missing = secret_var if key_id else id_var
            raise CredentialsError(f"{id_var if key_id else secret_var} is set but {missing} is not")
    return None


def metadata_provider(
    *,
    role_name: str | None,
    client: MetadataClient,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
) -> RefreshingCredentials:
    """The instance RAM role, its name given or discovered once and then reused."""
    given = role_name or environ.get("ALIBABA_CLOUD_ECS_METADATA", "").strip() or None
    state: dict[str, str] = {}
    if given:
        state["role"] = check_role_name(given, origin="the configured role name", error=UsageError)

    def fetch() -> Credentials:
        if "role" not in state:
            state["role"] = client.discover_role_name()
        return Credentials.from_role(client.fetch_credentials(state["role"]), origin="the metadata server")

    def details() -> dict[str, Any]:
        return {"role_name": state.get("role"), "hardened_mode": client.hardened,
                "metadata_endpoint": client.endpoint}

    return RefreshingCredentials(fetch, method="metadata", clock=clock, details=details)


def resolve_provider(
    source: str = "auto",
    *,
    role_name: str | None = None,
    metadata_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    metadata_client: MetadataClient | None = None,
    sts_transport: Any = None,
) -> Provider:
    """Pick the credential source: ``auto`` tries env keys, then RRSA, then the metadata server.

    No network call is made here; the first ``get_credentials()`` fetches.
    """
    env = os.environ if environ is None else environ
    if source not in ("auto", "env", "rrsa", "metadata"):
        raise CredentialsError(f"unknown credential source {source!r}: use auto, env, rrsa or metadata")
    if source in ("auto", "env"):
        found = env_provider(env)
        if found is not None:
            return found
        if source == "env":
            raise CredentialsError(
                "no keys in ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET or OSS_ACCESS_KEY_ID/_SECRET"
            )
    if source == "rrsa" or (source == "auto" and rrsa_configured(env)):
        return rrsa_provider(env, clock=clock, transport=sts_transport)
    if env_flag(env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
        raise CredentialsError(
            "no credentials: no env keys, no RRSA variables, and "
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true turns off the metadata server"
        )
    client = metadata_client or MetadataClient(endpoint=metadata_endpoint, environ=env)
    return metadata_provider(role_name=role_name, client=client, environ=env, clock=clock)


__all__ = [
    "env_provider",
    "metadata_provider",
    "resolve_provider",
]
