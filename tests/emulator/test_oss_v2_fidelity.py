"""Fidelity against Alibaba's OSS SDK V2 for Python (``alibabacloud-oss-v2``): its own
ListObjects / ListObjectsV2 paginators, V4 and V1 signers and error mapping, run against the
emulator exactly as a user would run them against OSS.

The SDK is pointed at the emulator through its public ``Config.endpoint`` (an IP endpoint,
which makes it use path-style addressing); nothing in it is patched.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator

import alibabacloud_oss_v2 as oss
import pytest

from osslist.emulator import Emulator, FakeClock, IssuedCredentials
from tests.emulator.keys import BYTE_ORDER, TRICKY_KEYS

MakeEmulator = Callable[..., Emulator]
REGION = "cn-hangzhou"
STATIC_KEY = ("LTAI5tStaticKeyForV2Tests", "static-secret-v2")
# Keys for the delimiter tests: one- to four-byte UTF-8 delimiters, each inside and at the end
# of keys, next to its own lead bytes ("文" and "斤" share E6 96), so a byte-wise split shows.
DELIMITED_KEYS = [
    "a文b", "a文b文c", "a斤b", "文", "x文", "x文y/z", "a😀b", "a😀", "😀😀", "a/b", "a|b|c", "plain",
]


def client(emu: Emulator, creds: tuple[str, str, str | None], *, version: str = "v4", region: str = REGION) -> oss.Client:
    """An SDK client on the emulator, one attempt per call (errors are asserted, not retried)."""
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(*creds)
    cfg.region = region
    cfg.endpoint = emu.oss_endpoint
    cfg.signature_version = version
    cfg.retry_max_attempts = 1
    return oss.Client(cfg)


def sts(creds: IssuedCredentials, secret: str | None = None) -> tuple[str, str, str | None]:
    return creds.access_key_id, secret or creds.access_key_secret, creds.security_token


@pytest.fixture(scope="module")
def tricky() -> Iterator[tuple[Emulator, IssuedCredentials]]:
    with Emulator() as emu:
        emu.create_bucket("tricky")
        for i, key in enumerate(TRICKY_KEYS):
            emu.put_object("tricky", key, size=i)
        emu.create_bucket("delimited")
        for key in DELIMITED_KEYS:
            emu.put_object("delimited", key)
        emu.add_static_key(*STATIC_KEY)
        yield emu, emu.issue_credentials()


def keys_and_prefixes(pages: Iterable[Any]) -> tuple[list[str], list[str]]:  # Any: the SDK's result pages
    keys: list[str] = []
    prefixes: list[str] = []
    for page in pages:
        keys += [o.key for o in page.contents or []]
        prefixes += [p.prefix for p in page.common_prefixes or []]
    return keys, prefixes


def list_v1(c: oss.Client, **request: object) -> tuple[list[str], list[str]]:
    return keys_and_prefixes(c.list_objects_paginator().iter_page(oss.ListObjectsRequest(**request)))


def list_v2(c: oss.Client, **request: object) -> tuple[list[str], list[str]]:
    return keys_and_prefixes(c.list_objects_v2_paginator().iter_page(oss.ListObjectsV2Request(**request)))


LISTERS = {"ListObjects": list_v1, "ListObjectsV2": list_v2}


def expected_split(keys: list[str], prefix: str, delimiter: str) -> tuple[list[str], list[str]]:
    """What OSS documents: keys under ``prefix`` whose rest holds no delimiter, and the distinct
    ``prefix + rest[: end of first delimiter]`` as common prefixes, both in UTF-8 byte order."""
    plain, grouped = [], set()
    for key in sorted(keys, key=lambda k: k.encode()):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            plain.append(key)
        else:
            grouped.add(key[: cut + len(delimiter)])
    return plain, sorted(grouped, key=lambda p: p.encode())


@pytest.mark.parametrize("max_keys", [1, 7, 1000])
@pytest.mark.parametrize("api", LISTERS)
def test_paginators_return_exactly_the_keys_in_byte_order(
    tricky: tuple[Emulator, IssuedCredentials], api: str, max_keys: int
) -> None:
    emu, creds = tricky
    keys, prefixes = LISTERS[api](client(emu, sts(creds)), bucket="tricky", max_keys=max_keys)
    assert keys == BYTE_ORDER and prefixes == []


def test_the_v1_paginator_sends_one_request_per_page(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, creds = tricky
    emu.clear_requests()
    list_v1(client(emu, sts(creds)), bucket="tricky", max_keys=7)
    pages = emu.requests_for("oss")
    assert len(pages) == -(-len(TRICKY_KEYS) // 7) and all(r.status == 200 for r in pages)
    assert pages[0].query["encoding-type"] == "url" and "marker" not in pages[0].query


@pytest.mark.parametrize(
    ("prefix", "delimiter"),
    [("", "/"), ("a", "/"), ("", "文"), ("a", "文"), ("x", "文"), ("", "😀"), ("a", "😀"), ("", "|"), ("a", "b")],
)
@pytest.mark.parametrize("api", LISTERS)
def test_prefix_and_delimiter_including_multibyte_delimiters(
    tricky: tuple[Emulator, IssuedCredentials], api: str, prefix: str, delimiter: str
) -> None:
    emu, creds = tricky
    got = LISTERS[api](client(emu, sts(creds)), bucket="delimited", prefix=prefix, delimiter=delimiter, max_keys=1)
    assert got == expected_split(DELIMITED_KEYS, prefix, delimiter)


def test_a_hand_checked_multibyte_split(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    """The reference above, checked once by hand: "斤" shares lead bytes with "文" and stays a key."""
    emu, creds = tricky
    keys, prefixes = list_v2(client(emu, sts(creds)), bucket="delimited", prefix="a", delimiter="文", max_keys=2)
    assert prefixes == ["a文"] and "a斤b" in keys and not any("文" in k for k in keys)


@pytest.mark.parametrize(("version", "creds_of"), [("v4", "sts"), ("v1", "static"), ("v4", "static")])
def test_signers_are_accepted(tricky: tuple[Emulator, IssuedCredentials], version: str, creds_of: str) -> None:
    """V4 (the SDK's default) and V1. oss-v2 1.4.1's V1 signer sends an STS token in a header
    named ``security-token`` rather than ``x-oss-security-token``; OSS's V1 docs name only the
    latter, so V1 is exercised with a long-lived key, which carries no token."""
    emu, creds = tricky
    pair = sts(creds) if creds_of == "sts" else (*STATIC_KEY, None)
    keys, _ = list_v1(client(emu, pair, version=version), bucket="tricky", max_keys=1000)
    assert keys == BYTE_ORDER
    record = emu.requests_for("oss")[-1]
    assert record.signature_version == version[1] and record.access_key_id == pair[0] and record.credentials_valid


def service_error(call: Callable[[], object]) -> oss.exceptions.ServiceError:
    with pytest.raises(oss.exceptions.OperationError) as info:
        call()
    error = info.value.unwrap()
    assert isinstance(error, oss.exceptions.ServiceError)
    return error


def test_expired_token_maps_to_security_token_expired(make_emulator: MakeEmulator) -> None:
    clock = FakeClock(time.time())
    emu = make_emulator(clock=clock, credential_lifetime=60, buckets=("bkt",))
    c = client(emu, sts(emu.issue_credentials()))
    assert c.list_objects(oss.ListObjectsRequest(bucket="bkt")).status_code == 200
    clock.advance(61)
    error = service_error(lambda: c.list_objects(oss.ListObjectsRequest(bucket="bkt")))
    assert (error.status_code, error.code, error.ec) == (403, "SecurityTokenExpired", "0002-00000007")
    assert error.request_id


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_wrong_secret_maps_to_signature_does_not_match(tricky: tuple[Emulator, IssuedCredentials], version: str) -> None:
    emu, _ = tricky
    error = service_error(lambda: client(emu, (STATIC_KEY[0], "wrong", None), version=version)
                          .list_objects(oss.ListObjectsRequest(bucket="tricky")))
    assert (error.status_code, error.code) == (403, "SignatureDoesNotMatch") and error.request_id


def test_unknown_key_maps_to_invalid_access_key_id(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, _ = tricky
    error = service_error(lambda: client(emu, ("LTAI5tNobodyKnowsThis", "s", None))
                          .list_objects(oss.ListObjectsRequest(bucket="tricky")))
    assert (error.status_code, error.code) == (403, "InvalidAccessKeyId")


def test_missing_bucket_maps_to_no_such_bucket(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, creds = tricky
    error = service_error(lambda: client(emu, sts(creds)).list_objects_v2(oss.ListObjectsV2Request(bucket="nosuch")))
    assert (error.status_code, error.code) == (404, "NoSuchBucket") and error.request_id


def test_a_bad_argument_maps_to_invalid_argument(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, creds = tricky
    error = service_error(lambda: client(emu, sts(creds)).list_objects(
        oss.ListObjectsRequest(bucket="tricky", max_keys=1001)))
    assert (error.status_code, error.code) == (400, "InvalidArgument") and error.ec
