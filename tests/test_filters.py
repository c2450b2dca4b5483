"""filters: globs, sizes, times, storage classes; prefixes pass; bad values are UsageError."""

from __future__ import annotations

import pytest

from osslist.errors import UsageError
from osslist.filters import build_filter, iso_utc, parse_size, parse_storage_class, parse_time
from osslist.pages import Details, ObjectRecord, PrefixRecord, Restore

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def obj(key: str = "k", size: int = 0, mtime: str = "2023-11-14T22:13:20.000Z", sclass: str = "Standard"):
    return ObjectRecord(key=key, size=size, last_modified=mtime, etag="e", storage_class=sclass, type="Normal")


def kept(predicate, records):
    return [r.key for r in records if predicate(r)]


KEYS = [obj(k) for k in ["logs/2024/a.gz", "logs/b.gz", "logs/c.txt", "LOGS/d.gz", "x.gz", "new\nline.gz"]]


def test_include_glob_matches_whole_key_and_star_crosses_slash() -> None:
    assert kept(build_filter(include=["logs/*.gz"]), KEYS) == ["logs/2024/a.gz", "logs/b.gz"]


def test_globs_are_case_sensitive_and_match_newlines() -> None:
    assert kept(build_filter(include=["LOGS/*"]), KEYS) == ["LOGS/d.gz"]
    assert kept(build_filter(include=["new?line.gz"]), KEYS) == ["new\nline.gz"]


def test_exclude_wins_over_include_and_several_globs_combine() -> None:
    predicate = build_filter(include=["logs/*", "*.txt"], exclude=["*/2024/*", "*.txt"])
    assert kept(predicate, KEYS) == ["logs/b.gz"]
    assert kept(build_filter(include=["x.gz", "logs/c.txt"]), KEYS) == ["logs/c.txt", "x.gz"]


def test_glob_character_class() -> None:
    assert kept(build_filter(include=["logs/[bc].*"]), KEYS) == ["logs/b.gz", "logs/c.txt"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("10", 10), ("10K", 10240), ("10k", 10240), ("10KB", 10240), ("10KiB", 10240),
     ("1.5M", 1572864), ("2G", 2 * 1024**3), ("1T", 1024**4), ("7B", 7), (" 3 M ", 3 * 1024**2)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_parse_size_is_exact_for_long_numbers() -> None:
    """Decimal, not float: 2**53 + 1 survives, and a number too long for a float is no crash."""
    assert parse_size(str(2**53 + 1)) == 2**53 + 1
    assert parse_size(str(2**63 - 1)) == 2**63 - 1


@pytest.mark.parametrize("text", ["", "-1", "ten", "10X", "1.2.3K", "K", "10 KK", "1" * 400, str(2**63), "8192P",
                                  "\u0661\u0660", "10\n\n5"])
def test_parse_size_refuses_bad_values(text: str) -> None:
    with pytest.raises(UsageError, match="invalid size"):
        parse_size(text)


def test_size_bounds_are_inclusive() -> None:
    records = [obj(str(s), size=s) for s in (10239, 10240, 10241)]
    assert kept(build_filter(min_size=10240), records) == ["10240", "10241"]
    assert kept(build_filter(max_size=10240), records) == ["10239", "10240"]
    assert kept(build_filter(min_size=10240, max_size=10240), records) == ["10240"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", NOW - 90), ("30m", NOW - 1800), ("12h", NOW - 43200), ("7d", NOW - 604800),
     ("2w", NOW - 1209600), ("1.5h", NOW - 5400), ("2024-01-01", 1704067200.0),
     ("2024-01-01T12:00:00Z", 1704110400.0), ("2024-01-01T12:00:00+08:00", 1704081600.0),
     ("2024-01-01T12:00:00.500z", 1704110400.5)],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "7x", "2024-13-01", "-7d", "9" * 400 + "d", "1" * 12 + "w"])
def test_parse_time_refuses_bad_values(text: str) -> None:
    with pytest.raises(UsageError, match="invalid time"):
        parse_time(text, now=NOW)


@pytest.mark.parametrize(
    ("epoch", "text"),
    [(0, "1970-01-01T00:00:00Z"), (1704110400.5, "2024-01-01T12:00:00.500000Z"),
     (parse_time("0001-01-01", now=NOW), "0001-01-01T00:00:00Z")],
)
def test_iso_utc_is_what_dry_run_shows(epoch: float, text: str) -> None:
    assert iso_utc(epoch) == text
    assert parse_time(text, now=NOW) == epoch


def test_modified_after_is_inclusive_and_before_is_exclusive() -> None:
    records = [obj(m, mtime=m) for m in
               ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.001Z", "2023-12-31T23:59:59.999Z"]]
    boundary = parse_time("2024-01-01", now=NOW)
    after = kept(build_filter(modified_after=boundary), records)
    before = kept(build_filter(modified_before=boundary), records)
    assert after == ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.001Z"]
    assert before == ["2023-12-31T23:59:59.999Z"]


def test_relative_time_window() -> None:
    records = [obj("old", mtime="2023-11-01T00:00:00.000Z"), obj("new", mtime="2023-11-14T00:00:00.000Z")]
    assert kept(build_filter(modified_after=parse_time("7d", now=NOW)), records) == ["new"]


def test_storage_class_matches_case_insensitively() -> None:
    records = [obj(c, sclass=c) for c in ["Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"]]
    assert kept(build_filter(storage_classes=["ia", "COLDARCHIVE"]), records) == ["IA", "ColdArchive"]
    assert parse_storage_class("deepcoldarchive") == "DeepColdArchive"


def test_unknown_storage_class_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown storage class"):
        build_filter(storage_classes=["Glacier"])


def test_prefix_records_pass_every_filter() -> None:
    predicate = build_filter(include=["nothing"], min_size=1, modified_after=NOW, storage_classes=["IA"])
    assert predicate(PrefixRecord("dir/"))
    assert not predicate(obj("dir/x", size=5, sclass="IA"))


def test_no_filters_keep_everything() -> None:
    assert kept(build_filter(), KEYS) == [r.key for r in KEYS]


def _archived(key: str, sclass: str, restore: Restore | None) -> ObjectRecord:
    return ObjectRecord(key, 0, "2023-11-14T22:13:20.000Z", "e", sclass, "Normal",
                        details=None if restore is None else Details(restore=restore))


ARCHIVED = [
    _archived("std", "Standard", None), _archived("ia-odd", "IA", Restore(True)), _archived("arc", "Archive", None),
    _archived("cold", "ColdArchive", Restore(True)), _archived("deep", "DeepColdArchive", Restore(False, "x")),
]


@pytest.mark.parametrize(
    ("states", "expected"),
    [(["none"], ["arc"]), (["ONGOING"], ["cold"]), (["restored"], ["deep"]), (["none", "restored"], ["arc", "deep"])],
)
def test_restore_state_keeps_archive_class_objects_in_those_states(states: list[str], expected: list[str]) -> None:
    assert kept(build_filter(restore_states=states), ARCHIVED) == expected
    assert build_filter(restore_states=states)(PrefixRecord("d/"))


def test_an_unknown_restore_state_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown restore state 'thawed'"):
        build_filter(restore_states=["thawed"])
