"""Summary: counts per storage class, prefixes, merge for parallel workers, text and JSON."""

from __future__ import annotations

import json

from osslist.pages import Details, ObjectRecord, PrefixRecord, Restore
from osslist.summary import Summary


def obj(size: int, sclass: str) -> ObjectRecord:
    return ObjectRecord("k", size, "2024-06-22T13:13:58.000Z", "e", sclass, "Normal")


def filled() -> Summary:
    summary = Summary()
    for record in [obj(1000, "Standard"), obj(24, "Standard"), obj(2048, "IA"), PrefixRecord("d/")]:
        summary.add(record)
    summary.requests, summary.elapsed = 3, 2.0
    return summary


def test_counts_objects_bytes_classes_and_prefixes() -> None:
    summary = filled()
    assert (summary.objects, summary.bytes, summary.prefixes) == (3, 3072, 1)
    assert summary.classes() == [("Standard", 2, 1024), ("IA", 1, 2048)]


def test_add_many_equals_add_each() -> None:
    records = [obj(1000, "Standard"), PrefixRecord("d/"), obj(24, "Standard"), obj(2048, "IA"), PrefixRecord("e/")]
    one, many = Summary(), Summary()
    for record in records:
        one.add(record)
    many.add_many(records)
    many.add_many([])
    assert many == one and (many.objects, many.bytes, many.prefixes) == (3, 3072, 2)


def test_merge_adds_counts_and_keeps_the_longest_elapsed() -> None:
    other = Summary()
    other.add(obj(5, "Archive"))
    other.add(obj(7, "IA"))
    other.requests, other.elapsed = 4, 1.5
    merged = filled().merge(other)
    assert (merged.objects, merged.bytes, merged.requests, merged.elapsed) == (5, 3084, 7, 2.0)
    assert merged.classes() == [("Standard", 2, 1024), ("IA", 2, 2055), ("Archive", 1, 5)]


def test_to_json_is_one_line_of_plain_values() -> None:
    text = filled().to_json()
    assert "\n" not in text
    assert json.loads(text) == {
        "objects": 3,
        "bytes": 3072,
        "bytes_human": "3.0K",
        "prefixes": 1,
        "requests": 3,
        "elapsed_seconds": 2.0,
        "storage_classes": {"Standard": {"objects": 2, "bytes": 1024}, "IA": {"objects": 1, "bytes": 2048}},
    }


def test_to_text_shows_exact_and_human_bytes_per_class() -> None:
    lines = filled().to_text().splitlines()
    assert lines[0] == "3 objects, 3,072 bytes (3.0K), 1 common prefix; 3 requests in 2.0 s, 2 objects/s"
    assert lines[1].split() == ["Standard", "2", "objects", "1,024", "bytes", "(1.0K)"]
    assert lines[2].split()[:2] == ["IA", "1"]


def test_to_text_says_one_object_and_one_request_in_the_singular() -> None:
    summary = Summary(requests=1)
    summary.add(ObjectRecord("k", 1, "2024-01-01T00:00:00.000Z", "E", "Standard", "Normal"))
    assert summary.to_text().splitlines()[0] == "1 object, 1 byte (1); 1 request in 0.0 s"


def test_per_class_lines_say_one_object_in_the_singular_and_stay_aligned() -> None:
    lines = filled().to_text().splitlines()[1:]
    assert lines[1].split() == ["IA", "1", "object", "2,048", "bytes", "(2.0K)"]
    assert len({line.index("(") for line in lines}) == 1  # the human sizes line up


def test_empty_summary() -> None:
    assert Summary().to_text() == "0 objects, 0 bytes (0); 0 requests in 0.0 s"
    assert Summary().to_dict()["storage_classes"] == {}


def test_versions_add_noncurrent_bytes_and_delete_markers_to_the_summary() -> None:
    from osslist.pages import VersionRecord

    stamp = "2024-01-01T00:00:00.000Z"
    records = [
        VersionRecord("k", 10, stamp, "E", "Standard", "Normal", "v3", True, False),
        VersionRecord("k", 7, stamp, "E", "IA", "Normal", "v2", False, False),
        VersionRecord("k", 0, stamp, "", "", "", "v1", False, True),
    ]
    one, many = Summary(), Summary()
    for record in records:
        one.add(record)
    many.add_many(records)
    for summary in (one, many):
        assert (summary.objects, summary.bytes, summary.noncurrent_objects, summary.noncurrent_bytes,
                summary.delete_markers) == (2, 17, 1, 7, 1)
        assert summary.to_dict()["noncurrent"] == {"objects": 1, "bytes": 7}
        assert "of which noncurrent: 1 version, 7 bytes (7); 1 delete marker" in summary.to_text()
    assert "noncurrent" not in Summary().to_dict() and "noncurrent" not in Summary().to_text()
    assert Summary().merge(many).delete_markers == 1


def _archive(sclass: str, restore: Restore | None) -> ObjectRecord:
    details = None if restore is None else Details(restore=restore)
    return ObjectRecord("k", 10, "2024-06-22T13:13:58.000Z", "e", sclass, "Normal", details=details)


def test_archive_class_objects_are_counted_per_restore_state() -> None:
    records = [
        _archive("Archive", None), _archive("ColdArchive", Restore(True)), _archive("DeepColdArchive", Restore(False)),
        _archive("Archive", Restore(False, "2026-01-01T00:00:00.000Z")), _archive("Standard", None),
        _archive("IA", Restore(True)),  # not an archive class: not counted, whatever it says
    ]
    one, many = Summary(), Summary()
    for record in records:
        one.add(record)
    many.add_many(records)
    assert one.restore_states() == many.restore_states() == {"none": 1, "ongoing": 1, "restored": 2}
    assert one.to_dict()["restore_states"] == {"none": 1, "ongoing": 1, "restored": 2}
    assert "archive-class objects by restore state: 1 none, 1 ongoing, 2 restored" in one.to_text()
    merged = Summary().merge(one).merge(many)
    assert merged.restore_states() == {"none": 2, "ongoing": 2, "restored": 4}


def test_no_restore_states_without_archive_class_objects() -> None:
    assert "restore_states" not in filled().to_dict() and "restore state" not in filled().to_text()
