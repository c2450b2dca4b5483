"""The metadata server: role name, credentials document, hardened modes, rotation, faults."""

from __future__ import annotations

import json
import time
from typing import Callable

import httpx
import pytest

from osslist.emulator import Emulator, FakeClock

ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TTL = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN = "X-aliyun-ecs-metadata-token"
MakeEmulator = Callable[..., Emulator]


def get(emu: Emulator, path: str, token: str | None = None) -> httpx.Response:
    headers = {TOKEN: token} if token else {}
    return httpx.get(emu.metadata_url + path, headers=headers, follow_redirects=False)


def put_token(emu: Emulator, ttl: str = "60", **headers: str) -> httpx.Response:
    return httpx.put(emu.metadata_url + "/latest/api/token", headers={TTL: ttl, **headers})


def credentials(emu: Emulator, token: str | None = None) -> dict[str, str]:
    response = get(emu, ROLE_PATH + emu.config.role_name, token)  # type: ignore[operator]
    assert response.status_code == 200
    return response.json()


def test_role_name_is_served(emulator: Emulator) -> None:
    response = get(emulator, ROLE_PATH)
    assert response.status_code == 200 and response.text == "osslist-emulator-role"


def test_role_name_can_end_with_a_newline(make_emulator: MakeEmulator) -> None:
    assert get(make_emulator(role_name_newline=True), ROLE_PATH).text == "osslist-emulator-role\n"


def test_no_role_attached_is_404(make_emulator: MakeEmulator) -> None:
    assert get(make_emulator(role_name=None), ROLE_PATH).status_code == 404


def test_unknown_role_is_404(emulator: Emulator) -> None:
    assert get(emulator, ROLE_PATH + "other-role").status_code == 404


def test_credentials_document_has_the_ecs_shape(emulator: Emulator) -> None:
    doc = credentials(emulator)
    assert set(doc) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration", "LastUpdated", "Code"}
    assert doc["Code"] == "Success" and doc["AccessKeyId"].startswith("STS.")
    for field in ("Expiration", "LastUpdated"):
        time.strptime(doc[field], "%Y-%m-%dT%H:%M:%SZ")
    issued = emulator.issued_credentials
    assert [c.access_key_id for c in issued] == [doc["AccessKeyId"]] and issued[0].source == "metadata"


def test_issued_credentials_repr_hides_secret_and_token(emulator: Emulator) -> None:
    doc = credentials(emulator)
    text = repr(emulator.issued_credentials)
    assert doc["AccessKeySecret"] not in text and doc["SecurityToken"] not in text


def test_same_set_until_rotation_window_then_new_set_old_still_listed(make_emulator: MakeEmulator) -> None:
    clock = FakeClock(1_700_000_000)
    emu = make_emulator(clock=clock, credential_lifetime=100, rotation_window=30)
    first = credentials(emu)
    clock.advance(69)
    assert credentials(emu)["AccessKeyId"] == first["AccessKeyId"]
    clock.advance(1)
    second = credentials(emu)
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert second["Expiration"] == "2023-11-14T22:16:10Z"  # 1_700_000_070 + 100
    assert first["Expiration"] == "2023-11-14T22:15:00Z"  # 1_700_000_000 + 100
    assert [c.access_key_id for c in emu.issued_credentials] == [first["AccessKeyId"], second["AccessKeyId"]]


def test_token_put_returns_a_token_that_gets_accepted(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(metadata_mode="required")
    token = put_token(emu).text
    assert get(emu, ROLE_PATH, token).status_code == 200


@pytest.mark.parametrize("ttl", ["0", "21601", "-5", "abc", ""])
def test_token_ttl_outside_1_to_21600_is_400(emulator: Emulator, ttl: str) -> None:
    assert put_token(emulator, ttl).status_code == 400


@pytest.mark.parametrize("ttl", ["1", "21600"])
def test_token_ttl_bounds_are_accepted(emulator: Emulator, ttl: str) -> None:
    assert put_token(emulator, ttl).status_code == 200


def test_token_request_with_x_forwarded_for_is_403(emulator: Emulator) -> None:
    assert put_token(emulator, **{"X-Forwarded-For": "10.0.0.1"}).status_code == 403


def test_required_mode_refuses_tokenless_gets_with_401(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(metadata_mode="required")
    assert get(emu, ROLE_PATH).status_code == 401
    assert get(emu, ROLE_PATH + "osslist-emulator-role").status_code == 401


def test_optional_mode_accepts_tokenless_gets_but_not_bad_tokens(emulator: Emulator) -> None:
    assert get(emulator, ROLE_PATH).status_code == 200
    assert get(emulator, ROLE_PATH, "not-a-token").status_code == 401


def test_expired_token_is_401(make_emulator: MakeEmulator) -> None:
    clock = FakeClock()
    emu = make_emulator(metadata_mode="required", clock=clock)
    token = put_token(emu, "10").text
    clock.advance(10)
    assert get(emu, ROLE_PATH, token).status_code == 401


def test_unsupported_mode_answers_404_to_the_token_put(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(metadata_mode="unsupported")
    assert put_token(emu).status_code == 404
    assert get(emu, ROLE_PATH).status_code == 200


def test_next_n_responses_fail_then_recover(emulator: Emulator) -> None:
    emulator.faults.metadata.fail_next(2, 500)
    assert [get(emulator, ROLE_PATH).status_code for _ in range(3)] == [500, 500, 200]


def test_failures_can_target_a_path(emulator: Emulator) -> None:
    emulator.faults.metadata.fail_next(1, 503, match="osslist-emulator-role")
    assert get(emulator, ROLE_PATH).status_code == 200
    assert get(emulator, ROLE_PATH + "osslist-emulator-role").status_code == 503


def test_code_failed_document(emulator: Emulator) -> None:
    emulator.faults.metadata_code = "Failed"
    response = get(emulator, ROLE_PATH + "osslist-emulator-role")
    assert response.status_code == 200 and response.json()["Code"] == "Failed"
    assert "AccessKeySecret" not in response.json() and emulator.issued_credentials == []


def test_redirect_fault(emulator: Emulator) -> None:
    emulator.faults.metadata_redirect = "http://127.0.0.1:9/elsewhere"
    response = get(emulator, ROLE_PATH + "osslist-emulator-role")
    assert response.status_code == 302 and response.headers["location"] == "http://127.0.0.1:9/elsewhere"


def test_huge_body_is_streamed_with_its_length(emulator: Emulator) -> None:
    emulator.faults.metadata_huge_body = 50_000_000
    with httpx.stream("GET", emulator.metadata_url + ROLE_PATH + "osslist-emulator-role") as response:
        assert response.headers["content-length"] == "50000000"
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 1_000_000:
                break  # a careful client stops reading here; the server must cope
    assert received > 1_000_000
    assert get(emulator, ROLE_PATH).status_code == 200  # still serving


def test_requests_are_logged_without_token_values(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(metadata_mode="required")
    token = put_token(emu).text
    get(emu, ROLE_PATH, token)
    get(emu, ROLE_PATH)
    records = emu.requests_for("metadata")
    assert [(r.method, r.path, r.status) for r in records] == [
        ("PUT", "/latest/api/token", 200),
        ("GET", ROLE_PATH, 200),
        ("GET", ROLE_PATH, 401),
    ]
    assert records[1].headers["x-aliyun-ecs-metadata-token"] == "[redacted]"
    assert token not in json.dumps([r.headers for r in records])
    emu.clear_requests()
    assert emu.requests == []
