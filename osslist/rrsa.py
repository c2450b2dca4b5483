"""RRSA (ACK pod identity): STS AssumeRoleWithOIDC with the token the webhook mounts.

The ack-pod-identity-webhook injects ``ALIBABA_CLOUD_ROLE_ARN``, ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN``
and ``ALIBABA_CLOUD_OIDC_TOKEN_FILE``; each refresh re-reads the token file (kubelet rotates it)
and exchanges it, as a POST form, for STS credentials that refresh like the metadata ones.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import httpx

from osslist.backoff import BackoffPolicy, RetriesExhausted, RetryPolicy, retry
from osslist.credentials import Credentials, RefreshingCredentials
from osslist.errors import StsError
from osslist.metadata import CREDENTIALS_BODY_CAP, Reply, credentials_from_document, env_flag, read_capped

RRSA_VARS = ("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE")

STS_DEFAULT_HOST = "sts.aliyuncs.com"
STS_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
STS_POLICY = BackoffPolicy(max_attempts=5, base=0.5, cap=5.0, deadline=30.0)
OIDC_TOKEN_CAP = 64 * 1024


def rrsa_configured(environ: Mapping[str, str]) -> bool:
    """RRSA applies only when the webhook injected all three variables."""
    return all(environ.get(name, "").strip() for name in RRSA_VARS)


def sts_endpoint(environ: Mapping[str, str]) -> str:
    """``ALIBABA_CLOUD_STS_ENDPOINT`` (scheme-less means https), else the regional default."""
    explicit = environ.get("ALIBABA_CLOUD_STS_ENDPOINT", "").strip()
    if explicit:
        url = explicit if "://" in explicit else f"https://{explicit}"
    else:
        region = environ.get("ALIBABA_CLOUD_STS_REGION", "").strip()
        vpc = env_flag(environ, "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED")
        host = f"sts{'-vpc' if vpc else ''}.{region}.aliyuncs.com" if region else STS_DEFAULT_HOST
        url = f"https://{host}"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise StsError("ALIBABA_CLOUD_STS_ENDPOINT is not a valid URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
        raise StsError("ALIBABA_CLOUD_STS_ENDPOINT must be HOST or http(s)://HOST[:PORT]")
    return url.rstrip("/")


class RrsaFetcher:
    """One AssumeRoleWithOIDC call per refresh, re-reading the token file each time
    (kubelet rotates it).

    Proxy variables are honoured only for an https endpoint: STS is public and pods may need
    an egress proxy to reach it, and through a CONNECT tunnel the proxy never sees the OIDC
    token; a plain-http endpoint (the emulator, a VPC test rig) is reached directly.
    """

    def __init__(
        self,
        *,
        role_arn: str,
        oidc_provider_arn: str,
        token_file: str,
        endpoint: str,
        session_name: str = "osslist",
        duration_seconds: int = 3600,
        transport: httpx.BaseTransport | None = None,
        policy: BackoffPolicy = STS_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.role_arn = role_arn
        self.oidc_provider_arn = oidc_provider_arn
        self.token_file = token_file
        self.endpoint = endpoint
        self.session_name = session_name
        self.duration_seconds = max(900, duration_seconds)
        self._retry = RetryPolicy(backoff=policy, exceptions=(httpx.TransportError,))
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=STS_TIMEOUT,
            trust_env=endpoint.startswith("https://"),
            follow_redirects=False,
            headers={"Accept-Encoding": "identity"},
        )

    def __repr__(self) -> str:
        return f"RrsaFetcher(role_arn={self.role_arn!r}, endpoint={self.endpoint!r})"

    def __call__(self) -> Credentials:
        form = {
            "Action": "AssumeRoleWithOIDC",
            "Version": "2015-04-01",
            "Format": "JSON",
            "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RoleArn": self.role_arn,
            "OIDCProviderArn": self.oidc_provider_arn,
            "OIDCToken": self._read_token(),
            "RoleSessionName": self.session_name,
            "DurationSeconds": str(self.duration_seconds),
        }
        status, body, date = self._post(form)
        return self._parse(status, body, date)

    def _read_token(self) -> str:
        try:
            with open(self.token_file, "rb") as handle:
                raw = handle.read(OIDC_TOKEN_CAP + 1)
        except OSError as exc:
            raise StsError(
                f"cannot read the OIDC token file {self.token_file} ({type(exc).__name__}); "
                "check ALIBABA_CLOUD_OIDC_TOKEN_FILE and the projected token volume"
            ) from exc
        token = raw.decode("utf-8", "replace").strip()
        if not token or len(raw) > OIDC_TOKEN_CAP:
            raise StsError(f"the OIDC token file {self.token_file} is empty or too large")
        return token

    def _post(self, form: dict[str, str]) -> tuple[int, bytes, str | None]:
        what = f"POST {self.endpoint}/ AssumeRoleWithOIDC"

        def post_once() -> Reply:
            with self._http.stream("POST", self.endpoint + "/", data=form) as response:
                body = read_capped(response, CREDENTIALS_BODY_CAP, what=what, error=StsError)
                return Reply(response.status_code, body, response.headers.get("date"))

        try:
            reply = retry(post_once, self._retry, sleep=self._sleep)
        except RetriesExhausted as gave_up:
            last = gave_up.last
            shown = f"HTTP {last.status}" if isinstance(last, Reply) else type(last).__name__
            raise StsError(f"{what}: STS kept failing ({shown}); is the STS endpoint reachable?") from None
        return reply.status, reply.body, reply.date

    def _parse(self, status: int, body: bytes, date: str | None = None) -> Credentials:
        what = f"STS AssumeRoleWithOIDC at {self.endpoint}"
        doc = parse_sts_body(body)
        if status != 200 or not isinstance(doc, dict):
            code, request_id = _sts_error_fields(doc)
            raise StsError(
                f"{what}: HTTP {status}, code {code}, request id {request_id}; check "
                "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and the role's trust policy"
            )
        role = credentials_from_document(doc.get("Credentials"), what=what, error=StsError, server_date=date)
        return Credentials.from_role(role, origin="STS")


def _xml_to_dict(element: ET.Element) -> dict[str, Any]:
    return {child.tag: _xml_to_dict(child) if len(child) else (child.text or "") for child in element}


def parse_sts_body(body: bytes) -> dict[str, Any] | None:
    """An STS answer as a dict: JSON (what ``Format=JSON`` asks for) or XML (the RPC default,
    should an STS or a gateway in front of it ignore Format); None when it is neither."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if doc is None and body.lstrip().startswith(b"<"):
        try:
            doc = _xml_to_dict(ET.fromstring(body))
        except ET.ParseError:
            doc = None
    return doc if isinstance(doc, dict) else None


def _sts_error_fields(doc: Any) -> tuple[str, str]:
    """Code and RequestId of an STS error, only when they look like identifiers (no echo)."""
    if not isinstance(doc, dict):
        return "unknown", "unknown"
    return _identifier(doc.get("Code")), _identifier(doc.get("RequestId"))


def _identifier(value: object) -> str:
    """``value`` when it looks like an identifier, else ``"unknown"`` (nothing else is echoed)."""
    if isinstance(value, str) and 0 < len(value) <= 80 and all(ch.isalnum() or ch in ".-_" for ch in value):
        return value
    return "unknown"


def rrsa_provider(
    environ: Mapping[str, str],
    *,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> RefreshingCredentials:
    """RRSA from the webhook's variables; fails with the names of the missing ones."""
    missing = [name for name in RRSA_VARS if not environ.get(name, "").strip()]
    if missing:
        raise StsError(f"RRSA needs {', '.join(missing)} (set by the ACK RRSA webhook)")
    fetcher = RrsaFetcher(
        role_arn=environ["ALIBABA_CLOUD_ROLE_ARN"].strip(),
        oidc_provider_arn=environ["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"].strip(),
        token_file=environ["ALIBABA_CLOUD_OIDC_TOKEN_FILE"].strip(),
        endpoint=sts_endpoint(environ),
        session_name=environ.get("ALIBABA_CLOUD_ROLE_SESSION_NAME", "").strip() or "osslist",
        transport=transport,
    )

    def details() -> dict[str, Any]:
        return {"role_arn": fetcher.role_arn, "sts_endpoint": fetcher.endpoint}

    return RefreshingCredentials(fetcher, method="rrsa", clock=clock, details=details)


__all__ = [
    "RRSA_VARS",
    "RrsaFetcher",
    "rrsa_configured",
    "rrsa_provider",
    "sts_endpoint",
]
