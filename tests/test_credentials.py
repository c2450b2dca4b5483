"""Credentials snapshot, refresh windows (injected clock), sources and the chain.

Unit tests drive a fake clock and a fake fetch; the RRSA fetcher runs on httpx.MockTransport.
Emulator-backed integration tests are in tests/test_client.py.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx
import pytest

from osslist.credentials import Credentials, RefreshingCredentials, StaticProvider, mask_key_id
from osslist.rrsa import RrsaFetcher, rrsa_configured, sts_endpoint
from osslist.sources import env_provider, metadata_provider, resolve_provider
from osslist.errors import CredentialsError, StsError
from osslist.metadata import MetadataClient

SECRET = "sEcReT-0123456789abcdef"
TOKEN = "CAIS-token-0123456789abcdef"


def creds_expiring(at: float, key: str = "STS.AAAAAAAAAAAAwxyz") -> Credentials:
    return Credentials(key, SECRET, TOKEN, datetime.fromtimestamp(at, tz=timezone.utc))


class FakeSource:
    """A fetch callable handing out sets that live ``lifetime`` seconds from the fake now."""

    def __init__(self, clock: Callable[[], float], lifetime: float = 100.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail: Exception | None = None
        self.same_as: Credentials | None = None

    def __call__(self) -> Credentials:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        if self.same_as is not None:
            return self.same_as
        return creds_expiring(self.clock() + self.lifetime, key=f"STS.KEY{self.calls:09d}abcd")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(clock: Clock) -> FakeSource:
    return FakeSource(clock)


def refreshing(source: FakeSource, clock: Clock) -> RefreshingCredentials:
    return RefreshingCredentials(source, method="test", clock=clock)


# -- the snapshot -------------------------------------------------------------------------------


def test_repr_and_str_mask_everything_but_the_last_four() -> None:
    creds = Credentials("STS.NUgYrLnoC37mZZCNnAbez2wxyz", SECRET, TOKEN, None)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "STS.****wxyz" in text
        assert SECRET not in text and TOKEN not in text and "NUgYr" not in text


@pytest.mark.parametrize(
    "key, masked",
    [("STS.NUgYrLnoC37mZZCNnAbez2wxyz", "STS.****wxyz"), ("LTAI5tAbCdEfGhIjKlMn", "****KlMn"), ("short", "****")],
)
def test_mask_key_id(key: str, masked: str) -> None:
    assert mask_key_id(key) == masked


def test_credentials_are_frozen() -> None:
    creds = Credentials("id", SECRET)
    with pytest.raises(AttributeError):
        creds.access_key_secret = "x"  # type: ignore[misc]


# -- refresh windows ----------------------------------------------------------------------------


def test_a_fresh_set_is_reused_without_fetching(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    clock.now += 49  # advisory starts at 50 % of a 100 s lifetime
    assert provider.get_credentials() is first
    assert source.calls == 1


def test_the_advisory_window_refreshes(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    clock.now += 51
    assert provider.get_credentials() != first
    assert source.calls == 2


def test_a_failed_advisory_refresh_keeps_the_set_and_backs_off(
    source: FakeSource, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    clock.now += 60
    source.fail = CredentialsError("metadata down")
    with caplog.at_level(logging.WARNING, logger="osslist.credentials"):
        assert provider.get_credentials() is first
    assert "keeping the current set" in caplog.text
    assert provider.get_credentials() is first
    assert source.calls == 2  # the second call is inside the back-off, no refetch


def test_the_advisory_refresh_never_blocks_on_a_busy_lock(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    clock.now += 60
    with provider._lock:  # another thread is refreshing
        assert provider.get_credentials() is first
    assert source.calls == 1


def test_a_failed_mandatory_refresh_raises_instead_of_handing_out_the_old_set(
    source: FakeSource, clock: Clock
) -> None:
    provider = refreshing(source, clock)
    provider.get_credentials()
    clock.now += 80  # mandatory starts at 25 % of the lifetime (75 s in)
    source.fail = CredentialsError("metadata down")
    with pytest.raises(CredentialsError, match="metadata down"):
        provider.get_credentials()


def test_a_same_set_answer_is_used_and_not_refetched_on_every_call(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    source.same_as = first
    clock.now += 60
    for _ in range(20):
        assert provider.get_credentials() is first
    assert source.calls == 2
    clock.now += 5  # back-off is 5 % of the lifetime
    provider.get_credentials()
    assert source.calls == 3


def test_a_same_set_inside_the_floor_is_an_error_not_an_expired_signature(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    source.same_as = first
    clock.now += 95  # floor is 10 % of the lifetime
    with pytest.raises(CredentialsError, match="no newer set"):
        provider.get_credentials()


def test_an_expired_set_is_never_handed_out(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    first = provider.get_credentials()
    clock.now += 200
    source.fail = CredentialsError("down")
    with pytest.raises(CredentialsError):
        provider.get_credentials()
    source.fail = None
    assert provider.get_credentials() != first


def test_windows_cap_at_15_and_10_minutes_for_long_lifetimes(clock: Clock) -> None:
    source = FakeSource(clock, lifetime=6 * 3600)
    provider = refreshing(source, clock)
    provider.get_credentials()
    clock.now += 6 * 3600 - 15 * 60 - 1
    provider.get_credentials()
    assert source.calls == 1
    clock.now += 2
    provider.get_credentials()
    assert source.calls == 2


def test_many_threads_during_a_mandatory_refresh_cause_one_fetch(clock: Clock) -> None:
    release = threading.Event()
    started = threading.Event()
    inner = FakeSource(clock)

    def slow_fetch() -> Credentials:
        started.set()
        release.wait(5)
        return inner()

    provider = RefreshingCredentials(slow_fetch, method="test", clock=clock)
    results: list[Credentials] = []
    lock = threading.Lock()

    def worker() -> None:
        got = provider.get_credentials()
        with lock:
            results.append(got)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    assert started.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert inner.calls == 1
    assert len(results) == 16 and len(set(results)) == 1


def test_force_refresh_with_a_stale_set_reuses_a_newer_one(source: FakeSource, clock: Clock) -> None:
    provider = refreshing(source, clock)
    stale = provider.get_credentials()
    newer = provider.force_refresh(stale)
    assert newer != stale
    assert provider.force_refresh(stale) is newer  # a second thread with the same stale set
    assert source.calls == 2
    assert provider.force_refresh() != newer
    assert source.calls == 3


def test_an_unexpected_fetch_error_becomes_a_credentials_error_without_its_text(
    source: FakeSource, clock: Clock
) -> None:
    source.fail = ValueError(f"boom {SECRET}")
    with pytest.raises(CredentialsError) as caught:
        refreshing(source, clock).get_credentials()
    assert SECRET not in str(caught.value)
    assert caught.value.exit_code == 3
    assert isinstance(caught.value.__cause__, ValueError)


def test_describe_has_source_masked_key_and_expiration(source: FakeSource, clock: Clock) -> None:
    provider = RefreshingCredentials(source, method="metadata", clock=clock, details=lambda: {"role_name": "r"})
    provider.get_credentials()
    info = provider.describe()
    assert info["source"] == "metadata" and info["role_name"] == "r"
    assert info["access_key_id"] == "STS.****abcd"
    assert info["expiration"].endswith("Z")
    assert SECRET not in repr(info) and SECRET not in repr(provider)


# -- env keys -----------------------------------------------------------------------------------


def test_alibaba_env_keys_win_over_oss2_ones() -> None:
    provider = env_provider({
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "ali-id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "ali-secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "ali-token",
        "OSS_ACCESS_KEY_ID": "oss-id", "OSS_ACCESS_KEY_SECRET": "oss-secret",
    })
    assert provider is not None
    assert provider.get_credentials() == Credentials("ali-id", "ali-secret", "ali-token")


def test_oss2_env_keys_are_read_with_their_session_token() -> None:
    provider = env_provider({"OSS_ACCESS_KEY_ID": "oss-id", "OSS_ACCESS_KEY_SECRET": "oss-secret",
                             "OSS_SESSION_TOKEN": "oss-token"})
    assert provider is not None and provider.get_credentials().security_token == "oss-token"
    assert provider.describe()["source"] == "env"


def test_half_set_env_keys_say_which_is_missing() -> None:
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"):
        env_provider({"ALIBABA_CLOUD_ACCESS_KEY_ID": "id"})


def test_no_env_keys_is_none() -> None:
    assert env_provider({}) is None


# -- chain ----------------------------------------------------------------------------------------

ENV_KEYS = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}


def rrsa_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    token_file = tmp_path / "token"
    token_file.write_text("oidc-token-1\n")
    env = {
        "ALIBABA_CLOUD_ROLE_ARN": "acs:ram::1:role/r",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "acs:ram::1:oidc-provider/p",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
        "ALIBABA_CLOUD_STS_ENDPOINT": "http://127.0.0.1:9",
    }
    env.update(extra)
    return env


def test_auto_prefers_env_keys_over_rrsa_and_metadata(tmp_path: Path) -> None:
    provider = resolve_provider("auto", environ={**rrsa_env(tmp_path), **ENV_KEYS})
    assert isinstance(provider, StaticProvider)


def test_auto_takes_rrsa_when_all_three_variables_are_set(tmp_path: Path) -> None:
    provider = resolve_provider("auto", environ=rrsa_env(tmp_path))
    assert isinstance(provider, RefreshingCredentials) and provider.method == "rrsa"


def test_auto_skips_incomplete_rrsa_and_falls_to_metadata(tmp_path: Path) -> None:
    env = rrsa_env(tmp_path)
    del env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"]
    assert not rrsa_configured(env)
    provider = resolve_provider("auto", environ=env, metadata_endpoint="http://127.0.0.1:9")
    assert isinstance(provider, RefreshingCredentials) and provider.method == "metadata"


def test_forced_rrsa_names_the_missing_variables() -> None:
    with pytest.raises(StsError, match="ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN"):
        resolve_provider("rrsa", environ={"ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/x"})


def test_forced_env_without_keys_is_a_credentials_error() -> None:
    with pytest.raises(CredentialsError, match="no keys"):
        resolve_provider("env", environ={})


def test_metadata_disabled_leaves_no_source() -> None:
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
        resolve_provider("auto", environ={"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "TRUE"})


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(CredentialsError, match="unknown credential source"):
        resolve_provider("profile", environ={})


# -- metadata source ----------------------------------------------------------------------------


def metadata_transport(seen: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "PUT":
            return httpx.Response(200, text="tok")
        if request.url.path.endswith("/security-credentials/"):
            return httpx.Response(200, text="discovered\n")
        return httpx.Response(200, json={
            "Code": "Success", "AccessKeyId": "STS.ABCDEFGHIJKLwxyz", "AccessKeySecret": SECRET,
            "SecurityToken": TOKEN, "Expiration": "2099-01-01T00:00:00Z",
        })

    return httpx.MockTransport(handle)


def test_ecs_metadata_variable_skips_discovery() -> None:
    seen: list[str] = []
    env = {"ALIBABA_CLOUD_ECS_METADATA": "named-role"}
    client = MetadataClient(endpoint="http://127.0.0.1:9", environ=env, transport=metadata_transport(seen))
    provider = metadata_provider(role_name=None, client=client, environ=env)
    provider.get_credentials()
    assert seen == ["PUT /latest/api/token", "GET /latest/meta-data/ram/security-credentials/named-role"]
    assert provider.describe()["role_name"] == "named-role"
    assert provider.describe()["hardened_mode"] is True


def test_a_discovered_role_is_discovered_once() -> None:
    seen: list[str] = []
    client = MetadataClient(endpoint="http://127.0.0.1:9", environ={}, transport=metadata_transport(seen))
    provider = metadata_provider(role_name=None, client=client, environ={})
    provider.get_credentials()
    provider.force_refresh()
    assert seen.count("GET /latest/meta-data/ram/security-credentials/") == 1
    assert seen.count("GET /latest/meta-data/ram/security-credentials/discovered") == 2


# -- RRSA ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, url",
    [
        ({"ALIBABA_CLOUD_STS_ENDPOINT": "sts.cn-beijing.aliyuncs.com"}, "https://sts.cn-beijing.aliyuncs.com"),
        ({"ALIBABA_CLOUD_STS_ENDPOINT": "http://127.0.0.1:8/"}, "http://127.0.0.1:8"),
        ({"ALIBABA_CLOUD_STS_REGION": "cn-shanghai"}, "https://sts.cn-shanghai.aliyuncs.com"),
        ({"ALIBABA_CLOUD_STS_REGION": "cn-shanghai", "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED": "true"},
         "https://sts-vpc.cn-shanghai.aliyuncs.com"),
        ({}, "https://sts.aliyuncs.com"),
    ],
)
def test_sts_endpoint_selection(env: dict[str, str], url: str) -> None:
    assert sts_endpoint(env) == url


class FakeSts:
    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.queries: list[str] = []
        self.reply: httpx.Response | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(request.url.query.decode())
        self.forms.append(dict(urllib.parse.parse_qsl(request.content.decode())))
        if self.reply is not None:
            return self.reply
        return httpx.Response(200, json={"RequestId": "r1", "Credentials": {
            "AccessKeyId": f"STS.RRSA{len(self.forms):08d}wxyz", "AccessKeySecret": SECRET,
            "SecurityToken": TOKEN, "Expiration": "2099-01-01T00:00:00Z"}})


def rrsa_fetcher(tmp_path: Path, sts: FakeSts) -> RrsaFetcher:
    token_file = tmp_path / "token"
    if not token_file.exists():
        token_file.write_text("oidc-token-1\n")
    return RrsaFetcher(role_arn="acs:ram::1:role/r", oidc_provider_arn="acs:ram::1:oidc-provider/p",
                       token_file=str(token_file), endpoint="http://127.0.0.1:9",
                       transport=httpx.MockTransport(sts.handle), sleep=lambda s: None)


def test_rrsa_posts_a_form_and_rereads_the_token_file(tmp_path: Path) -> None:
    sts = FakeSts()
    fetcher = rrsa_fetcher(tmp_path, sts)
    first = fetcher()
    (tmp_path / "token").write_text("oidc-token-2")
    second = fetcher()
    assert [f["OIDCToken"] for f in sts.forms] == ["oidc-token-1", "oidc-token-2"]
    assert sts.forms[0]["Action"] == "AssumeRoleWithOIDC" and sts.forms[0]["RoleArn"] == "acs:ram::1:role/r"
    assert int(sts.forms[0]["DurationSeconds"]) >= 900
    assert sts.queries == ["", ""]  # nothing in the query string
    assert first.access_key_id != second.access_key_id


def test_rrsa_refusal_names_code_and_request_id_but_not_the_body(tmp_path: Path) -> None:
    sts = FakeSts()
    sts.reply = httpx.Response(400, json={"Code": "AuthenticationFail.OIDCToken.Invalid", "RequestId": "req-9",
                                          "Message": "token oidc-token-1 is bad"})
    with pytest.raises(StsError) as caught:
        rrsa_fetcher(tmp_path, sts)()
    text = str(caught.value)
    assert "AuthenticationFail.OIDCToken.Invalid" in text and "req-9" in text and "HTTP 400" in text
    assert "oidc-token-1" not in text
    assert caught.value.exit_code == 3


def test_rrsa_with_a_missing_token_file_says_which(tmp_path: Path) -> None:
    sts = FakeSts()
    fetcher = rrsa_fetcher(tmp_path, sts)
    (tmp_path / "token").unlink()
    with pytest.raises(StsError, match="cannot read the OIDC token file"):
        fetcher()
    assert sts.forms == []


def test_rrsa_response_without_credentials_is_refused(tmp_path: Path) -> None:
    sts = FakeSts()
    sts.reply = httpx.Response(200, json={"RequestId": "r"})
    with pytest.raises(StsError, match="not a JSON object"):
        rrsa_fetcher(tmp_path, sts)()


def test_rrsa_retries_5xx(tmp_path: Path) -> None:
    sts = FakeSts()
    replies = [httpx.Response(503), None]

    def handle(request: httpx.Request) -> httpx.Response:
        reply = replies.pop(0)
        return reply if reply is not None else FakeSts.handle(sts, request)

    fetcher = rrsa_fetcher(tmp_path, sts)
    fetcher._http = httpx.Client(transport=httpx.MockTransport(handle))
    assert fetcher().security_token == TOKEN


def test_rrsa_honours_proxies_only_for_https() -> None:
    plain = RrsaFetcher(role_arn="a", oidc_provider_arn="b", token_file="/t", endpoint="http://127.0.0.1:9")
    tls = RrsaFetcher(role_arn="a", oidc_provider_arn="b", token_file="/t", endpoint="https://sts.aliyuncs.com")
    assert plain._http.trust_env is False and tls._http.trust_env is True


def test_rrsa_asks_for_json_from_an_sts_whose_default_is_xml(tmp_path: Path) -> None:
    sts = FakeSts()
    rrsa_fetcher(tmp_path, sts)()
    assert sts.forms[0]["Format"] == "JSON" and sts.forms[0]["Version"] == "2015-04-01"


class _FormatDropped(httpx.HTTPTransport):
    """Forwards to the emulator's STS without ``Format``, as if STS ignored it: XML comes back."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        form = {k: v for k, v in urllib.parse.parse_qsl(request.content.decode()) if k != "Format"}
        return super().handle_request(httpx.Request("POST", request.url, data=form))


def test_rrsa_reads_an_xml_answer(emulator, tmp_path: Path) -> None:
    from osslist.emulator.config import DEFAULT_OIDC_PROVIDER_ARN, DEFAULT_OIDC_TOKEN, DEFAULT_ROLE_ARN

    (tmp_path / "token").write_text(DEFAULT_OIDC_TOKEN)
    fetcher = RrsaFetcher(role_arn=DEFAULT_ROLE_ARN, oidc_provider_arn=DEFAULT_OIDC_PROVIDER_ARN,
                          token_file=str(tmp_path / "token"), endpoint=emulator.sts_endpoint, transport=_FormatDropped())
    creds = fetcher()
    (issued,) = emulator.issued_credentials
    assert (creds.access_key_id, creds.security_token) == (issued.access_key_id, issued.security_token)
    assert creds.expiration is not None and creds.expiration.timestamp() == issued.expiration


def test_rrsa_reads_an_xml_refusal(tmp_path: Path) -> None:
    sts = FakeSts()
    sts.reply = httpx.Response(400, content=b'<?xml version="1.0"?><Error><RequestId>req-7</RequestId>'
                               b"<Code>AuthenticationFail.OIDCToken.Invalid</Code></Error>")
    with pytest.raises(StsError, match=r"AuthenticationFail\.OIDCToken\.Invalid, request id req-7"):
        rrsa_fetcher(tmp_path, sts)()


# -- credential text: what no HTTP header can carry is exit 3, named, never shown ------------------


@pytest.mark.parametrize("key_id, secret, token, field", [
    ("STS.ABCDEFGH\nIJKLwxyz", SECRET, TOKEN, "the access key id"),
    ("STS.ABCDEFGHIJKLwxyz", SECRET, "CAIS-tok\r\nen", "the security token"),
    ("STS.ABCDEFGHIJKLwxyz", SECRET, "CAIS-token-€", "the security token"),
    ("STS.ABCDEFGHIJKLwxyz", "sec\x00ret", TOKEN, "the access key secret"),
])
def test_a_snapshot_refuses_text_no_header_can_carry(key_id: str, secret: str, token: str, field: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        Credentials(key_id, secret, token)
    text = str(caught.value)
    assert text.startswith(field + " contains ") and caught.value.exit_code == 3
    assert "\n" not in text and "€" not in text and "IJKL" not in text


def test_latin1_text_is_accepted_as_http_carries_it() -> None:
    assert Credentials("STS.ABCDEFGHIJKLwxyz", SECRET, "CAIS-é-token").security_token == "CAIS-é-token"


@pytest.mark.parametrize("variable, value, problem", [
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tAbc\ndef0123", "line break"),
    ("ALIBABA_CLOUD_SECURITY_TOKEN", "CAIS\nsecond-line", "line break"),
    ("ALIBABA_CLOUD_SECURITY_TOKEN", "CAIS-tøken-中", "outside Latin-1"),
])
def test_env_credentials_name_the_bad_variable(variable: str, value: str, problem: str) -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tAbcdef0123", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET, variable: value}
    with pytest.raises(CredentialsError) as caught:
        resolve_provider("auto", environ=env)
    text = str(caught.value)
    assert text.startswith(f"{variable} contains ") and problem in text
    assert value.split("\n")[-1] not in text and "中" not in text


def bad_document_transport(field: str, value: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(200, text="tok")
        doc = {"Code": "Success", "AccessKeyId": "STS.ABCDEFGHIJKLwxyz", "AccessKeySecret": SECRET,
               "SecurityToken": TOKEN, "Expiration": "2099-01-01T00:00:00Z", field: value}
        return httpx.Response(200, json=doc)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("field, value, problem", [
    ("AccessKeyId", "STS.ABCDEFGH\nIJKLwxyz", "line break"),
    ("SecurityToken", "CAIS-token\n", "line break"),
    ("SecurityToken", "CAIS-token-€", "outside Latin-1"),
])
def test_metadata_credentials_name_the_bad_field(field: str, value: str, problem: str) -> None:
    client = MetadataClient(endpoint="http://127.0.0.1:9", environ={}, transport=bad_document_transport(field, value))
    provider = metadata_provider(role_name="r", client=client, environ={})
    with pytest.raises(CredentialsError) as caught:
        provider.get_credentials()
    text = str(caught.value)
    assert text.startswith(f"{field} from the metadata server contains ") and problem in text
    assert caught.value.exit_code == 3 and "€" not in text and "IJKL" not in text


def test_sts_credentials_name_the_bad_field(tmp_path: Path) -> None:
    sts = FakeSts()
    sts.reply = httpx.Response(200, json={"Credentials": {
        "AccessKeyId": "STS.RRSA00000001wxyz", "AccessKeySecret": SECRET, "SecurityToken": "CAIS\nx",
        "Expiration": "2099-01-01T00:00:00Z"}})
    with pytest.raises(CredentialsError, match="^SecurityToken from STS contains a line break"):
        rrsa_fetcher(tmp_path, sts)()
