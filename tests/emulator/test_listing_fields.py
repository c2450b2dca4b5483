"""Fidelity of the listing's rare fields (RestoreInfo, TransitionTime, Owner with and without
fetch-owner) against real clients: oss2's ListObjects/ListObjectsV2 and Alibaba's OSS SDK V2
paginators read the emulator's bodies, and osslist's parser must read the same values from
the same bodies (issue 13, "Fields from the responses already fetched")."""

from __future__ import annotations

from typing import Any

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider

from osslist.emulator import Archive, Emulator
from osslist.listing import ListingSpec, iter_records
from osslist.pages import ObjectRecord, parse_restore
from tests.emulator.keys import TRICKY_KEYS
from tests.helpers import emulator_client

REGION = "cn-hangzhou"
BASE = 1_704_067_200
BUCKET = "arc"
ARCHIVED = {  # key -> (storage class, Archive state); the rest of the keys are Standard
    "a/ongoing": ("ColdArchive", Archive(True, None, BASE + 60)),
    "b restored": ("Archive", Archive(False, BASE + 86400, None)),
    "c/deep": ("DeepColdArchive", Archive(None, None, BASE + 120)),
    TRICKY_KEYS[-1]: ("Archive", Archive(False, BASE + 3600, BASE)),
}


@pytest.fixture
def archived(emulator: Emulator) -> Emulator:
    emulator.create_bucket(BUCKET)
    for key in ["d plain", TRICKY_KEYS[0], TRICKY_KEYS[1]]:
        emulator.put_object(BUCKET, key)
    for key, (storage_class, archive) in ARCHIVED.items():
        emulator.put_object(BUCKET, key, storage_class=storage_class, archive=archive)
    return emulator


def ours(emu: Emulator, api: str, fetch_owner: bool, max_keys: int = 2) -> dict[str, ObjectRecord]:
    spec = ListingSpec(list_api=api, fetch_owner=fetch_owner, max_keys=max_keys)
    return {r.key: r for r in iter_records(emulator_client(emu, BUCKET), spec)}  # type: ignore[union-attr]


def oss2_objects(emu: Emulator, api: str, fetch_owner: bool) -> list[Any]:  # Any: oss2's SimplifiedObjectInfo
    creds = emu.issue_credentials()
    provider = StaticCredentialsProvider(creds.access_key_id, creds.access_key_secret, creds.security_token)
    bucket = oss2.Bucket(oss2.ProviderAuthV4(provider), emu.oss_endpoint, BUCKET, region=REGION)
    if api == "v1":
        return list(oss2.ObjectIterator(bucket, max_keys=2))
    return list(oss2.ObjectIteratorV2(bucket, max_keys=2, fetch_owner=fetch_owner))


@pytest.mark.parametrize(("api", "fetch_owner"), [("v1", False), ("v1", True), ("v2", False), ("v2", True)])
def test_oss2_and_osslist_read_the_same_restore_info_and_owner(archived: Emulator, api: str, fetch_owner: bool) -> None:
    theirs = oss2_objects(archived, api, fetch_owner)
    mine = ours(archived, api, fetch_owner)
    assert [o.key for o in theirs] == list(mine)
    for info in theirs:
        record = mine[info.key]
        assert record.restore == (parse_restore(info.restore_info) if info.restore_info else None)
        if api == "v2" and not fetch_owner:
            assert info.owner is None  # the emulator sends Owner in v2 only when asked
        else:
            assert info.owner is not None and info.owner.id
        assert record.owner == (info.owner.id if fetch_owner else None)  # v1's Owner is kept only when asked
    restored = mine["b restored"].restore
    assert restored is not None and not restored.ongoing and restored.expiry == "2024-01-02T00:00:00.000Z"
    assert mine["a/ongoing"].restore is not None and mine["a/ongoing"].restore.ongoing
    assert mine["c/deep"].restore is None
    assert (mine["d plain"].details is None) == (not fetch_owner)  # nothing rare: no details at all


def sdk_v2_objects(emu: Emulator, fetch_owner: bool) -> list[Any]:  # Any: the SDK's ObjectProperties
    creds = emu.issue_credentials()
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        creds.access_key_id, creds.access_key_secret, creds.security_token
    )
    cfg.region, cfg.endpoint, cfg.retry_max_attempts = REGION, emu.oss_endpoint, 1
    paginator = oss.Client(cfg).list_objects_v2_paginator(limit=3)
    request = oss.ListObjectsV2Request(bucket=BUCKET, encoding_type="url", fetch_owner=fetch_owner)
    return [o for page in paginator.iter_page(request) for o in page.contents or []]


@pytest.mark.parametrize("fetch_owner", [False, True])
def test_sdk_v2_and_osslist_read_the_same_transition_time_restore_and_owner(
    archived: Emulator, fetch_owner: bool
) -> None:
    theirs = sdk_v2_objects(archived, fetch_owner)
    mine = ours(archived, "v2", fetch_owner, max_keys=3)
    assert [o.key for o in theirs] == list(mine)
    for props in theirs:
        record = mine[props.key]
        assert record.transition_time == props.transition_time
        assert record.restore == (parse_restore(props.restore_info) if props.restore_info else None)
        assert record.type == props.object_type and record.storage_class == props.storage_class
        assert (props.owner.id if props.owner else None) == record.owner
        assert (props.owner is not None) == fetch_owner
    assert mine["c/deep"].transition_time == "2024-01-01T00:02:00.000Z"
    assert sum(r.transition_time is not None for r in mine.values()) == 3
