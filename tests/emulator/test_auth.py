"""OSS authentication as OSS documents it, checked with real clients where a client can send the
request: the 15-minute skew window (RequestTimeTooSkewed with the server's time), ``clock_offset``,
the region in the V4 scope, a missing date, an empty ``AdditionalHeaders=``, presigned V1/V4 URLs
with expiry, and the 1024-byte limits of prefix/marker/start-after. Each of these was accepted
(or refused) wrongly before issue 14."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Callable

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider

from osslist.emulator import Emulator, IssuedCredentials
from osslist.emulator.config import DEFAULT_ROTATION_WINDOW, EmulatorConfig
from tests.emulator.test_oss_v2_fidelity import client as v2_client
from tests.emulator.test_oss_v2_fidelity import sts as v2_creds

MakeEmulator = Callable[..., Emulator]
REGION = "cn-hangzhou"
AUTHS = {"v1": oss2.ProviderAuth, "v4": oss2.ProviderAuthV4}


def bucket(emu: Emulator, version: str, creds: IssuedCredentials | None = None, *, region: str = REGION) -> oss2.Bucket:
    creds = creds or emu.issue_credentials()
    provider = StaticCredentialsProvider(creds.access_key_id, creds.access_key_secret, creds.security_token)
    return oss2.Bucket(AUTHS[version](provider), emu.oss_endpoint, "bkt", region=region)


def server_error(call: Callable[[], object]) -> oss2.exceptions.ServerError:
    with pytest.raises(oss2.exceptions.ServerError) as info:
        call()
    return info.value


def iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("version", ["v1", "v4"])
@pytest.mark.parametrize("offset", [-1200, 1200])
def test_a_request_20_minutes_off_is_request_time_too_skewed(make_emulator: MakeEmulator, version: str, offset: int) -> None:
    emu = make_emulator(clock_offset=offset, buckets=("bkt",))
    error = server_error(lambda: bucket(emu, version).list_objects())
    assert (error.status, error.code, error.details["EC"]) == (403, "RequestTimeTooSkewed", "0002-00000504")
    assert abs(iso(error.details["ServerTime"]) - (time.time() + offset)) < 60
    assert error.details["MaxAllowedSkewMilliseconds"] == "900000" and error.details["RequestTime"]
    assert abs(parsedate_to_datetime(error.headers["date"]).timestamp() - (time.time() + offset)) < 60


@pytest.mark.parametrize("version", ["v1", "v4"])
@pytest.mark.parametrize("offset", [-600, 600])
def test_ten_minutes_off_is_inside_the_window(make_emulator: MakeEmulator, version: str, offset: int) -> None:
    emu = make_emulator(clock_offset=offset, buckets=("bkt",))
    assert bucket(emu, version).list_objects().status == 200


def test_oss_v2_sees_the_skew_error_too(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(clock_offset=-1200, buckets=("bkt",))
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2_client(emu, v2_creds(emu.issue_credentials())).list_objects(oss.ListObjectsRequest(bucket="bkt"))
    assert info.value.unwrap().code == "RequestTimeTooSkewed"


def test_clock_offset_moves_the_metadata_clock_and_its_date_header(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(clock_offset=-7 * 3600, credential_lifetime=6 * 3600)
    response = httpx.get(emu.metadata_url + "/latest/meta-data/ram/security-credentials/osslist-emulator-role")
    expiration = datetime.strptime(response.json()["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(expiration.timestamp() - (time.time() - 3600)) < 60  # already past by the caller's clock
    assert abs(parsedate_to_datetime(response.headers["date"]).timestamp() - (time.time() - 7 * 3600)) < 60


def test_v4_scope_must_name_the_emulators_region(emulator: Emulator) -> None:
    emulator.create_bucket("bkt")
    error = server_error(lambda: bucket(emulator, "v4", region="ap-southeast-1").list_objects())
    assert (error.status, error.code, error.details["EC"]) == (400, "InvalidArgument", "0002-00000228")
    assert bucket(emulator, "v4").list_objects().status == 200


def test_oss_v2_with_another_region_is_refused(emulator: Emulator) -> None:
    emulator.create_bucket("bkt")
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2_client(emulator, v2_creds(emulator.issue_credentials()), region="cn-beijing").list_objects(
            oss.ListObjectsRequest(bucket="bkt"))
    assert info.value.unwrap().ec == "0002-00000228"


def test_the_region_is_configurable(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(region="ap-southeast-1", buckets=("bkt",))
    assert bucket(emu, "v4", region="ap-southeast-1").list_objects().status == 200


def signed_headers(emu: Emulator, version: str) -> tuple[str, dict[str, str]]:
    """A ListObjects request signed by oss2, as URL and headers, to tamper with before sending."""
    creds = emu.issue_credentials()
    url = f"{emu.oss_endpoint}/bkt/"
    request = oss2.http.Request("GET", url, params={}, region=REGION, product="oss")
    provider = StaticCredentialsProvider(creds.access_key_id, creds.access_key_secret, creds.security_token)
    AUTHS[version](provider)._sign_request(request, "bkt", "")
    return url, {k: v for k, v in request.headers.items() if v is not None}


@pytest.mark.parametrize(("version", "date_header"), [("v1", "date"), ("v4", "x-oss-date")])
def test_a_request_without_its_date_is_access_denied(emulator: Emulator, version: str, date_header: str) -> None:
    """No client sends this, so the request is oss2's with its date removed."""
    emulator.create_bucket("bkt")
    url, headers = signed_headers(emulator, version)
    assert httpx.get(url, headers=headers).status_code == 200
    headers.pop(date_header)
    response = httpx.get(url, headers=headers)
    assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content


def test_an_empty_additional_headers_is_refused(emulator: Emulator) -> None:
    emulator.create_bucket("bkt")
    url, headers = signed_headers(emulator, "v4")
    headers["authorization"] = headers["authorization"].replace(", Signature=", ",AdditionalHeaders=, Signature=")
    response = httpx.get(url, headers=headers)
    assert response.status_code == 400 and b"<EC>0002-00000209</EC>" in response.content


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_oss2_presigned_urls_are_accepted_until_they_expire(make_emulator: MakeEmulator, version: str) -> None:
    emu = make_emulator(buckets=("bkt",))
    creds = emu.issue_credentials()
    bucket(emu, version, creds).put_object("report.csv", b"a,b\n1,2\n")
    url = bucket(emu, version, creds).sign_url("GET", "report.csv", 60)
    response = httpx.get(url)
    assert (response.status_code, response.content) == (200, b"a,b\n1,2\n")
    assert emu.requests_for("oss")[-1].signature_version == version[1]
    # The same URL two minutes later: an emulator whose clock runs 120 s ahead (it does not know
    # the key, but expiry is judged first, as the module docstring of auth.py says).
    later = make_emulator(clock_offset=120, buckets=("bkt",))
    expired = httpx.get(url.replace(emu.oss_endpoint, later.oss_endpoint))
    assert expired.status_code == 403 and b"<EC>0002-00000069</EC>" in expired.content


def test_oss_v2_presigned_url_is_accepted(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(buckets=("bkt",))
    creds = emu.issue_credentials()
    c = v2_client(emu, v2_creds(creds))
    c.put_object(oss.PutObjectRequest(bucket="bkt", key="k.txt", body=b"hello"))
    presigned = c.presign(oss.GetObjectRequest(bucket="bkt", key="k.txt"))
    assert httpx.get(presigned.url).content == b"hello"
    assert "x-oss-signature" in presigned.url and emu.requests_for("oss")[-1].status == 200


def test_a_tampered_presigned_url_is_signature_does_not_match(emulator: Emulator) -> None:
    emulator.create_bucket("bkt")
    b = bucket(emulator, "v4")
    b.put_object("a.txt", b"1")
    url = b.sign_url("GET", "a.txt", 60)
    response = httpx.get(url.replace("a.txt", "b.txt"))
    assert response.status_code == 403 and b"SignatureDoesNotMatch" in response.content


@pytest.mark.parametrize(("name", "v2"), [("prefix", False), ("marker", False), ("start-after", True)])
def test_listing_parameters_of_1024_bytes_are_invalid_argument(emulator: Emulator, name: str, v2: bool) -> None:
    emulator.create_bucket("bkt")
    b = bucket(emulator, "v4")
    listing = b.list_objects_v2 if v2 else b.list_objects
    arg = name.replace("-", "_")
    assert listing(**{arg: "é" * 511 + "k"}).status == 200  # 1023 bytes
    error = server_error(lambda: listing(**{arg: "é" * 512}))  # 1024 bytes
    assert (error.status, error.code) == (400, "InvalidArgument")


def test_standalone_and_config_share_the_rotation_window() -> None:
    import inspect

    from osslist.cli import main
    from osslist.emulator.standalone import run_standalone

    command = main.commands["emulator"]
    option = next(p for p in command.params if p.name == "rotation_window")
    standalone = inspect.signature(run_standalone).parameters["rotation_window"].default
    assert option.default == standalone == EmulatorConfig().rotation_window == DEFAULT_ROTATION_WINDOW == 1800
