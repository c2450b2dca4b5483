"""MetadataClient on httpx.MockTransport with an injected clock and sleep (no real waiting).

Loopback integration (proxy variables, a closed port, a real 50 MB body) lives at the end and
in tests/test_credentials.py against the emulator.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable, Iterator

import httpx
import pytest

from osslist.backoff import BackoffPolicy
from osslist.errors import MetadataError, UsageError
from osslist.metadata import (
    CREDENTIALS_BODY_CAP,
    NO_ROLE_MESSAGE,
    ROLE_PATH,
    TOKEN_HEADER,
    TOKEN_PATH,
    TOKEN_TTL_HEADER,
    MetadataClient,
    check_role_name,
    parse_expiration,
)
from tests.helpers import FakeTime

ROLE = "osslist-role"
SECRET = "s3cr3t-SECRET-value-0123456789"
TOKEN = "CAIS-security-token-value-abcdefghijklmnop"


def good_document(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "AccessKeyId": "STS.NUgYrLnoC37mZZCNnAbez2wxyz",
        "AccessKeySecret": SECRET,
        "SecurityToken": TOKEN,
        "Expiration": "2030-06-09T09:17:19Z",
        "LastUpdated": "2030-06-09T03:17:18Z",
        "Code": "Success",
    }
    doc.update(overrides)
    return doc


class FakeImds:
    """Routes requests like the metadata server; each knob changes one behaviour."""

    def __init__(self, *, mode: str = "optional") -> None:
        self.mode = mode  # optional | required | unsupported
        self.requests: list[httpx.Request] = []
        self.role_body = ROLE + "\n"
        self.document: dict[str, object] = good_document()
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.failures: list[int | Exception] = []  # consumed one per request, first
        self.override: Callable[[httpx.Request], httpx.Response] | None = None
        self.override_put = False  # whether ``override`` also answers the token PUT

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure)
        if request.method == "PUT" and request.url.path == TOKEN_PATH and not self.override_put:
            return self._token(request)
        if self.override is not None:
            return self.override(request)
        if request.method == "PUT" and request.url.path == TOKEN_PATH:
            return self._token(request)
        token = request.headers.get(TOKEN_HEADER)
        if token is not None and self.mode != "unsupported" and token not in self.valid_tokens:
            return httpx.Response(401)
        if token is None and self.mode == "required":
            return httpx.Response(401)
        if request.url.path == ROLE_PATH:
            return httpx.Response(200, text=self.role_body)
        if request.url.path == ROLE_PATH + ROLE:
            return httpx.Response(200, json=self.document)
        return httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.mode == "unsupported":
            return httpx.Response(404)
        assert request.headers[TOKEN_TTL_HEADER].isdigit()
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return httpx.Response(200, text=token)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@pytest.fixture
def imds() -> FakeImds:
    return FakeImds()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(imds: FakeImds, fake_time: FakeTime, **kwargs: object) -> MetadataClient:
    environ = kwargs.pop("environ", {})
    return MetadataClient(
        endpoint="http://127.0.0.1:9",
        environ=environ,  # type: ignore[arg-type]
        transport=imds.transport(),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        **kwargs,  # type: ignore[arg-type]
    )


# -- role name ----------------------------------------------------------------------------


def test_discovered_role_name_is_stripped_to_its_first_line(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.role_body = f"  {ROLE}\r\nsecond-line\n"
    assert make_client(imds, fake_time).discover_role_name() == ROLE


@pytest.mark.parametrize("bad", ["../../latest/api/token", "role/with/slash", "a" * 65, "", "role?x=1", "rôle"])
def test_a_malformed_role_name_from_the_server_is_refused(imds: FakeImds, fake_time: FakeTime, bad: str) -> None:
    imds.role_body = bad
    with pytest.raises(MetadataError, match="invalid RAM role name"):
        make_client(imds, fake_time).discover_role_name()


def test_a_malformed_configured_role_name_never_reaches_a_url(imds: FakeImds, fake_time: FakeTime) -> None:
    with pytest.raises(MetadataError, match="invalid RAM role name"):
        make_client(imds, fake_time).fetch_credentials("x/../../token")
    assert imds.requests == []


def test_check_role_name_accepts_the_documented_alphabet() -> None:
    assert check_role_name("Ab0._-z\n", origin="test") == "Ab0._-z"


def test_no_role_attached_is_not_retried_and_names_the_pod_annotation(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.override = lambda request: httpx.Response(404)
    with pytest.raises(MetadataError) as caught:
        make_client(imds, fake_time).discover_role_name()
    assert str(caught.value) == NO_ROLE_MESSAGE
    assert "k8s.aliyun.com/eci-ram-role-name" in str(caught.value)
    assert imds.paths().count(f"GET {ROLE_PATH}") == 1
    assert fake_time.sleeps == []


def test_unknown_role_gives_a_404_error_naming_the_role(imds: FakeImds, fake_time: FakeTime) -> None:
    with pytest.raises(MetadataError, match="'other-role' is not attached"):
        make_client(imds, fake_time).fetch_credentials("other-role")


# -- credentials document -------------------------------------------------------------------


def test_credentials_are_parsed_with_an_aware_utc_expiration(imds: FakeImds, fake_time: FakeTime) -> None:
    creds = make_client(imds, fake_time).fetch_credentials(ROLE)
    assert creds.access_key_id == "STS.NUgYrLnoC37mZZCNnAbez2wxyz"
    assert creds.access_key_secret == SECRET
    assert creds.security_token == TOKEN
    assert creds.expiration == datetime(2030, 6, 9, 9, 17, 19, tzinfo=timezone.utc)
    assert SECRET not in repr(creds) and TOKEN not in repr(creds)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2030-06-09T09:17:19Z", datetime(2030, 6, 9, 9, 17, 19, tzinfo=timezone.utc)),
        ("2030-06-09T09:17:19.5Z", datetime(2030, 6, 9, 9, 17, 19, 500000, tzinfo=timezone.utc)),
        ("2030-06-09T09:17:19.123456789Z", datetime(2030, 6, 9, 9, 17, 19, 123456, tzinfo=timezone.utc)),
        ("2030-06-09T09:17:19+00:00", datetime(2030, 6, 9, 9, 17, 19, tzinfo=timezone.utc)),
        ("2030-06-09T09:17:19", datetime(2030, 6, 9, 9, 17, 19, tzinfo=timezone.utc)),
    ],
)
def test_expiration_parsing_is_lenient_about_fractions(text: str, expected: datetime) -> None:
    assert parse_expiration(text) == expected


@pytest.mark.parametrize("text", ["tomorrow", "2030-06-09T09:17:19+08:00", "", None, 12345])
def test_expiration_parsing_rejects_non_utc_or_garbage(text: object) -> None:
    with pytest.raises(ValueError):
        parse_expiration(text)


@pytest.mark.parametrize(
    "document, message",
    [
        (good_document(Code="Failed"), "Code=Failed, not Success"),
        (good_document(Code=None), "Code=missing"),
        ({k: v for k, v in good_document().items() if k != "SecurityToken"}, "lacks SecurityToken"),
        (good_document(AccessKeySecret=""), "lacks AccessKeySecret"),
        (good_document(Expiration="soon"), "Expiration is not an ISO 8601"),
        ([1, 2], "Code=missing"),
    ],
)
def test_a_bad_credentials_document_is_refused(
    imds: FakeImds, fake_time: FakeTime, document: object, message: str
) -> None:
    imds.override = lambda request: httpx.Response(200, json=document)
    with pytest.raises(MetadataError, match=message):
        make_client(imds, fake_time).fetch_credentials(ROLE)


def test_invalid_json_is_refused(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.override = lambda request: httpx.Response(200, text="{not json")
    with pytest.raises(MetadataError, match="invalid JSON"):
        make_client(imds, fake_time).fetch_credentials(ROLE)


# -- hardened mode ----------------------------------------------------------------------------


def test_required_mode_every_get_carries_the_token_and_one_token_is_reused(fake_time: FakeTime) -> None:
    imds = FakeImds(mode="required")
    client = make_client(imds, fake_time)
    client.discover_role_name()
    client.fetch_credentials(ROLE)
    client.fetch_credentials(ROLE)
    gets = [r for r in imds.requests if r.method == "GET"]
    assert len(gets) == 3 and all(r.headers.get(TOKEN_HEADER) == "token-1" for r in gets)
    assert imds.tokens_issued == 1
    assert client.hardened is True


def test_the_token_is_renewed_once_most_of_its_ttl_is_used(imds: FakeImds, fake_time: FakeTime) -> None:
    client = make_client(imds, fake_time, token_ttl=100)
    client.fetch_credentials(ROLE)
    fake_time.now += 79
    client.fetch_credentials(ROLE)
    assert imds.tokens_issued == 1
    fake_time.now += 2
    client.fetch_credentials(ROLE)
    assert imds.tokens_issued == 2
    assert imds.requests[-1].headers[TOKEN_HEADER] == "token-2"


@pytest.mark.parametrize("status", [403, 404])
def test_a_refused_token_put_falls_back_to_tokenless(imds: FakeImds, fake_time: FakeTime, status: int) -> None:
    imds.failures = [status]
    client = make_client(imds, fake_time)
    assert client.fetch_credentials(ROLE).access_key_secret == SECRET
    assert TOKEN_HEADER not in imds.requests[-1].headers
    assert client.hardened is False


def test_a_connection_error_on_the_token_put_falls_back_without_retrying(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.failures = [httpx.ConnectError("refused")]
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)
    assert imds.paths() == [f"PUT {TOKEN_PATH}", f"GET {ROLE_PATH}{ROLE}"]
    assert client.hardened is False


def test_unsupported_mode_with_imdsv1_disabled_refuses_tokenless(fake_time: FakeTime) -> None:
    imds = FakeImds(mode="unsupported")
    client = make_client(imds, fake_time, environ={"ALIBABA_CLOUD_IMDSV1_DISABLED": "true"})
    with pytest.raises(MetadataError, match="ALIBABA_CLOUD_IMDSV1_DISABLED=true"):
        client.fetch_credentials(ROLE)
    assert imds.paths() == [f"PUT {TOKEN_PATH}"]


def test_a_401_on_a_get_refetches_the_token_once(imds: FakeImds, fake_time: FakeTime) -> None:
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)
    imds.valid_tokens.clear()  # the server restarted and forgot its tokens
    assert client.fetch_credentials(ROLE).access_key_secret == SECRET
    assert imds.tokens_issued == 2
    assert imds.paths()[-3:] == [f"GET {ROLE_PATH}{ROLE}", f"PUT {TOKEN_PATH}", f"GET {ROLE_PATH}{ROLE}"]


def test_a_second_401_is_an_error_not_a_loop(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.override = lambda request: httpx.Response(401)
    with pytest.raises(MetadataError, match="unexpected HTTP 401"):
        make_client(imds, fake_time).fetch_credentials(ROLE)
    assert imds.paths().count(f"PUT {TOKEN_PATH}") == 2


def test_tokenless_refused_says_hardened_mode(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.override = lambda r: httpx.Response(404) if r.method == "PUT" else httpx.Response(403)
    imds.override_put = True
    with pytest.raises(MetadataError, match="hardened mode required"):
        make_client(imds, fake_time).fetch_credentials(ROLE)


# -- retries, redirects, caps -------------------------------------------------------------------


def test_two_500s_then_success(imds: FakeImds, fake_time: FakeTime) -> None:
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)  # token cached
    imds.failures = [500, 500]
    assert client.fetch_credentials(ROLE).access_key_secret == SECRET
    assert len(fake_time.sleeps) == 2


@pytest.mark.parametrize("failure", [429, 503, httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_transient_failures_are_retried(imds: FakeImds, fake_time: FakeTime, failure: object) -> None:
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)
    imds.failures = [failure]  # type: ignore[list-item]
    client.fetch_credentials(ROLE)
    assert len(fake_time.sleeps) == 1


def test_a_dead_server_fails_within_30_seconds_with_a_hint(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.override = lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused"))
    imds.override_put = True
    started = fake_time.now
    with pytest.raises(MetadataError, match="reachable") as caught:
        make_client(imds, fake_time).fetch_credentials(ROLE)
    assert "ConnectError" in str(caught.value)
    assert 0 < fake_time.now - started <= 30.0
    assert len(imds.requests) >= 3


def test_retries_stop_at_the_policy_bound(imds: FakeImds, fake_time: FakeTime) -> None:
    imds.override = lambda request: httpx.Response(500)
    policy = BackoffPolicy(max_attempts=3, base=0.1, cap=1.0, deadline=30.0)
    with pytest.raises(MetadataError, match="HTTP 500"):
        make_client(imds, fake_time, policy=policy).discover_role_name()
    assert imds.paths().count(f"GET {ROLE_PATH}") == 3


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_error_and_its_target_is_never_contacted(
    imds: FakeImds, fake_time: FakeTime, status: int
) -> None:
    imds.override = lambda request: httpx.Response(status, headers={"Location": "http://127.0.0.2:1/steal"})
    imds.override_put = True
    with pytest.raises(MetadataError, match="redirect"):
        make_client(imds, fake_time).fetch_credentials(ROLE)
    assert all(r.url.host == "127.0.0.1" for r in imds.requests)
    assert len(imds.requests) == 1  # the PUT got the redirect; nothing followed, nothing retried


def test_a_declared_huge_body_is_refused_before_reading(imds: FakeImds, fake_time: FakeTime) -> None:
    produced: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(1000):
            produced.append(1)
            yield b"A" * 65536

    imds.override = lambda request: httpx.Response(
        200, headers={"Content-Length": str(50 * 1024 * 1024)}, content=body()
    )
    with pytest.raises(MetadataError, match="larger than"):
        make_client(imds, fake_time).fetch_credentials(ROLE)
    assert len(produced) == 0


def test_an_undeclared_huge_body_stops_being_read_past_the_cap(imds: FakeImds, fake_time: FakeTime) -> None:
    produced: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(800):  # 50 MB if read to the end
            produced.append(1)
            yield b"A" * 65536

    imds.override = lambda request: httpx.Response(200, content=body())
    with pytest.raises(MetadataError, match=f"larger than {CREDENTIALS_BODY_CAP}"):
        make_client(imds, fake_time).fetch_credentials(ROLE)
    assert len(produced) <= CREDENTIALS_BODY_CAP // 65536 + 2


# -- configuration ------------------------------------------------------------------------------


def test_the_endpoint_comes_from_the_environment(imds: FakeImds) -> None:
    client = MetadataClient(environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": "http://127.0.0.1:8111/"},
                            transport=imds.transport())
    client.discover_role_name()
    assert {(r.url.host, r.url.port) for r in imds.requests} == {("127.0.0.1", 8111)}


def test_an_explicit_endpoint_beats_the_environment(imds: FakeImds) -> None:
    client = MetadataClient(endpoint="http://[::1]:8222", environ={"ALIBABA_CLOUD_IMDS_ENDPOINT": "http://127.0.0.1:1"},
                            transport=imds.transport())
    client.discover_role_name()
    assert imds.requests[0].url.port == 8222


@pytest.mark.parametrize("endpoint", ["ftp://127.0.0.1", "http://user:pw@127.0.0.1", "http://127.0.0.1/x", "http://"])
def test_a_bad_endpoint_is_a_usage_error(endpoint: str) -> None:
    with pytest.raises(UsageError):
        MetadataClient(endpoint=endpoint, environ={})


def test_the_client_ignores_proxy_variables_and_does_not_follow_redirects() -> None:
    client = MetadataClient(endpoint="http://127.0.0.1:9", environ={})
    assert client._http.trust_env is False
    assert client._http.follow_redirects is False


def test_repr_shows_no_token(imds: FakeImds, fake_time: FakeTime) -> None:
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)
    assert "token-1" not in repr(client)
    assert json.dumps(repr(client))


def test_the_tokenless_fallback_is_remembered_instead_of_a_put_per_fetch(fake_time: FakeTime) -> None:
    imds = FakeImds(mode="unsupported")
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)
    client.fetch_credentials(ROLE)
    assert imds.paths().count(f"PUT {TOKEN_PATH}") == 1
    assert client.hardened is False


def test_a_server_turning_hardened_later_gets_a_token_on_the_next_401(fake_time: FakeTime) -> None:
    imds = FakeImds(mode="unsupported")
    client = make_client(imds, fake_time)
    client.fetch_credentials(ROLE)
    imds.mode = "required"
    assert client.fetch_credentials(ROLE).access_key_secret == SECRET
    assert client.hardened is True
    assert imds.requests[-1].headers[TOKEN_HEADER] == "token-1"


def test_a_body_that_trickles_in_is_abandoned_after_the_read_budget(
    imds: FakeImds, fake_time: FakeTime
) -> None:
    """The read timeout bounds each wait; a byte every 1.5 s would pass it for hours."""
    produced: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(CREDENTIALS_BODY_CAP // 2):
            produced.append(1)
            fake_time.now += 1.5
            yield b" "

    imds.override = lambda request: httpx.Response(200, content=body())
    with pytest.raises(MetadataError, match="still arriving"):
        make_client(imds, fake_time).fetch_credentials(ROLE)
    assert len(produced) <= 10
