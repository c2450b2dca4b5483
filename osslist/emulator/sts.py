"""STS ``AssumeRoleWithOIDC`` (RRSA): an RPC-style call, answered in XML or JSON per ``Format``.

Like every Alibaba Cloud RPC API, the parameters may come in the query string (GET, what
``alibabacloud-credentials`` sends) or a POST form (what the Go SDK and ack-ram-tool send);
``Version`` is required and ``Format`` is optional with XML as the default (the RPC "common
parameters" pages). A success is ``<AssumeRoleWithOIDCResponse>`` (JSON: the same fields at the
top level), an error ``<Error>`` with RequestId/HostId/Code/Message (the RPC "response
structure" pages). The docs do not name the error code of a missing Version; the emulator
answers ``MissingVersion`` like its other ``Missing<Parameter>`` refusals.

No AccessKey signature is involved (that is the point of OIDC); the emulator checks the
RoleArn, OIDCProviderArn and OIDCToken against its configuration.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from urllib.parse import parse_qsl

from osslist.emulator.config import EmulatorConfig
from osslist.emulator.credentials import CredentialStore
from osslist.emulator.faults import Faults
from osslist.emulator.server import HttpRequest, HttpResponse
from osslist.emulator.xmltext import escape

REQUIRED = ("Version", "RoleArn", "OIDCProviderArn", "OIDCToken", "RoleSessionName")
ACTION = "AssumeRoleWithOIDC"
FORMATS = ("XML", "JSON")
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 900, 43200, 3600


class StsRefusal(Exception):
    """An STS error reply; ``status`` and ``code`` as STS sends them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


Doc = dict[str, object]


def _xml_fields(doc: Doc) -> str:
    parts = []
    for name, value in doc.items():
        inner = _xml_fields(value) if isinstance(value, dict) else escape(str(value))
        parts.append(f"<{name}>{inner}</{name}>")
    return "".join(parts)


def render(status: int, root: str, doc: Doc, fmt: str, *, error_code: str | None = None,
           access_key_id: str | None = None) -> HttpResponse:
    """The reply in the caller's ``Format``: JSON, or XML with ``root`` as the root element."""
    if fmt == "JSON":
        body, ctype = json.dumps(doc).encode(), "application/json;charset=utf-8"
    else:
        body = f'<?xml version="1.0" encoding="UTF-8"?><{root}>{_xml_fields(doc)}</{root}>'.encode()
        ctype = "text/xml;charset=utf-8"
    return HttpResponse(status, body, {"Content-Type": ctype}, error_code=error_code, access_key_id=access_key_id)


def response_format(params: dict[str, str]) -> str:
    """``Format`` (case-insensitive); anything but JSON gets the default, XML."""
    fmt = params.get("Format", "").upper()
    return fmt if fmt in FORMATS else "XML"


class StsService:
    """Handlers of the STS endpoint; OIDC tokens can be replaced while it runs."""

    name = "sts"

    def __init__(self, config: EmulatorConfig, store: CredentialStore, faults: Faults) -> None:
        self._config = config
        self._store = store
        self._faults = faults
        self._lock = threading.Lock()
        self._tokens: frozenset[str] = frozenset(config.oidc_tokens)

    def set_oidc_tokens(self, tokens: tuple[str, ...]) -> None:
        with self._lock:
            self._tokens = frozenset(tokens)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4()).upper()
        if self._faults.sts_latency:
            time.sleep(self._faults.sts_latency)
        failure = self._faults.sts.take(request.path)
        form = self._form(request)
        fmt = response_format(form)
        try:
            if failure is not None:
                raise StsRefusal(failure, "InternalError", "injected failure")
            return self._assume(request, form, fmt, request_id)
        except StsRefusal as refusal:
            doc: Doc = {"RequestId": request_id, "HostId": "sts.emulator.localhost", "Code": refusal.code,
                        "Message": refusal.message, "Recommend": "https://api.aliyun.com/troubleshoot"}
            return render(refusal.status, "Error", doc, fmt, error_code=refusal.code)

    def _form(self, request: HttpRequest) -> dict[str, str]:
        """Query and form body together (the form wins), as STS accepts both."""
        form = dict(parse_qsl(request.query, keep_blank_values=True))
        if request.method == "POST":
            form.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        return form

    def _assume(self, request: HttpRequest, form: dict[str, str], fmt: str, request_id: str) -> HttpResponse:
        if request.method not in ("GET", "POST"):
            raise StsRefusal(405, "MethodNotAllowed", "RPC APIs accept GET and POST only.")
        self._check(form)
        lifetime = self._config.sts_credential_lifetime or float(form.get("DurationSeconds") or DEFAULT_DURATION)
        creds = self._store.issue(source="sts", lifetime=lifetime)
        role = self._config.sts_role_arn.rsplit("/", 1)[-1]
        session = form["RoleSessionName"]
        doc: Doc = {
            "RequestId": request_id,
            "AssumedRoleUser": {
                "AssumedRoleId": f"300000000000000000:{session}",
                "Arn": f"acs:ram::1234567890123456:assumed-role/{role}/{session}",
            },
            "OIDCTokenInfo": {"Subject": "system:serviceaccount:default:osslist", "Issuer": "https://oidc.emulator.localhost",
                              "ClientIds": "sts.aliyuncs.com"},
            "Credentials": {
                "AccessKeyId": creds.access_key_id,
                "AccessKeySecret": creds.access_key_secret,
                "SecurityToken": creds.security_token,
                "Expiration": creds.expiration_iso,
            },
        }
        return render(200, f"{ACTION}Response", doc, fmt, access_key_id=creds.access_key_id)

    def _check(self, form: dict[str, str]) -> None:
        if form.get("Action") != ACTION:
            raise StsRefusal(400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        for name in REQUIRED:
            if not form.get(name):
                raise StsRefusal(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if form["Version"] != "2015-04-01":
            raise StsRefusal(400, "InvalidVersion", "Specified parameter Version is not valid.")
        duration = form.get("DurationSeconds") or str(DEFAULT_DURATION)
        if not duration.isdigit() or not MIN_DURATION <= int(duration) <= MAX_DURATION:
            raise StsRefusal(400, "InvalidParameter.DurationSeconds",
                             f"DurationSeconds must be between {MIN_DURATION} and {MAX_DURATION}.")
        if form["RoleArn"] != self._config.sts_role_arn:
            raise StsRefusal(404, "EntityNotExist.Role", "The specified Role does not exist.")
        if form["OIDCProviderArn"] != self._config.sts_oidc_provider_arn:
            raise StsRefusal(404, "EntityNotExist.OIDCProvider", "The specified OIDC provider does not exist.")
        with self._lock:
            accepted = form["OIDCToken"] in self._tokens
        if not accepted:
            raise StsRefusal(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid.")
