"""osslist's metadata and RRSA requests next to what Alibaba's official ``alibabacloud-credentials``
sends for the same job, both recorded by one emulator: same endpoints, methods, parameter names and
token headers, and exactly the differences CONTRIBUTING lists as deliberate (issue 14 point 4)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import httpx
from alibabacloud_credentials.provider.oidc import OIDCRoleArnCredentialsProvider

from osslist.emulator import Emulator
from osslist.emulator.config import DEFAULT_OIDC_PROVIDER_ARN, DEFAULT_OIDC_TOKEN, DEFAULT_ROLE_ARN
from osslist.metadata import MetadataClient
from osslist.rrsa import RrsaFetcher
from tests.emulator.test_credentials_sdk_fidelity import ecs_provider  # noqa: F401 - the fixture

ROLE = "osslist-emulator-role"
TOKEN_HEADER = "x-aliyun-ecs-metadata-token"
TTL_HEADER = "x-aliyun-ecs-metadata-token-ttl-seconds"


def shape(emu: Emulator) -> list[tuple[str, str, str | None, bool]]:
    """(method, path, TTL asked for, token sent) of each metadata request, then clears the log."""
    records = emu.requests_for("metadata")
    emu.clear_requests()
    return [(r.method, r.path, r.headers.get(TTL_HEADER), TOKEN_HEADER in r.headers) for r in records]


def test_metadata_requests_match_the_official_client_but_reuse_the_token(emulator: Emulator, ecs_provider) -> None:  # noqa: F811
    ecs_provider(emulator).get_credentials()  # discovers the role, like osslist without --role-name
    official = shape(emulator)
    client = MetadataClient(endpoint=emulator.metadata_url)
    client.fetch_credentials(client.discover_role_name())
    ours = shape(emulator)
    token_put = ("PUT", "/latest/api/token", "21600", False)
    role = ("GET", "/latest/meta-data/ram/security-credentials/", None, True)
    creds = ("GET", f"/latest/meta-data/ram/security-credentials/{ROLE}", None, True)
    assert official == [token_put, role, token_put, creds]  # a new token before each GET
    assert ours == [token_put, role, creds]  # deliberate: one token, reused for 80 % of its TTL


class _Recording(httpx.HTTPTransport):
    """Forwards to the emulator and keeps each request's form, which the request log does not hold."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.forms.append(dict(urllib.parse.parse_qsl(request.content.decode())))
        return super().handle_request(request)


def test_rrsa_sends_the_official_parameters_as_a_post_form(emulator: Emulator, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(DEFAULT_OIDC_TOKEN)
    OIDCRoleArnCredentialsProvider(
        role_arn=DEFAULT_ROLE_ARN, oidc_provider_arn=DEFAULT_OIDC_PROVIDER_ARN, oidc_token_file_path=str(token),
        sts_endpoint=emulator.sts_endpoint,
    ).get_credentials()
    transport = _Recording()
    RrsaFetcher(role_arn=DEFAULT_ROLE_ARN, oidc_provider_arn=DEFAULT_OIDC_PROVIDER_ARN, token_file=str(token),
                endpoint=emulator.sts_endpoint, transport=transport)()
    official, ours = emulator.requests_for("sts")
    assert (official.method, official.status, ours.method, ours.status) == ("GET", 200, "POST", 200)
    assert "OIDCToken" in official.query and ours.query == {}  # deliberate: the token stays out of URLs
    (form,) = transport.forms
    assert set(form) == set(official.query)  # the same parameters otherwise
    same = ("Action", "Version", "Format", "RoleArn", "OIDCProviderArn", "DurationSeconds")
    assert {k: form[k] for k in same} == {k: official.query[k] for k in same}
    assert form["RoleSessionName"] == "osslist" and official.query["RoleSessionName"].startswith("credentials-python-")
