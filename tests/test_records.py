"""Public records: OSS's LastModified text as an exact UTC datetime, prefixes as themselves."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from osslist import pages
from osslist.errors import ListingError
from osslist.records import ObjectRecord, PrefixRecord, VersionRecord, public_record, public_records, utc_datetime


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2024-06-22T13:13:58.000Z", datetime(2024, 6, 22, 13, 13, 58, tzinfo=timezone.utc)),
    ("2024-06-22T13:13:58.123Z", datetime(2024, 6, 22, 13, 13, 58, 123000, tzinfo=timezone.utc)),
    ("2024-06-22T13:13:58Z", datetime(2024, 6, 22, 13, 13, 58, tzinfo=timezone.utc)),
    ("1999-12-31T23:59:59.999999Z", datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)),
])
def test_utc_datetime_is_exact(stamp: str, expected: datetime) -> None:
    assert utc_datetime(stamp) == expected
    assert utc_datetime(stamp).tzinfo is timezone.utc


@pytest.mark.parametrize("stamp", ["", "yesterday", "2024-13-01T00:00:00.000Z", "2024-06-22T13:13:xx.000Z"])
def test_an_unreadable_time_is_a_listing_error(stamp: str) -> None:
    with pytest.raises(ListingError, match="unreadable LastModified"):
        utc_datetime(stamp)


def test_public_records_keep_every_field_and_the_order() -> None:
    listed = [pages.PrefixRecord("a/"), pages.ObjectRecord("b", 7, "2024-06-22T13:13:58.000Z", "E", "IA", "Multipart")]
    assert public_records(listed) == (
        PrefixRecord("a/"),
        ObjectRecord("b", 7, datetime(2024, 6, 22, 13, 13, 58, tzinfo=timezone.utc), "E", "IA", "Multipart"),
    )


def test_a_listed_version_becomes_a_public_version_record() -> None:
    listed = pages.VersionRecord("k", 0, "2024-06-22T13:13:58.000Z", "", "Standard", "Normal", "v1", True, True)
    version = public_record(listed)
    assert type(version) is VersionRecord and isinstance(version, ObjectRecord)
    assert (version.version_id, version.is_latest, version.is_delete_marker) == ("v1", True, True)
    assert version.last_modified == datetime(2024, 6, 22, 13, 13, 58, tzinfo=timezone.utc)
