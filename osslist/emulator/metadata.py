"""The ECS/ECI instance metadata server, as far as RAM role credentials go.

Routes: ``PUT /latest/api/token`` (hardened mode), ``GET /latest/meta-data/ram/security-
credentials/`` (role name) and ``GET .../security-credentials/<role>`` (the credentials
document). Mode, TTL bounds and status codes follow facts.md section 1.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Callable, Iterator

from osslist.emulator.config import EmulatorConfig
from osslist.emulator.credentials import RotatingRole, iso_utc
from osslist.emulator.faults import Faults
from osslist.emulator.server import HttpRequest, HttpResponse

TOKEN_PATH = "/latest/api/token"
ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TTL_HEADER = "x-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aliyun-ecs-metadata-token"
_TEXT = {"Content-Type": "text/plain"}
_CHUNK = 64 * 1024


def _text(status: int, body: str = "", code: str | None = None) -> HttpResponse:
    return HttpResponse(status, body.encode(), dict(_TEXT), error_code=code)


def _huge_body(size: int) -> Iterator[bytes]:
    """``size`` bytes that start like a credentials document, produced chunk by chunk."""
    head = b'{"Code":"Success","AccessKeyId":"'
    yield head
    remaining = size - len(head)
    chunk = b"A" * _CHUNK
    while remaining > 0:
        piece = chunk if remaining >= _CHUNK else chunk[:remaining]
        remaining -= len(piece)
        yield piece


class MetadataService:
    """Handlers of the metadata server; state lives in the role, token table and config."""

    name = "metadata"

    def __init__(self, config: EmulatorConfig, role: RotatingRole, faults: Faults) -> None:
        self._config = config
        self._role = role
        self._faults = faults
        self._clock: Callable[[], float] = config.clock
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        if self._faults.metadata_latency:
            time.sleep(self._faults.metadata_latency)
        failure = self._faults.metadata.take(request.path)
        if failure is not None:
            return _text(failure, "injected failure", "InjectedFailure")
        if request.path == TOKEN_PATH:
            return self._token(request)
        if request.method != "GET":
            return _text(405, "method not allowed")
        refusal = self._check_token(request)
        if refusal is not None:
            return refusal
        if request.path == ROLE_PATH:
            return self._role_name()
        if request.path.startswith(ROLE_PATH):
            return self._credentials(request.decoded_path[len(ROLE_PATH) :])
        return _text(404, "not found")

    def _token(self, request: HttpRequest) -> HttpResponse:
        if self._config.metadata_mode == "unsupported" or request.method != "PUT":
            return _text(404, "not found")
        if "x-forwarded-for" in request.headers:
            return _text(403, "forbidden: X-Forwarded-For", "Forbidden")
        try:
            ttl = int(request.headers.get(TTL_HEADER, ""))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= self._config.metadata_token_max_ttl:
            return _text(400, "invalid token TTL", "InvalidTTL")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self._clock() + ttl
        return _text(200, token)

    def _check_token(self, request: HttpRequest) -> HttpResponse | None:
        """401 for a bad or expired token, and for no token when tokens are required."""
        if self._config.metadata_mode == "unsupported":
            return None
        token = request.headers.get(TOKEN_HEADER)
        if token is None:
            if self._config.metadata_mode == "required":
                return _text(401, "unauthorized: token required", "TokenRequired")
            return None
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or self._clock() >= expiry:
            return _text(401, "unauthorized: invalid or expired token", "InvalidToken")
        return None

    def _role_name(self) -> HttpResponse:
        name = self._config.role_name
        if name is None:
            return _text(404, "not found", "NoRole")
        return _text(200, name + ("\n" if self._config.role_name_newline else ""))

    def _credentials(self, role: str) -> HttpResponse:
        if role != self._config.role_name:
            return _text(404, "not found", "NoSuchRole")
        faults = self._faults
        if faults.metadata_redirect:
            return HttpResponse(302, b"", {"Location": faults.metadata_redirect}, error_code="Redirect")
        if faults.metadata_huge_body:
            size = faults.metadata_huge_body
            return HttpResponse(200, _huge_body(size), {"Content-Type": "text/plain"}, length=size)
        if faults.metadata_code:
            doc: dict[str, str | None] = {"Code": faults.metadata_code, "Message": "injected failure", "LastUpdated": iso_utc(self._clock())}
            return HttpResponse(200, json.dumps(doc).encode(), dict(_TEXT), error_code=faults.metadata_code)
        creds = self._role.current()
        doc = {
            "AccessKeyId": creds.access_key_id,
            "AccessKeySecret": creds.access_key_secret,
            "Expiration": creds.expiration_iso,
            "SecurityToken": creds.security_token,
            "LastUpdated": creds.last_updated_iso,
            "Code": "Success",
        }
        return HttpResponse(200, json.dumps(doc, indent=2).encode(), dict(_TEXT), access_key_id=creds.access_key_id)
