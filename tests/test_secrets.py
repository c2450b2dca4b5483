"""Secrets never leave: every error path of metadata, credentials and client runs with all
logging at DEBUG captured, and no secret (AccessKeySecret, SecurityToken, metadata session
token, OIDC token, static secret) may appear in an exception's message, repr or traceback
(what ``-v`` prints), in a repr, in a log record, or on stdout/stderr.

The last tests run the real CLI with ``-v`` in a subprocess against the emulator.
"""

from __future__ import annotations

import http.server
import json
import logging
import subprocess
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from osslist.backoff import BackoffPolicy
from osslist.client import describe_identity, make_bucket_client
from osslist.credentials import Credentials, StaticProvider
from osslist.sources import resolve_provider
from osslist.emulator import Emulator
from osslist.errors import OsslistError
from osslist.metadata import MetadataClient
from tests.helpers import child_env, run_cli

FAST = BackoffPolicy(max_attempts=3, base=0.01, cap=0.02, deadline=2.0)
ENV_SECRET = "envSecretValue-DO-NOT-LEAK-0123456789"
ENV_TOKEN = "envSessionToken-DO-NOT-LEAK-abcdefgh"
OIDC_SECRET = "oidcTokenValue.DO-NOT-LEAK.0123456789"


class Harness:
    """One emulator plus everything a scenario makes; collects every secret value seen."""

    def __init__(self, emu: Emulator, tmp_path: Path) -> None:
        self.emu = emu
        self.tmp_path = tmp_path
        self.clients: list[MetadataClient] = []
        self.extra_secrets: set[str] = {ENV_SECRET, ENV_TOKEN, OIDC_SECRET}

    def env(self, **extra: str) -> dict[str, str]:
        return {"ALIBABA_CLOUD_IMDS_ENDPOINT": self.emu.metadata_url, **extra}

    def metadata_provider(self, clock: Callable[[], float] | None = None, **extra: str) -> Any:
        env = self.env(**extra)
        client = MetadataClient(environ=env, policy=FAST)
        self.clients.append(client)
        kwargs: dict[str, Any] = {"clock": clock} if clock else {}
        return resolve_provider("metadata", environ=env, metadata_client=client, **kwargs)

    def bucket(self, provider: Any, name: str = "bucket-a", **kwargs: Any) -> Any:
        kwargs.setdefault("region", "cn-hangzhou")
        return make_bucket_client(name, kwargs.pop("endpoint", self.emu.oss_endpoint), provider, policy=FAST,
                                  **kwargs)

    def secrets(self) -> set[str]:
        found = set(self.extra_secrets)
        for issued in self.emu.issued_credentials:
            found.add(issued.access_key_secret)
            if issued.security_token:
                found.add(issued.security_token)
        for client in self.clients:
            if client._token:
                found.add(client._token)
        found.update(self.emu.config.oidc_tokens)
        return {s for s in found if s}


# -- scenarios: each provokes one error path (or a success, whose logs must be clean too) ----------


def metadata_code_failed(h: Harness) -> None:
    h.emu.faults.metadata_code = "Failed"
    h.metadata_provider().get_credentials()


def metadata_no_role(h: Harness) -> None:
    h.emu.faults.metadata.fail_next(5, 404)
    h.metadata_provider().get_credentials()


def metadata_server_errors(h: Harness) -> None:
    h.emu.faults.metadata.fail_next(20, 500, match="security-credentials/osslist")
    h.metadata_provider().get_credentials()


def metadata_redirect(h: Harness) -> None:
    h.emu.faults.metadata_redirect = "http://127.0.0.1:1/elsewhere"
    h.metadata_provider().get_credentials()


def metadata_huge_body(h: Harness) -> None:
    h.emu.faults.metadata_huge_body = 2 * 1024 * 1024
    h.metadata_provider().get_credentials()


def metadata_tokenless_forbidden(h: Harness) -> None:
    h.emu.faults.metadata.fail_next(1, 404, match="api/token")
    h.metadata_provider(ALIBABA_CLOUD_IMDSV1_DISABLED="true").get_credentials()


def mandatory_refresh_fails(h: Harness) -> None:
    now = [h.emu.now()]
    provider = h.metadata_provider(clock=lambda: now[0])
    provider.get_credentials()
    now[0] += 6 * 3600 - 60  # inside the mandatory window
    h.emu.faults.metadata.fail_next(20, 503)
    provider.get_credentials()


def same_set_at_the_floor(h: Harness) -> None:
    now = [h.emu.now()]
    provider = h.metadata_provider(clock=lambda: now[0])
    provider.get_credentials()
    now[0] += 6 * 3600 - 5  # the server still hands out the same set
    provider.get_credentials()


def env_keys_half_set(h: Harness) -> None:
    resolve_provider("auto", environ={"ALIBABA_CLOUD_ACCESS_KEY_SECRET": ENV_SECRET,
                                      "ALIBABA_CLOUD_SECURITY_TOKEN": ENV_TOKEN})


def sts_refuses_the_oidc_token(h: Harness) -> None:
    token_file = h.tmp_path / "token"
    token_file.write_text(OIDC_SECRET)
    resolve_provider("rrsa", environ={
        "ALIBABA_CLOUD_ROLE_ARN": h.emu.config.sts_role_arn,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": h.emu.config.sts_oidc_provider_arn,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file), "ALIBABA_CLOUD_STS_ENDPOINT": h.emu.sts_endpoint,
    }).get_credentials()


def sts_success_then_listing(h: Harness) -> None:
    token_file = h.tmp_path / "token"
    token_file.write_text(h.emu.config.oidc_tokens[0])
    provider = resolve_provider("rrsa", environ={
        "ALIBABA_CLOUD_ROLE_ARN": h.emu.config.sts_role_arn,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": h.emu.config.sts_oidc_provider_arn,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file), "ALIBABA_CLOUD_STS_ENDPOINT": h.emu.sts_endpoint,
    })
    h.emu.seed("bucket-a", 3)
    h.bucket(provider).get_listing_page({"max-keys": "10"})
    print(json.dumps(describe_identity(provider)))


def hardened_listing_succeeds(h: Harness) -> None:
    h.emu.seed("bucket-a", 3)
    provider = h.metadata_provider()
    h.bucket(provider).get_listing_page({"max-keys": "10"})
    print(json.dumps(describe_identity(provider)))
    print(repr(provider), repr(provider.get_credentials()), str(provider.get_credentials()))


def oss_no_such_bucket(h: Harness) -> None:
    h.bucket(h.metadata_provider()).get_listing_page({})


def oss_access_denied(h: Harness) -> None:
    h.emu.deny_bucket("bucket-a")
    h.bucket(h.metadata_provider(), signature_version=1, region=None).get_listing_page({})


def oss_unknown_key(h: Harness) -> None:
    h.emu.create_bucket("bucket-a")
    h.bucket(StaticProvider(Credentials("LTAIunknownKey0000wxyz", ENV_SECRET, ENV_TOKEN))).get_listing_page({})


def oss_wrong_secret(h: Harness) -> None:
    h.emu.create_bucket("bucket-a")
    real = h.emu.issue_credentials()
    wrong = Credentials(real.access_key_id, ENV_SECRET, real.security_token)
    h.bucket(StaticProvider(wrong)).get_listing_page({})


def oss_token_expired_twice(h: Harness) -> None:
    h.emu.create_bucket("bucket-a")
    gone = h.emu.issue_credentials(lifetime=0.001)
    while not gone.expired(h.emu.now()):
        threading.Event().wait(0.01)
    h.bucket(StaticProvider(Credentials(gone.access_key_id, gone.access_key_secret, gone.security_token))
             ).get_listing_page({})


def oss_keeps_failing(h: Harness) -> None:
    h.emu.create_bucket("bucket-a")
    h.emu.faults.error_every(1, 503)
    h.bucket(h.metadata_provider()).get_listing_page({})


def oss_drops_connections(h: Harness) -> None:
    h.emu.create_bucket("bucket-a")
    h.emu.faults.drop_every(1)
    h.bucket(h.metadata_provider()).get_listing_page({})


class EchoingOss:
    """A hostile OSS: its 403 error body echoes the security token and Authorization."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.headers.get("x-oss-security-token", "")
                auth = self.headers.get("authorization", "")
                body = (f"<Error><Code>InvalidSecurityToken</Code><Message>token {token} auth {auth}</Message>"
                        f"<RequestId>echo-1</RequestId><SecurityToken>{token}</SecurityToken></Error>").encode()
                self.send_response(403)
                self.send_header("x-oss-request-id", "echo-1")
                self.send_header("x-oss-echo", token)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def oss_error_body_echoes_the_token(h: Harness) -> None:
    echo = EchoingOss()
    try:
        h.bucket(h.metadata_provider(), endpoint=echo.url).get_listing_page({})
    finally:
        echo.close()


SCENARIOS = [
    metadata_code_failed, metadata_no_role, metadata_server_errors, metadata_redirect, metadata_huge_body,
    metadata_tokenless_forbidden, mandatory_refresh_fails, same_set_at_the_floor, env_keys_half_set,
    sts_refuses_the_oidc_token, sts_success_then_listing, hardened_listing_succeeds, oss_no_such_bucket,
    oss_access_denied, oss_unknown_key, oss_wrong_secret, oss_token_expired_twice, oss_keeps_failing,
    oss_drops_connections, oss_error_body_echoes_the_token,
]
EXPECTED_EXIT = {
    metadata_code_failed: 3, metadata_no_role: 3, metadata_server_errors: 3, metadata_redirect: 3,
    metadata_huge_body: 3, metadata_tokenless_forbidden: 3, mandatory_refresh_fails: 3, same_set_at_the_floor: 3,
    env_keys_half_set: 3, sts_refuses_the_oidc_token: 3, oss_no_such_bucket: 4, oss_access_denied: 4,
    oss_unknown_key: 4, oss_wrong_secret: 4, oss_token_expired_twice: 4, oss_keeps_failing: 1,
    oss_drops_connections: 1, oss_error_body_echoes_the_token: 4,
}


def exception_texts(exc: BaseException) -> list[str]:
    """Message, repr, the full chained traceback (what -v prints) and the causes' reprs."""
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    cause: BaseException | None = exc
    while cause is not None:
        texts += [str(cause), repr(cause)]
        cause = cause.__cause__ or cause.__context__
    return texts


@pytest.fixture
def harness(make_emulator: Callable[..., Emulator], tmp_path: Path) -> Iterator[Harness]:
    yield Harness(make_emulator(metadata_mode="required"), tmp_path)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_no_secret_in_errors_logs_or_output(
    scenario: Callable[[Harness], None], harness: Harness, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("oss2", "oss2.api", "oss2.http", "urllib3", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)  # as a careless -v would
    texts: list[str] = []
    try:
        scenario(harness)
    except OsslistError as exc:
        assert exc.exit_code == EXPECTED_EXIT[scenario], str(exc)
        assert "\n" not in str(exc)
        texts += exception_texts(exc)
    else:
        assert scenario not in EXPECTED_EXIT, "the scenario was expected to fail"
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    secrets = harness.secrets()
    assert secrets, "the scenario should have produced at least one secret to look for"
    leaks = [(secret[:6], text[:120]) for secret in secrets for text in texts if secret in text]
    assert leaks == []


# -- the CLI with -v, in a subprocess ------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, expected_exit",
    [("ok", 0), ("no_such_bucket", 4), ("code_failed", 3), ("whoami", 0)],
)
def test_cli_verbose_prints_no_secret(make_emulator: Callable[..., Emulator], case: str, expected_exit: int) -> None:
    emu = make_emulator(metadata_mode="required")
    if case == "ok":
        emu.seed("bucket-a", 5)
    if case == "code_failed":
        emu.faults.metadata_code = "Failed"
    if case == "whoami":
        args = ["whoami", "-v", "--format", "json"]
    else:
        args = ["ls", "-v", "--bucket", "bucket-a", "--endpoint", emu.oss_endpoint, "--region", "cn-hangzhou"]
    result = run_cli(args, child_env(emu), stdout=subprocess.PIPE)
    if result.returncode == 2 and "No such" in result.stderr:
        pytest.skip(f"the CLI does not take these arguments yet: {result.stderr[:200]}")
    assert result.returncode == expected_exit, result.stderr[-2000:]
    secrets = {c.access_key_secret for c in emu.issued_credentials} | {
        c.security_token for c in emu.issued_credentials if c.security_token}
    assert secrets or case == "code_failed"
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr
