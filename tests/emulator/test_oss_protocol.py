"""OSS on the wire: XML shapes, encoding-type=url, max-keys bounds, v2 tokens, addressing,
error XML and the fault knobs. Requests are signed by oss2's own signer and sent with httpx,
so the raw bodies can be checked."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Callable
from urllib.parse import quote, unquote

import httpx
import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider

from osslist.emulator import Emulator, FakeClock

MakeEmulator = Callable[..., Emulator]


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.create_bucket("bkt")
    return emulator


def oss_get(
    emu: Emulator, params: dict[str, str], *, bucket: str = "bkt", host: str | None = None, method: str = "GET", key: str = ""
) -> httpx.Response:
    """One request signed by oss2 (V4, a fresh STS set), path style unless ``host`` is given."""
    creds = emu.issue_credentials()
    url = f"{emu.oss_endpoint}/{bucket}/{key}" if host is None else f"{emu.oss_endpoint}/{key}"
    request = oss2.http.Request(method, url, params=dict(params), region="cn-hangzhou", product="oss")
    auth = oss2.ProviderAuthV4(
        StaticCredentialsProvider(creds.access_key_id, creds.access_key_secret, creds.security_token)
    )
    auth._sign_request(request, bucket, key)
    headers = {k: v for k, v in request.headers.items() if v is not None}
    if host is not None:
        headers["Host"] = host
    return httpx.request(method, url, params=params, headers=headers)


def xml(response: httpx.Response) -> ET.Element:
    assert response.headers["x-oss-request-id"]
    return ET.fromstring(response.content)


def texts(root: ET.Element, path: str) -> list[str]:
    return [node.text or "" for node in root.findall(path)]


def test_max_keys_defaults_to_100(emu: Emulator) -> None:
    emu.seed("bkt", 150)
    root = xml(oss_get(emu, {}))
    assert root.findtext("MaxKeys") == "100" and len(root.findall("Contents")) == 100
    assert root.findtext("IsTruncated") == "true"
    assert root.findtext("NextMarker") == texts(root, "Contents/Key")[-1]


@pytest.mark.parametrize("value", ["0", "1001", "abc", "-1", "\u00b2", "\u0661\u0660"])  # superscript 2, Arabic-Indic 10
def test_max_keys_out_of_range_is_invalid_argument(emu: Emulator, value: str) -> None:
    response = oss_get(emu, {"max-keys": value})
    root = xml(response)
    assert response.status_code == 400 and root.findtext("Code") == "InvalidArgument"
    assert root.findtext("RequestId") == response.headers["x-oss-request-id"]
    assert root.findtext("EC") and root.findtext("HostId")


def test_v1_shape_with_url_encoding(emu: Emulator) -> None:
    for key in ["dir/with space+plus", "dir/\x01ctrl", "dir/%20lit", "other"]:
        emu.put_object("bkt", key, size=5, storage_class="IA", etag="ABC")
    response = oss_get(emu, {"prefix": "dir/", "marker": "dir/\x01", "delimiter": "+", "max-keys": "2", "encoding-type": "url"})
    assert response.headers["content-type"] == "application/xml"
    root = xml(response)
    assert root.tag == "ListBucketResult" and root.findtext("Name") == "bkt"
    assert root.findtext("Prefix") == "dir%2F" and root.findtext("Marker") == "dir%2F%01"
    assert root.findtext("Delimiter") == "%2B" and root.findtext("EncodingType") == "url"
    assert texts(root, "Contents/Key") == ["dir%2F%01ctrl", "dir%2F%2520lit"]
    assert root.findtext("NextMarker") == "dir%2F%2520lit"
    contents = root.find("Contents")
    assert contents is not None
    assert [child.tag for child in contents] == ["Key", "LastModified", "ETag", "Type", "Size", "StorageClass", "Owner"]
    assert contents.findtext("ETag") == '"ABC"' and contents.findtext("StorageClass") == "IA"
    assert contents.findtext("LastModified", "").endswith(".000Z")
    root = xml(oss_get(emu, {"prefix": "dir/", "marker": "dir/%20lit", "delimiter": "+", "encoding-type": "url"}))
    assert texts(root, "CommonPrefixes/Prefix") == ["dir%2Fwith%20space%2B"]
    assert unquote(texts(root, "CommonPrefixes/Prefix")[0]) == "dir/with space+"


def test_without_encoding_type_text_is_xml_escaped(emu: Emulator) -> None:
    emu.put_object("bkt", 'a&b<c>"d\'')
    response = oss_get(emu, {})
    assert b"<Key>a&amp;b&lt;c&gt;&quot;d&apos;</Key>" in response.content
    assert xml(response).find("EncodingType") is None


def test_v2_key_count_token_start_after_and_fetch_owner(emu: Emulator) -> None:
    for key in ["a", "b", "c/1", "c/2", "d"]:
        emu.put_object("bkt", key)
    root = xml(oss_get(emu, {"list-type": "2", "max-keys": "2", "delimiter": "/", "start-after": "a"}))
    assert root.findtext("StartAfter") == "a" and root.findtext("KeyCount") == "2"
    assert texts(root, "Contents/Key") == ["b"] and texts(root, "CommonPrefixes/Prefix") == ["c/"]
    assert root.find("Contents/Owner") is None and root.find("NextMarker") is None
    token = root.findtext("NextContinuationToken")
    assert token and "c/" not in token
    root = xml(oss_get(emu, {"list-type": "2", "delimiter": "/", "continuation-token": token, "fetch-owner": "true"}))
    assert root.findtext("ContinuationToken") == token
    assert texts(root, "Contents/Key") == ["d"] and root.findtext("IsTruncated") == "false"
    assert root.findtext("KeyCount") == "1" and root.find("Contents/Owner/ID") is not None


def test_v2_bad_token_is_invalid_argument(emu: Emulator) -> None:
    response = oss_get(emu, {"list-type": "2", "continuation-token": "%%%not-base64"})
    assert response.status_code == 400 and xml(response).findtext("Code") == "InvalidArgument"


def test_virtual_hosted_style(emu: Emulator) -> None:
    emu.put_object("bkt", "hello")
    response = oss_get(emu, {}, host="bkt.oss-cn-hangzhou.aliyuncs.com")
    assert response.status_code == 200 and texts(xml(response), "Contents/Key") == ["hello"]


@pytest.mark.parametrize(
    ("method", "params", "key", "status", "code"),
    [
        ("GET", {"tagging": ""}, "some/object", 501, "NotImplemented"),
        ("POST", {}, "some/object", 405, "MethodNotAllowed"),
        ("PUT", {"uploads": ""}, "some/object", 405, "MethodNotAllowed"),
        ("GET", {"acl": ""}, "", 501, "NotImplemented"),
        ("PUT", {}, "", 405, "MethodNotAllowed"),
        ("GET", {"encoding-type": "base64"}, "", 400, "InvalidArgument"),
    ],
)
def test_other_operations_get_error_xml(
    emu: Emulator, method: str, params: dict[str, str], key: str, status: int, code: str
) -> None:
    response = oss_get(emu, params, method=method, key=key)
    assert response.status_code == status and xml(response).findtext("Code") == code


def test_error_bodies_never_echo_the_token(emu: Emulator) -> None:
    creds = emu.issue_credentials()
    emu.clear_requests()
    response = oss_get(emu, {"max-keys": "0"})
    assert creds.security_token.encode() not in response.content  # type: ignore[union-attr]
    assert b"CAIS" not in response.content


def test_every_kth_request_fails_with_the_chosen_status(emu: Emulator) -> None:
    emu.faults.error_every(3, 503)
    statuses = [oss_get(emu, {}).status_code for _ in range(6)]
    assert statuses == [200, 200, 503, 200, 200, 503]
    emu.faults.error_every(2, 500)
    response = [oss_get(emu, {}) for _ in range(2)][1]
    assert response.status_code == 500 and xml(response).findtext("Code") == "InternalError"


def test_a_throttling_window_refuses_every_request_for_its_seconds(make_emulator: MakeEmulator) -> None:
    clock = FakeClock(time.time())
    emu = make_emulator(clock=clock)
    emu.create_bucket("bkt")
    emu.faults.unavailable_for(20.0, 503, after_requests=2)
    assert [oss_get(emu, {}).status_code for _ in range(4)] == [200, 200, 503, 503]
    clock.advance(19.5)
    refused = oss_get(emu, {})
    assert refused.status_code == 503 and xml(refused).findtext("Code") == "ServiceUnavailable"
    clock.advance(1.0)
    assert [oss_get(emu, {}).status_code for _ in range(2)] == [200, 200]


def test_a_429_window_answers_qps_limit_exceeded_with_its_ec(make_emulator: MakeEmulator) -> None:
    emu = make_emulator()
    emu.create_bucket("bkt")
    emu.faults.unavailable_for(60.0, 429)
    response = oss_get(emu, {})
    root = xml(response)
    assert response.status_code == 429 and root.findtext("Code") == "QpsLimitExceeded"
    assert root.findtext("EC") == response.headers["x-oss-ec"] == "0004-00000302"
    emu.faults.reset()
    assert oss_get(emu, {}).status_code == 200


@pytest.mark.parametrize("seconds, status, after", [(0.0, 503, 0), (1.0, 200, 0), (1.0, 503, -1)])
def test_a_throttling_window_refuses_nonsense(emu: Emulator, seconds: float, status: int, after: int) -> None:
    with pytest.raises(ValueError):
        emu.faults.unavailable_for(seconds, status, after_requests=after)


def test_dropped_connections(emu: Emulator) -> None:
    emu.faults.drop_every(2)
    assert oss_get(emu, {}).status_code == 200
    with pytest.raises(httpx.TransportError):
        oss_get(emu, {})
    assert oss_get(emu, {}).status_code == 200
    assert [r.status for r in emu.requests_for("oss")] == [200, 0, 200]


def test_short_pages_stay_truncated_with_a_correct_marker(emu: Emulator) -> None:
    emu.seed("bkt", 50)
    emu.faults.short_pages = 3
    keys: list[str] = []
    marker = ""
    while True:
        root = xml(oss_get(emu, {"marker": marker, "max-keys": "1000"}))
        page = texts(root, "Contents/Key")
        assert len(page) <= 3
        keys += page
        if root.findtext("IsTruncated") == "false":
            break
        marker = root.findtext("NextMarker") or ""
    assert keys == emu.buckets.require("bkt").keys()


def test_oss_latency_is_applied(emu: Emulator) -> None:
    emu.faults.oss_latency = 0.05
    assert oss_get(emu, {}).status_code == 200  # slower, still correct (no timing asserted here)


def test_objects_added_mid_listing_appear_only_after_the_marker(emu: Emulator) -> None:
    for key in ["a", "c", "e"]:
        emu.put_object("bkt", key)
    first = xml(oss_get(emu, {"max-keys": "2"}))
    assert texts(first, "Contents/Key") == ["a", "c"]
    emu.put_object("bkt", "b")
    emu.put_object("bkt", "d")
    emu.delete_object("bkt", "e")
    rest = xml(oss_get(emu, {"marker": first.findtext("NextMarker") or ""}))
    assert texts(rest, "Contents/Key") == ["d"]


def test_request_log_off_keeps_nothing(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(log_requests=False, buckets=("bkt",))
    assert oss_get(emu, {}).status_code == 200
    assert emu.requests == []


def test_rendered_fields_equal_each_object_formatted_alone(emu: Emulator) -> None:
    stamps = {"k/plain": 0, "k/with space": 86399, "k/中": 1718000000, "k/late": 4102444800}
    for i, (key, stamp) in enumerate(stamps.items()):
        emu.put_object("bkt", key, size=i, last_modified=stamp, etag='q&"<1>' if i == 1 else None)
    infos = [emu.buckets.require("bkt").get(key) for key in sorted(stamps, key=str.encode)]
    for url in (True, False):
        root = xml(oss_get(emu, {"prefix": "k/", **({"encoding-type": "url"} if url else {})}))
        contents = list(root.iter("Contents"))
        assert [c.findtext("Key") for c in contents] == [
            quote(i.key, safe="") if url else i.key for i in infos  # type: ignore[union-attr]
        ]
        assert [c.findtext("ETag") for c in contents] == [f'"{i.etag}"' for i in infos]  # type: ignore[union-attr]
        assert [c.findtext("LastModified") for c in contents] == [
            time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(i.last_modified)) for i in infos  # type: ignore[union-attr]
        ]
