"""The bucket client and the credential sources end to end against the emulator (loopback).

Each test names the behaviour of issue 3 it checks. Waits are short and only make things
happen (a credential expiring, latency spreading a listing over rotations); nothing asserts
on time except the metadata failure bound, which runs on an injected clock in test_metadata.
"""

from __future__ import annotations

import http.server
import inspect
import logging
import threading
import re
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterator

import oss2
import oss2.credentials
import oss2.http
import pytest
import requests
from packaging.requirements import Requirement
from packaging.version import Version

from osslist.backoff import BackoffPolicy
from osslist.client import (
    BucketClient,
    OssHttpSession,
    describe_identity,
    make_bucket_client,
    normalize_endpoint,
    region_of,
    validate_bucket_name,
)
from osslist.credentials import Credentials, RefreshingCredentials, StaticProvider
from osslist.sources import resolve_provider
from osslist.emulator import Emulator
from osslist.errors import CredentialsError, MetadataError, OssRefused, OssUnavailable, UsageError
from osslist.metadata import CREDENTIALS_BODY_CAP, MetadataClient
from osslist.pages import ObjectRecord, parse_page
from tests.helpers import FakeTime

FAST = BackoffPolicy(max_attempts=4, base=0.01, cap=0.05, deadline=5.0)
CREDS_PATH = "/latest/meta-data/ram/security-credentials/"


def metadata_env(emu: Emulator, **extra: str) -> dict[str, str]:
    return {"ALIBABA_CLOUD_IMDS_ENDPOINT": emu.metadata_url, **extra}


def fast_metadata(emu: Emulator, env: dict[str, str]) -> MetadataClient:
    return MetadataClient(environ=env, policy=FAST)


def client_for(emu: Emulator, provider: Any, bucket: str = "bucket-a", **kwargs: Any) -> BucketClient:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("region", "cn-hangzhou")
    return make_bucket_client(bucket, emu.oss_endpoint, provider, **kwargs)


def list_keys(client: BucketClient, *, max_keys: int = 1000) -> list[str]:
    """Marker pagination over the raw pages (the listing module does this for real)."""
    keys: list[str] = []
    marker = ""
    while True:
        body = client.get_listing_page({"max-keys": str(max_keys), "marker": marker, "encoding-type": "url"})
        page = parse_page(body, api="v1")
        keys += [r.key for r in page.records if isinstance(r, ObjectRecord)]
        if not page.is_truncated:
            return keys
        marker = page.next_marker or keys[-1]


def seed_keys(emu: Emulator, bucket: str, count: int) -> list[str]:
    keys = [f"dir{i % 7}/object-{i:05d}.bin" for i in range(count)]
    emu.create_bucket(bucket)
    for key in keys:
        emu.put_object(bucket, key, size=len(key))
    return sorted(keys)


def metadata_gets(emu: Emulator, *, role_path: bool = False) -> list[Any]:
    return [
        r for r in emu.requests_for("metadata")
        if r.method == "GET" and (not role_path or (r.path.startswith(CREDS_PATH) and r.path != CREDS_PATH))
    ]


# -- validation before any network call -------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "A-bucket", "-abc", "abc-", "a" * 64, "has_underscore", "dot.name", ""])
def test_invalid_bucket_names_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError, match="invalid bucket name"):
        validate_bucket_name(name)


@pytest.mark.parametrize("name", ["abc", "my-bucket-01", "0" * 63])
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "endpoint, normalized",
    [
        ("oss-cn-hangzhou.aliyuncs.com", "https://oss-cn-hangzhou.aliyuncs.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://oss-cn-beijing-internal.aliyuncs.com", "https://oss-cn-beijing-internal.aliyuncs.com"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_endpoint_normalization_defaults_to_https(endpoint: str, normalized: str) -> None:
    assert normalize_endpoint(endpoint) == normalized


@pytest.mark.parametrize("endpoint", ["", "ftp://x.com", "https://u:p@x.com", "https://x.com/path", "http://x.com:99999",
                                      "https://x.com?q=1", "http://exa mple.com", "http://exa\tmple.com",
                                      "http://127.0.0.1:0", "http://[::1]:0", "https://-x.com", "http://a..b",
                                      "http://[::1%25eth0]:9"])
def test_bad_endpoints_are_usage_errors(endpoint: str) -> None:
    with pytest.raises(UsageError, match="endpoint"):
        normalize_endpoint(endpoint)


@pytest.mark.parametrize(
    "bad",
    [{"bucket": "bucket-a\n"}, {"region": "cn-hangzhou\n"}, {"endpoint": "http://127.0.0.\n1:9"}],
)
def test_a_trailing_newline_is_never_accepted(bad: dict[str, str]) -> None:
    """``$`` in a regex matches before a final newline: every check must match the whole text."""
    args: dict[str, Any] = {"bucket": "bucket-a", "endpoint": "http://127.0.0.1:9", "region": "cn-hangzhou", **bad}
    with pytest.raises(UsageError):
        make_bucket_client(args["bucket"], args["endpoint"], StaticProvider(Credentials("i", "s")),
                           region=args["region"])


def test_an_ipv6_literal_endpoint_lists_the_bucket(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(host="::1")
    keys = seed_keys(emu, "bucket-a", 5)
    client = client_for(emu, resolve_provider("auto", environ=metadata_env(emu)))
    assert client.endpoint == emu.oss_endpoint and emu.oss_endpoint.startswith("http://[::1]:")
    assert list_keys(client) == keys


def test_a_region_contradicting_the_endpoint_is_used_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    provider = StaticProvider(Credentials("i", "s"))
    with caplog.at_level(logging.WARNING, logger="osslist.client"):
        client = make_bucket_client("bucket-a", "oss-cn-shanghai.aliyuncs.com", provider, region="cn-hangzhou")
        make_bucket_client("bucket-a", "oss-cn-shanghai.aliyuncs.com", provider, region="cn-shanghai")
        make_bucket_client("bucket-a", "http://127.0.0.1:9", provider, region="cn-hangzhou")
    assert client.region == "cn-hangzhou"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "--region cn-hangzhou contradicts" in warnings[0] and "cn-shanghai" in warnings[0]


@pytest.mark.parametrize(
    "endpoint, region",
    [("https://oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"), ("https://oss-cn-beijing-internal.aliyuncs.com",
                                                              "cn-beijing"),
     ("https://oss-ap-southeast-1.aliyuncs.com", "ap-southeast-1"), ("http://127.0.0.1:9", None)],
)
def test_region_from_the_endpoint(endpoint: str, region: str | None) -> None:
    assert region_of(endpoint) == region


def test_v4_without_a_region_is_refused_and_v1_is_not(emulator: Emulator) -> None:
    provider = StaticProvider(Credentials("id", "secret"))
    with pytest.raises(UsageError, match="needs a region"):
        make_bucket_client("bucket-a", emulator.oss_endpoint, provider)
    client = make_bucket_client("bucket-a", emulator.oss_endpoint, provider, signature_version=1)
    assert client.region is None and client.signature_version == 1


def test_validation_makes_no_network_call(emulator: Emulator) -> None:
    provider = resolve_provider("auto", environ=metadata_env(emulator))
    for bad in ({"bucket": "Bad_Name"}, {"signature_version": 2}, {"region": "Not A Region"}, {"pool_size": 0}):
        args: dict[str, Any] = {"bucket": "bucket-a", "endpoint": emulator.oss_endpoint, "provider": provider,
                                "region": "cn-hangzhou", **bad}
        with pytest.raises(UsageError):
            make_bucket_client(**args)
    assert emulator.requests == []


def test_the_derived_region_is_used_for_an_aliyun_endpoint() -> None:
    client = make_bucket_client("bucket-a", "oss-cn-shenzhen.aliyuncs.com", StaticProvider(Credentials("i", "s")))
    assert client.region == "cn-shenzhen" and client.endpoint == "https://oss-cn-shenzhen.aliyuncs.com"


# -- listing through each credential source -------------------------------------------------------


@pytest.mark.parametrize("mode", ["required", "optional", "unsupported"])
def test_each_hardened_mode_lists_the_bucket(make_emulator: Callable[..., Emulator], mode: str) -> None:
    emu = make_emulator(metadata_mode=mode)
    expected = seed_keys(emu, "bucket-a", 25)
    provider = resolve_provider("auto", environ=metadata_env(emu))
    assert list_keys(client_for(emu, provider), max_keys=10) == expected
    assert provider.describe()["hardened_mode"] is (mode != "unsupported")
    gets = metadata_gets(emu)
    assert gets and all(r.status == 200 for r in gets)
    if mode == "required":
        assert all("x-aliyun-ecs-metadata-token" in r.headers for r in gets)


def test_unsupported_hardened_mode_with_imdsv1_disabled_is_a_credentials_error(
    make_emulator: Callable[..., Emulator],
) -> None:
    emu = make_emulator(metadata_mode="unsupported")
    provider = resolve_provider("auto", environ=metadata_env(emu, ALIBABA_CLOUD_IMDSV1_DISABLED="true"))
    with pytest.raises(MetadataError, match="IMDSV1_DISABLED") as caught:
        provider.get_credentials()
    assert caught.value.exit_code == 3
    assert metadata_gets(emu) == []


def test_a_role_name_with_a_trailing_newline_works(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(role_name_newline=True, role_name="pod-role")
    provider = resolve_provider("metadata", environ=metadata_env(emu))
    provider.get_credentials()
    assert provider.describe()["role_name"] == "pod-role"


def test_the_ecs_metadata_variable_means_no_discovery_request(emulator: Emulator) -> None:
    env = metadata_env(emulator, ALIBABA_CLOUD_ECS_METADATA="osslist-emulator-role")
    resolve_provider("auto", environ=env).get_credentials()
    assert [r.path for r in metadata_gets(emulator)] == [CREDS_PATH + "osslist-emulator-role"]


def test_no_role_attached_is_a_credentials_error_naming_the_annotation(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(role_name=None)
    with pytest.raises(MetadataError, match="k8s.aliyun.com/eci-ram-role-name") as caught:
        resolve_provider("auto", environ=metadata_env(emu)).get_credentials()
    assert caught.value.exit_code == 3


def test_code_failed_is_a_credentials_error(emulator: Emulator) -> None:
    emulator.faults.metadata_code = "Failed"
    with pytest.raises(CredentialsError, match="Code=Failed") as caught:
        resolve_provider("auto", environ=metadata_env(emulator)).get_credentials()
    assert caught.value.exit_code == 3


def test_two_500s_then_success(emulator: Emulator) -> None:
    emulator.faults.metadata.fail_next(2, 500, match=CREDS_PATH + "osslist")
    env = metadata_env(emulator)
    provider = resolve_provider("auto", environ=env, metadata_client=fast_metadata(emulator, env))
    assert provider.get_credentials().access_key_id.startswith("STS.")
    assert [r.status for r in metadata_gets(emulator, role_path=True)] == [500, 500, 200]


def test_a_closed_metadata_port_is_a_credentials_error() -> None:
    with Emulator() as emu:
        url = emu.metadata_url  # bound once, now closed
    env = {"ALIBABA_CLOUD_IMDS_ENDPOINT": url}
    provider = resolve_provider("auto", environ=env, metadata_client=MetadataClient(environ=env, policy=FAST))
    with pytest.raises(MetadataError, match="reachable") as caught:
        provider.get_credentials()
    assert caught.value.exit_code == 3


class Recorder:
    """A loopback HTTP server that records every request it gets (proxy or redirect target)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                seen.append(f"{self.command} {self.path}")
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST = do_CONNECT = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def test_a_redirect_is_not_followed(emulator: Emulator, recorder: Recorder) -> None:
    emulator.faults.metadata_redirect = recorder.url + "/steal"
    with pytest.raises(MetadataError, match="redirect") as caught:
        resolve_provider("auto", environ=metadata_env(emulator)).get_credentials()
    assert caught.value.exit_code == 3
    assert recorder.seen == []


def test_proxy_variables_never_see_a_metadata_request(
    emulator: Emulator, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, recorder.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    provider = resolve_provider("auto", environ=metadata_env(emulator))
    assert provider.get_credentials().access_key_id.startswith("STS.")
    assert recorder.seen == []
    assert len(metadata_gets(emulator)) == 2


@pytest.mark.parametrize("bypass", [False, True], ids=["proxied", "no-proxy"])
def test_oss_requests_honour_proxy_variables_read_once_at_construction(
    emulator: Emulator, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, bypass: bool
) -> None:
    expected = seed_keys(emulator, "bucket-a", 3)
    provider = resolve_provider("auto", environ=metadata_env(emulator))
    provider.get_credentials()  # the metadata client never uses a proxy (tested above)
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, recorder.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1") if bypass else monkeypatch.delenv(name, raising=False)
    client = client_for(emulator, provider)
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)  # read once: later changes do not matter
    if bypass:
        assert list_keys(client) == expected and recorder.seen == []
        return
    with pytest.raises(OssUnavailable):
        client.get_listing_page({"max-keys": "10"})
    assert len(recorder.seen) == FAST.max_attempts
    assert recorder.seen[0].startswith(f"GET {emulator.oss_endpoint}/bucket-a/?")


def test_a_50mb_body_is_refused_without_being_read(emulator: Emulator) -> None:
    emulator.faults.metadata_huge_body = 50 * 1024 * 1024
    provider = resolve_provider("auto", environ=metadata_env(emulator))
    tracemalloc.start()
    try:
        with pytest.raises(MetadataError, match=f"larger than {CREDENTIALS_BODY_CAP}") as caught:
            provider.get_credentials()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.exit_code == 3
    assert peak < 4 * 1024 * 1024  # the process never held the body


def test_static_env_keys_make_no_metadata_request(emulator: Emulator) -> None:
    emulator.add_static_key("LTAI5tStaticKey0000wxyz", "static-secret-value")
    expected = seed_keys(emulator, "bucket-a", 5)
    env = {**metadata_env(emulator), "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tStaticKey0000wxyz",
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "static-secret-value"}
    provider = resolve_provider("auto", environ=env)
    assert list_keys(client_for(emulator, provider)) == expected
    assert emulator.requests_for("metadata") == []
    assert {r.access_key_id for r in emulator.requests_for("oss")} == {"LTAI5tStaticKey0000wxyz"}


def test_rrsa_through_the_emulator_sts_rereads_a_rotated_token_file(emulator: Emulator, tmp_path: Path) -> None:
    expected = seed_keys(emulator, "bucket-a", 5)
    token_file = tmp_path / "token"
    token_file.write_text(emulator.config.oidc_tokens[0])
    env = {
        "ALIBABA_CLOUD_ROLE_ARN": emulator.config.sts_role_arn,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": emulator.config.sts_oidc_provider_arn,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
        "ALIBABA_CLOUD_STS_ENDPOINT": emulator.sts_endpoint,
        **metadata_env(emulator),
    }
    provider = resolve_provider("auto", environ=env)
    assert describe_identity(provider)["source"] == "rrsa"
    assert list_keys(client_for(emulator, provider)) == expected
    first = provider.get_credentials()
    emulator.set_oidc_tokens("rotated-oidc-token")  # kubelet rotated the projected token
    token_file.write_text("rotated-oidc-token")
    second = provider.force_refresh()
    assert second.access_key_id != first.access_key_id
    assert [r.status for r in emulator.requests_for("sts")] == [200, 200]
    assert emulator.requests_for("metadata") == []


def test_a_wrong_oidc_token_is_an_sts_error(emulator: Emulator, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("not-the-token")
    env = {"ALIBABA_CLOUD_ROLE_ARN": emulator.config.sts_role_arn,
           "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": emulator.config.sts_oidc_provider_arn,
           "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file), "ALIBABA_CLOUD_STS_ENDPOINT": emulator.sts_endpoint}
    with pytest.raises(CredentialsError, match="HTTP 4") as caught:
        resolve_provider("rrsa", environ=env).get_credentials()
    assert caught.value.exit_code == 3 and "not-the-token" not in str(caught.value)


def test_many_threads_during_a_refresh_cause_one_metadata_fetch(emulator: Emulator) -> None:
    emulator.faults.metadata_latency = 0.2
    provider = resolve_provider("auto", environ=metadata_env(emulator, ALIBABA_CLOUD_ECS_METADATA="osslist-emulator-role"))
    barrier = threading.Barrier(12)
    got: list[Credentials] = []

    def worker() -> None:
        barrier.wait()
        got.append(provider.get_credentials())

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(got) == 12 and len(set(got)) == 1
    assert len(metadata_gets(emulator, role_path=True)) == 1


def test_describe_identity_for_whoami(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(metadata_mode="required")
    info = describe_identity(resolve_provider("auto", environ=metadata_env(emu)))
    issued = emu.issued_credentials[-1]
    assert info["source"] == "metadata" and info["role_name"] == "osslist-emulator-role"
    assert info["hardened_mode"] is True
    assert info["access_key_id"] == "STS.****" + issued.access_key_id[-4:]
    assert info["expiration"] == issued.expiration_iso
    assert issued.access_key_secret not in repr(info)


# -- the bucket client: retries, refresh, errors ---------------------------------------------------


def test_5xx_and_dropped_connections_are_retried_without_skipping(emulator: Emulator) -> None:
    expected = seed_keys(emulator, "bucket-a", 60)
    emulator.faults.error_every(3, 503)
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)))
    assert list_keys(client, max_keys=7) == expected
    emulator.faults.reset()
    emulator.faults.drop_every(4)
    assert list_keys(client, max_keys=7) == expected
    oss = emulator.requests_for("oss")
    assert client.requests_made > len([r for r in oss if r.status == 200])


def test_persistent_5xx_becomes_oss_unavailable(emulator: Emulator) -> None:
    emulator.create_bucket("bucket-a")
    emulator.faults.error_every(1, 503)
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)))
    with pytest.raises(OssUnavailable, match=r"gave up after 4 tries in [\d.]+ s \(retry budget 5 s\): HTTP 503 ServiceUnavailable") as caught:
        client.get_listing_page({"max-keys": "10"})
    assert caught.value.exit_code == 1
    assert client.requests_made == FAST.max_attempts


def test_a_throttling_server_is_retried_for_the_whole_budget_not_a_few_tries(emulator: Emulator) -> None:
    """It gave up after 6 tries (about 3 s); now only the budget bounds the retries."""
    emulator.create_bucket("bucket-a")
    emulator.faults.error_every(1, 503)
    t = FakeTime()
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)),
                        policy=BackoffPolicy(max_attempts=None, base=1.0, cap=4.0), retry_budget=60.0,
                        sleep=t.sleep, clock=t.clock)
    with pytest.raises(OssUnavailable, match=r"retry budget 60 s\): HTTP 503 ServiceUnavailable"):
        client.get_listing_page({"max-keys": "10"})
    assert client.requests_made > 12 and 0 < t.now - 1000.0 <= 60.0


def test_the_budget_is_per_page_so_progress_resets_it(emulator: Emulator) -> None:
    """Every other request is refused; each retry costs 5 fake seconds against a 6-second
    budget. A budget shared by the range would run out on the second page; per page, the
    whole listing goes through."""
    expected = seed_keys(emulator, "bucket-a", 60)
    emulator.faults.error_every(2, 503)
    t = FakeTime()
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)),
                        policy=BackoffPolicy(max_attempts=None, base=0.001, cap=0.001), retry_budget=6.0,
                        sleep=lambda _pause: t.sleep(5.0), clock=t.clock)
    assert list_keys(client, max_keys=7) == expected
    assert t.now - 1000.0 >= 20.0  # four or more retries, 5 s each: more than one budget in all


@pytest.mark.parametrize("failure, throttling", [(503, True), (429, True), (500, False)])
def test_throttling_is_said_once_and_other_5xx_not_at_all(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, failure: int, throttling: bool
) -> None:
    expected = seed_keys(emulator, "bucket-a", 40)
    emulator.faults.error_every(2, failure)
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)))
    with caplog.at_level(logging.DEBUG, logger="osslist"):
        assert list_keys(client, max_keys=5) == expected
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == (1 if throttling else 0)
    if throttling:
        assert "OSS is throttling requests (HTTP %d" % failure in warnings[0] and "--retry-budget" in warnings[0]
    assert sum("retrying a request" in r.getMessage() for r in caplog.records) >= 4  # each retry at debug


def test_no_reply_at_all_gets_a_few_tries_not_the_whole_budget() -> None:
    provider = StaticProvider(Credentials("LTAI5tExampleKeyId0000", "secret"))
    t = FakeTime()
    client = make_bucket_client("bucket-a", "http://127.0.0.1:9", provider, region="cn-hangzhou",
                                policy=BackoffPolicy(max_attempts=None, base=0.01, cap=0.01),
                                retry_budget=300.0, sleep=t.sleep, clock=t.clock)
    with pytest.raises(OssUnavailable, match=r"gave up after 6 tries .*network error"):
        client.get_listing_page({"max-keys": "1"})
    assert client.requests_made == 6


@pytest.mark.parametrize("setup, code", [("missing", "NoSuchBucket"), ("denied", "AccessDenied")])
def test_refusals_name_bucket_endpoint_status_code_and_request_id(
    emulator: Emulator, setup: str, code: str
) -> None:
    if setup == "denied":
        emulator.deny_bucket("bucket-a")
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)))
    with pytest.raises(OssRefused) as caught:
        client.get_listing_page({"max-keys": "10"})
    err = caught.value
    assert err.exit_code == 4 and err.code == code and err.request_id
    text = str(err)
    for part in ("bucket-a", emulator.oss_endpoint, code, err.request_id, "HTTP 40"):
        assert part in text
    assert client.requests_made == 1


class SwitchingProvider:
    """Hands out ``first`` until forced to refresh, then ``second``; counts refreshes."""

    def __init__(self, first: Credentials, second: Credentials) -> None:
        self.current, self.second = first, second
        self.refreshes = 0

    def get_credentials(self) -> Credentials:
        return self.current

    def force_refresh(self, stale: Credentials | None = None) -> Credentials:
        self.refreshes += 1
        self.current = self.second
        return self.current

    def describe(self) -> dict[str, Any]:
        return {"source": "test"}


def as_credentials(issued: Any) -> Credentials:
    return Credentials(issued.access_key_id, issued.access_key_secret, issued.security_token, None)


def test_security_token_expired_forces_one_refresh_and_one_retry(emulator: Emulator) -> None:
    expected = seed_keys(emulator, "bucket-a", 3)
    expired = emulator.issue_credentials(lifetime=0.001)
    while not expired.expired(emulator.now()):
        time.sleep(0.01)
    provider = SwitchingProvider(as_credentials(expired), as_credentials(emulator.issue_credentials()))
    client = client_for(emulator, provider)
    assert list_keys(client) == expected
    assert provider.refreshes == 1
    assert [r.error_code for r in emulator.requests_for("oss")] == ["SecurityTokenExpired", None]


def test_a_key_error_that_survives_the_refresh_is_refused(emulator: Emulator) -> None:
    emulator.create_bucket("bucket-a")
    unknown = Credentials("STS.UnknownKeyId000000wxyz", "nope", "token", None)
    provider = SwitchingProvider(unknown, unknown)
    client = client_for(emulator, provider)
    with pytest.raises(OssRefused, match="InvalidAccessKeyId") as caught:
        client.get_listing_page({"max-keys": "10"})
    assert caught.value.exit_code == 4
    assert provider.refreshes == 1 and client.requests_made == 2
    assert "the role needs" not in str(caught.value)  # a bad key is not a missing RAM action


def test_v1_signatures_work_too(emulator: Emulator) -> None:
    expected = seed_keys(emulator, "bucket-a", 4)
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)), signature_version=1,
                        region=None)
    assert list_keys(client) == expected
    assert {r.signature_version for r in emulator.requests_for("oss")} == {"1"}


def test_a_long_listing_rides_over_rotating_5_second_credentials(make_emulator: Callable[..., Emulator]) -> None:
    """About 20 s of listing while 5-second credentials rotate underneath (2 s window)."""
    emu = make_emulator(metadata_mode="required", credential_lifetime=5.0, rotation_window=2.0)
    expected = seed_keys(emu, "bucket-a", 200)
    emu.faults.oss_latency = 0.05
    provider = resolve_provider("auto", environ=metadata_env(emu))
    client = client_for(emu, provider, pool_size=2)
    assert list_keys(client, max_keys=1) == expected
    oss = emu.requests_for("oss")
    assert all(r.status == 200 for r in oss), {r.error_code for r in oss}
    assert all(r.credentials_valid for r in oss)
    assert {r.signature_version for r in oss} == {"4"}
    key_ids = {r.access_key_id for r in oss}
    assert len(key_ids) >= 3
    assert key_ids <= {c.access_key_id for c in emu.issued_credentials}
    # the same-set back-off: far fewer credential fetches than OSS requests
    assert len(metadata_gets(emu, role_path=True)) < len(oss) / 4


def test_oss2_logger_stays_silent_at_debug(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    seed_keys(emulator, "bucket-a", 2)
    client = client_for(emulator, resolve_provider("auto", environ=metadata_env(emulator)))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("oss2.api").setLevel(logging.DEBUG)  # even when someone asks for it
        list_keys(client)
        emulator.delete_bucket("bucket-a")
        with pytest.raises(OssRefused):
            client.get_listing_page({})
    assert not [r for r in caplog.records if r.name.startswith("oss2")]
    assert not [r for r in caplog.records if r.name.startswith("urllib3") and r.levelno < logging.WARNING]


def test_repr_of_the_client_and_adapter_hold_no_secret(emulator: Emulator) -> None:
    provider = resolve_provider("auto", environ=metadata_env(emulator))
    client = client_for(emulator, provider)
    creds = provider.get_credentials()
    for text in (repr(client), repr(client._adapter), repr(provider), repr(creds)):
        assert creds.access_key_secret not in text and (creds.security_token or "x") not in text


def test_refreshing_credentials_is_what_resolve_returns_for_metadata(emulator: Emulator) -> None:
    assert isinstance(resolve_provider("metadata", environ=metadata_env(emulator)), RefreshingCredentials)


def test_a_credentials_failure_while_signing_stays_a_credentials_error(emulator: Emulator) -> None:
    emulator.create_bucket("bucket-a")
    now = [emulator.now()]
    env = metadata_env(emulator)
    provider = resolve_provider("auto", environ=env, clock=lambda: now[0],
                                metadata_client=fast_metadata(emulator, env))
    client = client_for(emulator, provider)
    client.get_listing_page({"max-keys": "1"})
    now[0] += 7 * 3600  # past expiry, and the metadata server is down
    emulator.faults.metadata.fail_next(50, 503)
    with pytest.raises(CredentialsError) as caught:
        client.get_listing_page({"max-keys": "1"})
    assert caught.value.exit_code == 3
    assert len(emulator.requests_for("oss")) == 1 == client.requests_made  # nothing signed with the expired set


def test_an_oss_redirect_is_not_followed_so_the_token_never_leaves(
    emulator: Emulator, recorder: Recorder
) -> None:
    """requests follows 3xx by default and strips only Authorization on a new host: the
    x-oss-security-token header would go to the redirect target. A 3xx is a refusal here."""
    seed_keys(emulator, "bucket-a", 3)
    provider = resolve_provider("auto", environ=metadata_env(emulator))
    client = client_for(emulator, provider)
    emulator.faults.oss_redirect = recorder.url + "/steal"
    with pytest.raises(OssRefused, match="HTTP 302") as caught:
        client.get_listing_page({"max-keys": "10"})
    assert caught.value.exit_code == 4
    assert recorder.seen == []


# -- the oss2 seam: the one private call, pinned and checked -----------------------------------------
# client._send calls oss2's private Bucket._do (CONTRIBUTING: the parser's speed). These fail loudly
# when an oss2 release changes what the client relies on; the redirect and proxy tests above check
# that the settings on OssHttpSession reach the wire.


def test_the_installed_oss2_is_inside_the_pinned_range() -> None:
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    pins = [Requirement(r) for r in re.findall(r'^\s*"(oss2[^"]*)"', text, flags=re.M)]
    assert len(pins) == 1
    specifier = pins[0].specifier
    assert any(spec.operator == "<" for spec in specifier), "oss2 must have an upper bound"
    assert Version(oss2.__version__) in specifier


def test_bucket_do_keeps_the_signature_the_client_calls() -> None:
    kinds = [(p.name, p.kind) for p in inspect.signature(oss2.Bucket._do).parameters.values()]
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert kinds == [("self", positional), ("method", positional), ("bucket_name", positional),
                     ("key", positional), ("kwargs", inspect.Parameter.VAR_KEYWORD)]
    assert "params" in inspect.signature(oss2.http.Request).parameters  # where **kwargs goes


def oss2_bucket(emu: Emulator, session: oss2.Session | None = None) -> oss2.Bucket:
    issued = emu.issue_credentials()
    auth = oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(
        issued.access_key_id, issued.access_key_secret, issued.security_token))
    return oss2.Bucket(auth, emu.oss_endpoint, "bucket-a", region="cn-hangzhou", session=session)


def test_bucket_do_hands_back_the_unparsed_body_and_raises_server_errors(emulator: Emulator) -> None:
    expected = seed_keys(emulator, "bucket-a", 5)
    bucket = oss2_bucket(emulator)
    response = bucket._do("GET", "bucket-a", "", params={"max-keys": "2", "encoding-type": "url"})
    assert isinstance(response.response, requests.Response)
    body = b"".join(response.response.iter_content(65536))
    assert [r.key for r in parse_page(body, api="v1").records] == expected[:2]
    emulator.faults.error_every(1, 503)
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket._do("GET", "bucket-a", "", params={"max-keys": "2"})
    err = caught.value
    assert (err.status, err.code, err.ec) == (503, "ServiceUnavailable", "0000-00000002") and err.request_id


def test_oss2_sends_through_the_requests_session_it_is_given(emulator: Emulator) -> None:
    seed_keys(emulator, "bucket-a", 1)
    sent: list[str] = []

    class Counting(OssHttpSession):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            sent.append(method)
            return super().request(method, url, *args, **kwargs)

    session = oss2.Session(pool_size=1)
    session.session = Counting(emulator.oss_endpoint, 1)
    oss2_bucket(emulator, session)._do("GET", "bucket-a", "", params={"max-keys": "1"})
    assert sent == ["GET"]
