"""Fidelity against the real oss2 client (issue 2 point 4): exact keys in byte order through
both iterators, every auth flavour oss2 offers, and the errors oss2 users will see."""

from __future__ import annotations

import time
from typing import Callable

import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider

from osslist.emulator import Emulator, FakeClock, IssuedCredentials
from tests.emulator.keys import BYTE_ORDER, TRICKY_KEYS

MakeEmulator = Callable[..., Emulator]
REGION = "cn-hangzhou"


@pytest.fixture(scope="module")
def tricky() -> tuple[Emulator, IssuedCredentials]:
    """One emulator for the read-only fidelity tests (module scope keeps them fast)."""
    with Emulator() as emu:
        emu.create_bucket("tricky")
        for i, key in enumerate(TRICKY_KEYS):
            emu.put_object("tricky", key, size=i)
        yield emu, emu.issue_credentials()


def provider(creds: IssuedCredentials, secret: str | None = None) -> StaticCredentialsProvider:
    return StaticCredentialsProvider(creds.access_key_id, secret or creds.access_key_secret, creds.security_token)


def v4_bucket(emu: Emulator, creds: IssuedCredentials, name: str = "tricky") -> oss2.Bucket:
    return oss2.Bucket(oss2.ProviderAuthV4(provider(creds)), emu.oss_endpoint, name, region=REGION)


def test_keys_are_distinct_and_the_long_one_is_1023_bytes() -> None:
    assert len(set(TRICKY_KEYS)) == len(TRICKY_KEYS) and max(len(k.encode()) for k in TRICKY_KEYS) == 1023
    assert BYTE_ORDER != TRICKY_KEYS  # they are seeded out of order, so order is the server's work


@pytest.mark.parametrize("max_keys", [1, 7, 1000])
@pytest.mark.parametrize("iterator", [oss2.ObjectIterator, oss2.ObjectIteratorV2])
def test_iterators_return_exactly_the_keys_in_byte_order(
    tricky: tuple[Emulator, IssuedCredentials], iterator: type, max_keys: int
) -> None:
    emu, creds = tricky
    keys = [obj.key for obj in iterator(v4_bucket(emu, creds), max_keys=max_keys)]
    assert keys == BYTE_ORDER


def test_object_attributes_survive_the_round_trip(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, creds = tricky
    objects = {o.key: o for o in oss2.ObjectIterator(v4_bucket(emu, creds), max_keys=1000)}
    info = objects["with space"]
    assert info.size == 0 and info.storage_class == "Standard" and info.type == "Normal"
    assert len(info.etag) == 32 and info.last_modified > 0


@pytest.mark.parametrize("iterator", [oss2.ObjectIterator, oss2.ObjectIteratorV2])
def test_delimiter_gives_common_prefixes(tricky: tuple[Emulator, IssuedCredentials], iterator: type) -> None:
    emu, creds = tricky
    entries = list(iterator(v4_bucket(emu, creds), delimiter="/", max_keys=2))
    prefixes = [e.key for e in entries if e.is_prefix()]
    keys = [e.key for e in entries if not e.is_prefix()]
    assert prefixes == ["/", "a/", "double/", "中文/"]
    assert keys == [k for k in BYTE_ORDER if "/" not in k]


def test_prefix_and_delimiter(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, creds = tricky
    entries = list(oss2.ObjectIterator(v4_bucket(emu, creds), prefix="a", delimiter="/", max_keys=1))
    assert [(e.key, e.is_prefix()) for e in entries] == [("a", False), ("a+b", False), ("a/", True), ("amp&<lt>", False)]


def test_provider_auth_v1_passes(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, creds = tricky
    bucket = oss2.Bucket(oss2.ProviderAuth(provider(creds)), emu.oss_endpoint, "tricky")
    assert [o.key for o in oss2.ObjectIterator(bucket, max_keys=7)] == BYTE_ORDER
    assert emu.requests_for("oss")[-1].signature_version == "1"


@pytest.mark.parametrize("version", [oss2.AUTH_VERSION_1, oss2.AUTH_VERSION_4])
def test_sts_auth_passes(tricky: tuple[Emulator, IssuedCredentials], version: str) -> None:
    emu, creds = tricky
    auth = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token, auth_version=version)
    bucket = oss2.Bucket(auth, emu.oss_endpoint, "tricky", region=REGION)
    assert len(bucket.list_objects(max_keys=1000).object_list) == len(TRICKY_KEYS)
    record = emu.requests_for("oss")[-1]
    assert record.access_key_id == creds.access_key_id and record.credentials_valid
    assert record.signature_version == ("4" if version == oss2.AUTH_VERSION_4 else "1")


def test_static_key_with_plain_auth_passes(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, _ = tricky
    emu.add_static_key("LTAI5tStaticKeyForTests", "static-secret")
    bucket = oss2.Bucket(oss2.AuthV4("LTAI5tStaticKeyForTests", "static-secret"), emu.oss_endpoint, "tricky", region=REGION)
    assert bucket.list_objects().status == 200


@pytest.mark.parametrize("auth_class", [oss2.ProviderAuth, oss2.ProviderAuthV4])
def test_wrong_secret_is_signature_does_not_match(tricky: tuple[Emulator, IssuedCredentials], auth_class: type) -> None:
    emu, creds = tricky
    bucket = oss2.Bucket(auth_class(provider(creds, secret="wrong")), emu.oss_endpoint, "tricky", region=REGION)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.list_objects()
    assert (info.value.status, info.value.code) == (403, "SignatureDoesNotMatch")
    assert info.value.request_id


def test_expired_token_is_security_token_expired(make_emulator: MakeEmulator) -> None:
    clock = FakeClock()
    emu = make_emulator(clock=clock, credential_lifetime=60, buckets=("bkt",))
    creds = emu.issue_credentials()
    bucket = v4_bucket(emu, creds, "bkt")
    assert bucket.list_objects().status == 200
    clock.advance(60)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.list_objects()
    assert (info.value.status, info.value.code) == (403, "SecurityTokenExpired")
    assert info.value.details["EC"] == "0002-00000007"
    record = emu.requests_for("oss")[-1]
    assert record.access_key_id == creds.access_key_id and record.credentials_valid is False


def test_unknown_key_and_foreign_token(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(buckets=("bkt",))
    one, two = emu.issue_credentials(), emu.issue_credentials()
    unknown = oss2.Bucket(oss2.StsAuth("STS.unknown", "x", "y"), emu.oss_endpoint, "bkt")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        unknown.list_objects()
    assert info.value.code == "InvalidAccessKeyId"
    mixed = oss2.Bucket(
        oss2.StsAuth(one.access_key_id, one.access_key_secret, two.security_token), emu.oss_endpoint, "bkt"
    )
    with pytest.raises(oss2.exceptions.ServerError) as info:
        mixed.list_objects()
    assert info.value.code == "InvalidSecurityToken"


def test_missing_and_denied_buckets(make_emulator: MakeEmulator) -> None:
    emu = make_emulator()
    emu.deny_bucket("secret-bucket")
    creds = emu.issue_credentials()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        v4_bucket(emu, creds, "nope").list_objects()
    with pytest.raises(oss2.exceptions.AccessDenied):
        v4_bucket(emu, creds, "secret-bucket").list_objects()


def test_anonymous_is_access_denied(tricky: tuple[Emulator, IssuedCredentials]) -> None:
    emu, _ = tricky
    with pytest.raises(oss2.exceptions.AccessDenied):
        oss2.Bucket(oss2.AnonymousAuth(), emu.oss_endpoint, "tricky").list_objects()


@pytest.mark.parametrize("status, code", [(503, "ServiceUnavailable"), (429, "QpsLimitExceeded")])
def test_a_throttling_burst_is_a_server_error_to_oss2_until_it_ends(
    make_emulator: MakeEmulator, status: int, code: str
) -> None:
    clock = FakeClock(time.time())
    emu = make_emulator(clock=clock)
    emu.create_bucket("bkt")
    emu.put_object("bkt", "k", size=1)
    bucket = v4_bucket(emu, emu.issue_credentials(), "bkt")
    emu.faults.unavailable_for(5.0, status)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.list_objects()
    assert (info.value.status, info.value.code) == (status, code)
    assert info.value.request_id and info.value.ec
    clock.advance(6.0)
    assert [o.key for o in bucket.list_objects().object_list] == ["k"]
