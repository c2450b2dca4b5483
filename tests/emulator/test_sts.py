"""STS AssumeRoleWithOIDC: GET or POST, form checks, XML by default or JSON per Format,
credentials OSS accepts."""

from __future__ import annotations

from typing import Callable

import xml.etree.ElementTree as ET

import httpx
import oss2
import pytest

from osslist.emulator import Emulator, FakeClock
from osslist.emulator.config import DEFAULT_OIDC_PROVIDER_ARN, DEFAULT_OIDC_TOKEN, DEFAULT_ROLE_ARN

MakeEmulator = Callable[..., Emulator]


def form(**overrides: str) -> dict[str, str]:
    base = {
        "Action": "AssumeRoleWithOIDC",
        "Version": "2015-04-01",
        "Format": "JSON",
        "RoleArn": DEFAULT_ROLE_ARN,
        "OIDCProviderArn": DEFAULT_OIDC_PROVIDER_ARN,
        "OIDCToken": DEFAULT_OIDC_TOKEN,
        "RoleSessionName": "osslist-test",
        "DurationSeconds": "3600",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v != "<omit>"}


def assume(emu: Emulator, **overrides: str) -> httpx.Response:
    return httpx.post(emu.sts_endpoint + "/", data=form(**overrides))


def test_assume_role_with_oidc_returns_credentials(emulator: Emulator) -> None:
    response = assume(emulator)
    assert response.status_code == 200
    doc = response.json()
    creds = doc["Credentials"]
    assert set(creds) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}
    assert creds["AccessKeyId"].startswith("STS.") and doc["RequestId"]
    assert doc["AssumedRoleUser"]["Arn"].endswith("/osslist-rrsa/osslist-test")
    issued = emulator.issued_credentials
    assert [(c.access_key_id, c.source) for c in issued] == [(creds["AccessKeyId"], "sts")]


def test_duration_sets_the_expiration(make_emulator: MakeEmulator) -> None:
    clock = FakeClock(1_700_000_000)
    emu = make_emulator(clock=clock)
    assert assume(emu, DurationSeconds="900").json()["Credentials"]["Expiration"] == "2023-11-14T22:28:20Z"


def test_configured_lifetime_overrides_duration(make_emulator: MakeEmulator) -> None:
    clock = FakeClock(1_700_000_000)
    emu = make_emulator(clock=clock, sts_credential_lifetime=5)
    assert assume(emu).json()["Credentials"]["Expiration"] == "2023-11-14T22:13:25Z"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"RoleArn": "acs:ram::1:role/other"}, 404, "EntityNotExist.Role"),
        ({"OIDCProviderArn": "acs:ram::1:oidc-provider/other"}, 404, "EntityNotExist.OIDCProvider"),
        ({"OIDCToken": "forged"}, 400, "AuthenticationFail.OIDCToken.Invalid"),
        ({"DurationSeconds": "899"}, 400, "InvalidParameter.DurationSeconds"),
        ({"OIDCToken": "<omit>"}, 400, "MissingOIDCToken"),
        ({"RoleSessionName": "<omit>"}, 400, "MissingRoleSessionName"),
        ({"Action": "AssumeRole"}, 400, "InvalidAction.NotFound"),
        ({"Version": "2020-01-01"}, 400, "InvalidVersion"),
        ({"Version": "<omit>"}, 400, "MissingVersion"),
    ],
)
def test_refusals_are_json_with_code_message_request_id(
    emulator: Emulator, overrides: dict[str, str], status: int, code: str
) -> None:
    response = assume(emulator, **overrides)
    assert response.status_code == status
    doc = response.json()
    assert doc["Code"] == code and doc["Message"] and doc["RequestId"]
    assert emulator.issued_credentials == []
    assert emulator.requests_for("sts")[-1].error_code == code


def test_get_with_query_parameters_is_accepted(emulator: Emulator) -> None:
    """alibabacloud-credentials sends AssumeRoleWithOIDC as a GET (was 405)."""
    response = httpx.get(emulator.sts_endpoint + "/", params=form())
    assert response.status_code == 200
    assert response.json()["Credentials"]["AccessKeyId"] == emulator.issued_credentials[0].access_key_id


def test_other_methods_are_refused(emulator: Emulator) -> None:
    assert httpx.put(emulator.sts_endpoint + "/", params=form()).status_code == 405


@pytest.mark.parametrize("fmt", ["<omit>", "XML", "xml"])
def test_xml_is_the_default_format(emulator: Emulator, fmt: str) -> None:
    """Without Format=JSON the answer is XML (was always JSON)."""
    response = assume(emulator, Format=fmt)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    issued = emulator.issued_credentials[0]
    assert root.tag == "AssumeRoleWithOIDCResponse" and root.findtext("RequestId")
    assert root.findtext("Credentials/AccessKeyId") == issued.access_key_id
    assert root.findtext("Credentials/Expiration") == issued.expiration_iso
    assert root.findtext("AssumedRoleUser/Arn").endswith("/osslist-rrsa/osslist-test")


def test_errors_follow_the_format_too(emulator: Emulator) -> None:
    root = ET.fromstring(assume(emulator, Format="<omit>", OIDCToken="forged").content)
    assert root.tag == "Error" and root.findtext("Code") == "AuthenticationFail.OIDCToken.Invalid"
    assert root.findtext("RequestId") and root.findtext("HostId") and root.findtext("Message")


def test_oidc_token_can_be_rotated(emulator: Emulator) -> None:
    emulator.set_oidc_tokens("token-2")
    assert assume(emulator).status_code == 400
    assert assume(emulator, OIDCToken="token-2").status_code == 200


def test_injected_failures(emulator: Emulator) -> None:
    emulator.faults.sts.fail_next(1, 503)
    assert [assume(emulator).status_code for _ in range(2)] == [503, 200]


def test_sts_credentials_list_on_oss_until_they_expire(make_emulator: MakeEmulator) -> None:
    clock = FakeClock()
    emu = make_emulator(clock=clock, sts_credential_lifetime=900, buckets=("bkt",))
    creds = assume(emu).json()["Credentials"]
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    bucket = oss2.Bucket(auth, emu.oss_endpoint, "bkt")
    assert bucket.list_objects().status == 200
    clock.advance(900)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.list_objects()
    assert info.value.code == "SecurityTokenExpired"


def test_the_oidc_token_is_not_logged(emulator: Emulator) -> None:
    httpx.post(emulator.sts_endpoint + "/", params=form())
    record = emulator.requests_for("sts")[-1]
    assert record.query["OIDCToken"] == "[redacted]"
    assert DEFAULT_OIDC_TOKEN not in repr(emulator.requests)
