"""Fidelity against Alibaba's ``alibabacloud-credentials``: its ECS RAM role provider against the
emulated metadata server in each hardened mode, and its OIDC (RRSA) provider against the
emulated STS, refreshes and a rotated token file included.

Redirecting the SDK to loopback: the OIDC provider takes ``sts_endpoint`` (public; a value
with a scheme keeps the SDK's hard-wired https off). The ECS provider has no public option for
its host: the metadata address is a private, name-mangled attribute set in ``__init__`` (version
1.0.12 reads no ``ALIBABA_CLOUD_IMDS_ENDPOINT``), so the ``ecs_provider`` fixture replaces that
one attribute right after construction, before any request. ``async_update_enabled=False``
keeps the SDK from starting its background refresh scheduler in the test process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import oss2
import pytest
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider
from alibabacloud_credentials.provider.oidc import OIDCRoleArnCredentialsProvider

from osslist.emulator import Emulator
from osslist.emulator.config import DEFAULT_OIDC_PROVIDER_ARN, DEFAULT_OIDC_TOKEN, DEFAULT_ROLE_ARN

MakeEmulator = Callable[..., Emulator]
_ECS_HOST_ATTRIBUTE = "_EcsRamRoleCredentialsProvider__metadata_service_host"


@pytest.fixture
def ecs_provider() -> Callable[..., EcsRamRoleCredentialsProvider]:
    """The SDK's provider with its metadata host moved to the emulator (the one patch, see above)."""

    def make(emu: Emulator, **options: object) -> EcsRamRoleCredentialsProvider:
        provider = EcsRamRoleCredentialsProvider(async_update_enabled=False, **options)  # type: ignore[arg-type]
        assert hasattr(provider, _ECS_HOST_ATTRIBUTE)  # fail loudly if an SDK release renames it
        setattr(provider, _ECS_HOST_ATTRIBUTE, urlsplit(emu.metadata_url).netloc)
        return provider

    return make


def lists_on_oss(emu: Emulator, key_id: str, secret: str, token: str) -> bool:
    """The set works on the emulated OSS (what a caller of the SDK would do next)."""
    emu.create_bucket("bkt")
    auth = oss2.StsAuth(key_id, secret, token, auth_version=oss2.AUTH_VERSION_4)
    return oss2.Bucket(auth, emu.oss_endpoint, "bkt", region="cn-hangzhou").list_objects().status == 200


@pytest.mark.parametrize("mode", ["optional", "required"])
@pytest.mark.parametrize("imds_v1_disabled", [False, True])
def test_ecs_role_with_a_session_token(make_emulator: MakeEmulator, ecs_provider, mode: str, imds_v1_disabled: bool) -> None:
    emu = make_emulator(metadata_mode=mode)
    creds = ecs_provider(emu, disable_imds_v1=imds_v1_disabled).get_credentials()
    current = emu.role.current()
    assert (creds.get_access_key_id(), creds.get_security_token()) == (current.access_key_id, current.security_token)
    assert lists_on_oss(emu, creds.get_access_key_id(), creds.get_access_key_secret(), creds.get_security_token())
    requests = emu.requests_for("metadata")
    assert [(r.method, r.status) for r in requests if r.method == "PUT"][:1] == [("PUT", 200)]
    gets = [r for r in requests if r.method == "GET"]
    assert gets and all(r.status == 200 and r.headers.get("x-aliyun-ecs-metadata-token") for r in gets)


def test_ecs_role_discovery_then_credentials(make_emulator: MakeEmulator, ecs_provider) -> None:
    emu = make_emulator()
    creds = ecs_provider(emu, role_name=None).get_credentials()
    paths = [r.path for r in emu.requests_for("metadata") if r.method == "GET"]
    assert paths == ["/latest/meta-data/ram/security-credentials/",
                     "/latest/meta-data/ram/security-credentials/osslist-emulator-role"]
    assert creds.get_access_key_id() == emu.role.current().access_key_id


def test_ecs_role_falls_back_to_tokenless_when_unsupported(make_emulator: MakeEmulator, ecs_provider) -> None:
    emu = make_emulator(metadata_mode="unsupported")
    creds = ecs_provider(emu, role_name="osslist-emulator-role").get_credentials()
    assert creds.get_access_key_id() == emu.role.current().access_key_id
    requests = emu.requests_for("metadata")
    assert [(r.method, r.status) for r in requests] == [("PUT", 404), ("GET", 200)]
    assert "x-aliyun-ecs-metadata-token" not in requests[1].headers


def test_ecs_role_unsupported_with_imds_v1_disabled_fails(make_emulator: MakeEmulator, ecs_provider) -> None:
    emu = make_emulator(metadata_mode="unsupported")
    with pytest.raises(CredentialException):
        ecs_provider(emu, role_name="osslist-emulator-role", disable_imds_v1=True).get_credentials()
    assert [r.method for r in emu.requests_for("metadata")] == ["PUT"]
    assert emu.issued_credentials == []


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(DEFAULT_OIDC_TOKEN)
    return path


def oidc_provider(emu: Emulator, token_file: Path) -> OIDCRoleArnCredentialsProvider:
    return OIDCRoleArnCredentialsProvider(
        role_arn=DEFAULT_ROLE_ARN, oidc_provider_arn=DEFAULT_OIDC_PROVIDER_ARN, oidc_token_file_path=str(token_file),
        role_session_name="sdk-fidelity", duration_seconds=900, sts_endpoint=emu.sts_endpoint,
    )


def test_oidc_provider_gets_credentials_with_a_get(emulator: Emulator, token_file: Path) -> None:
    creds = oidc_provider(emulator, token_file).get_credentials()
    (issued,) = emulator.issued_credentials
    assert (creds.get_access_key_id(), issued.source) == (issued.access_key_id, "sts")
    request = emulator.requests_for("sts")[-1]
    assert (request.method, request.status, request.query["Format"]) == ("GET", 200, "JSON")
    assert request.query["OIDCToken"] == "[redacted]" and request.query["DurationSeconds"] == "900"
    assert lists_on_oss(emulator, creds.get_access_key_id(), creds.get_access_key_secret(), creds.get_security_token())


def test_oidc_provider_refreshes_short_lived_credentials(make_emulator: MakeEmulator, token_file: Path) -> None:
    """Sets that expire inside the SDK's 15-minute stale window are refetched on the next call."""
    emu = make_emulator(sts_credential_lifetime=5)
    provider = oidc_provider(emu, token_file)
    first, second = provider.get_credentials(), provider.get_credentials()
    assert first.get_access_key_id() != second.get_access_key_id()
    assert [c.access_key_id for c in emu.issued_credentials] == [first.get_access_key_id(), second.get_access_key_id()]
    assert lists_on_oss(emu, second.get_access_key_id(), second.get_access_key_secret(), second.get_security_token())


def test_oidc_provider_rereads_a_rewritten_token_file(make_emulator: MakeEmulator, token_file: Path) -> None:
    emu = make_emulator(sts_credential_lifetime=5)
    provider = oidc_provider(emu, token_file)
    first = provider.get_credentials()
    emu.set_oidc_tokens("rotated-token-2")  # kubelet rotated the token: STS takes only the new one
    with pytest.raises(CredentialException):
        provider.get_credentials()
    token_file.write_text("rotated-token-2")
    fresh = provider.get_credentials()
    assert fresh.get_access_key_id() != first.get_access_key_id()
    assert [r.status for r in emu.requests_for("sts")] == [200, 400, 200]
