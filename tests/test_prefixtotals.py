"""du: totals per prefix to a depth, direct objects in rows of their own, sorting, rendering."""

from __future__ import annotations

import csv
import io
import json

import pytest

from osslist.prefixtotals import DuTotals, render, totals
from osslist.pages import ObjectRecord, PrefixRecord


def obj(key: str, size: int, sclass: str = "Standard") -> ObjectRecord:
    return ObjectRecord(key, size, "2024-06-22T13:13:58.000Z", "e", sclass, "Normal")


TREE = [
    obj("logs/2024/01/a.gz", 100),
    obj("logs/2024/01/b.gz", 50, "IA"),
    obj("logs/2024/02/c.gz", 10),
    obj("logs/2023/x.gz", 500, "Archive"),
    obj("logs/readme", 7),
    obj("img/cat.png", 1000),
    obj("top.txt", 3),
    obj("new\nline/f", 1),
]


def table(rows) -> list[tuple[str, str, int, int]]:
    return [(r.prefix, r.scope, r.objects, r.bytes) for r in rows]


def test_depth_one_groups_first_segment_and_direct_objects_get_their_own_row() -> None:
    assert table(totals(TREE, depth=1)) == [
        ("img/", "subtree", 1, 1000),
        ("logs/", "subtree", 5, 667),
        ("", "objects", 1, 3),
        ("new\nline/", "subtree", 1, 1),
    ]


def test_depth_two_under_a_prefix() -> None:
    rows = totals([r for r in TREE if r.key.startswith("logs/")], prefix="logs/", depth=2)
    assert table(rows) == [
        ("logs/2023/", "objects", 1, 500),
        ("logs/2024/01/", "subtree", 2, 150),
        ("logs/2024/02/", "subtree", 1, 10),
        ("logs/", "objects", 1, 7),
    ]


def test_prefix_without_trailing_slash_and_empty_segments() -> None:
    rows = totals([obj("lo/a", 1), obj("lox", 2), obj("lo//b", 4)], prefix="lo", depth=1)
    assert table(rows) == [("lo/", "subtree", 2, 5), ("lo", "objects", 1, 2)]


def test_sorted_by_size_then_objects_then_prefix() -> None:
    rows = totals([obj("b/1", 5), obj("a/1", 5), obj("c/1", 2), obj("c/2", 3)], depth=1)
    assert [r.prefix for r in rows] == ["c/", "a/", "b/"]


def test_by_storage_class_and_prefix_records_are_skipped() -> None:
    rows = DuTotals(prefix="logs/", depth=1, by_class=True).add_all(TREE[:5] + [PrefixRecord("logs/p/")]).rows()
    assert [(r.prefix, r.by_class) for r in rows] == [
        ("logs/2023/", {"Archive": [1, 500]}),
        ("logs/2024/", {"Standard": [2, 110], "IA": [1, 50]}),
        ("logs/", {"Standard": [1, 7]}),
    ]


def test_render_table_is_aligned_with_human_sizes_and_total() -> None:
    lines = render(totals(TREE, depth=1), "table").splitlines()
    assert lines[0].split() == ["SIZE", "OBJECTS", "PREFIX"]
    assert lines[1].split() == ["1000", "1", "img/"]
    assert lines[-1].split() == ["1.6K", "8", "TOTAL"]
    assert "new\\x0aline/" in lines[-2] and len(lines) == 6
    assert len({line.index(line.split()[-1]) for line in lines}) == 1


def test_render_table_by_class_columns() -> None:
    rows = totals(TREE, prefix="", depth=1, by_class=True)
    lines = render(rows, "table", by_class=True, human=False).splitlines()
    assert lines[0].split() == ["SIZE", "OBJECTS", "Standard", "IA", "Archive", "PREFIX"]
    assert lines[2].split() == ["667", "5", "117", "50", "500", "logs/"]


def test_render_jsonl_and_csv_round_trip() -> None:
    rows = totals(TREE, depth=1, by_class=True)
    parsed = [json.loads(line) for line in render(rows, "jsonl", by_class=True).splitlines()]
    assert parsed[1] == {"prefix": "logs/", "scope": "subtree", "objects": 5, "bytes": 667,
                         "storage_classes": {"Standard": {"objects": 3, "bytes": 117},
                                             "IA": {"objects": 1, "bytes": 50},
                                             "Archive": {"objects": 1, "bytes": 500}}}
    assert parsed[3]["prefix"] == "new\nline/"
    data = list(csv.reader(io.StringIO(render(rows, "csv", by_class=True), newline="")))
    assert data[0][:4] == ["Prefix", "Scope", "Objects", "Bytes"] and data[0][4:6] == ["StandardObjects", "StandardBytes"]
    assert data[4][:4] == ["new\nline/", "subtree", "1", "1"]


def test_bad_depth_and_format() -> None:
    with pytest.raises(ValueError):
        DuTotals(depth=0)
    with pytest.raises(ValueError):
        render([], "xml")
