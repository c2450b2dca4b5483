"""output writers: exact keys in text/NUL/jsonl/csv, long columns, streams and byte counts."""

from __future__ import annotations

import csv
import errno
import io
import json
import os

import pytest

from osslist.errors import OutputError
from osslist.output import CSV_HEADER, OutputFile, human_size, make_writer
from osslist.pages import ObjectRecord, PrefixRecord, Record, Restore
from tests.helpers import BODY_KEYS

KEYS = BODY_KEYS + ["\u2028line sep", "\x7f\x1b[31mansi", "=formula"]


def rec(key: str, size: int = 1536, sclass: str = "IA") -> ObjectRecord:
    return ObjectRecord(key, size, "2024-06-22T13:13:58.000Z", "5B3C1A2E053D763E1B002CC607C5A0FE", sclass, "Normal")


RECORDS: list[Record] = [rec(k) for k in KEYS] + [PrefixRecord("dir/"), PrefixRecord("new\nline/")]


def render(fmt: str, records: list[Record] = RECORDS, **options: object) -> bytes:
    out = io.BytesIO()
    writer = make_writer(fmt, out, **options)  # type: ignore[arg-type]
    for record in records:
        writer.write(record)
    writer.close()
    assert writer.bytes_written == len(out.getvalue())
    return out.getvalue()


def test_text_writes_keys_verbatim_and_prefixes() -> None:
    assert render("text", [rec("a b"), PrefixRecord("d/")]) == b"a b\nd/\n"


def test_null_output_round_trips_every_key() -> None:
    data = render("text", null=True)
    assert data.endswith(b"\0")
    assert data[:-1].decode("utf-8").split("\0") == KEYS + ["dir/", "new\nline/"]


def test_jsonl_round_trips_every_key_and_fields() -> None:
    lines = render("jsonl").decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == len(RECORDS) + 1
    parsed = [json.loads(line) for line in lines[:-1]]
    assert [p.get("key", p.get("prefix")) for p in parsed] == KEYS + ["dir/", "new\nline/"]
    assert parsed[0] == {
        "key": KEYS[0],
        "size": 1536,
        "last_modified": "2024-06-22T13:13:58.000Z",
        "etag": "5B3C1A2E053D763E1B002CC607C5A0FE",
        "storage_class": "IA",
        "type": "Normal",
    }
    assert parsed[-1] == {"prefix": "new\nline/"}


def test_jsonl_keeps_non_ascii_readable() -> None:
    assert "中文".encode() in render("jsonl", [rec("中文")])


def test_csv_round_trips_every_key_with_inventory_header() -> None:
    text = render("csv", bucket="my-bucket").decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == CSV_HEADER
    assert [r[1] for r in rows[1:]] == KEYS + ["dir/", "new\nline/"]
    assert rows[1] == ["my-bucket", KEYS[0], "1536", "2024-06-22T13:13:58.000Z",
                       "5B3C1A2E053D763E1B002CC607C5A0FE", "IA", "Normal", "", "", ""]
    assert rows[-1] == ["my-bucket", "new\nline/", "", "", "", "", "Prefix", "", "", ""]


def test_csv_without_header_for_resume() -> None:
    assert render("csv", [rec("k")], header=False) == (
        b"," + b"k,1536,2024-06-22T13:13:58.000Z,5B3C1A2E053D763E1B002CC607C5A0FE,IA,Normal,,,\r\n")


def test_long_columns_are_fixed_width() -> None:
    lines = render("long", [rec("a", size=5), rec("b", size=123456789012, sclass="DeepColdArchive"),
                            PrefixRecord("dir/")]).decode().splitlines()
    key_column = {line.index(name) for line, name in zip(lines, ["a", "b", "dir/"])}
    assert len(key_column) == 1
    assert lines[0].split() == ["2024-06-22T13:13:58.000Z", "5", "IA", "5B3C1A2E053D763E1B002CC607C5A0FE", "a"]
    assert lines[2].split() == ["PRE", "dir/"]


def test_long_human_sizes() -> None:
    lines = render("long", [rec("a", size=1536), rec("b", size=23 * 1024**2)], human=True).decode().splitlines()
    assert [line.split()[1] for line in lines] == ["1.5K", "23M"]
    assert lines[0].index("a") == lines[1].index("b")


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0"), (1023, "1023"), (1024, "1.0K"), (1536, "1.5K"), (10 * 1024, "10K"),
     (1024**2 - 1, "1.0M"), (23 * 1024**2, "23M"), (5 * 1024**4, "5.0T"), (2**70, "1024E")],
)
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_writes_through_a_text_stream_buffer_after_earlier_text(tmp_path) -> None:
    path = tmp_path / "out.txt"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("already\n")
        writer = make_writer("text", handle)
        writer.write_rendered(writer.render([rec("é"), rec("b")]))
        writer.flush()
        assert os.path.getsize(path) == len(b"already\n") + writer.bytes_written
    assert path.read_bytes() == "already\né\nb\n".encode()


def test_writes_to_a_text_stream_without_buffer() -> None:
    out = io.StringIO()
    writer = make_writer("jsonl", out)
    writer.write(PrefixRecord("p/"))
    assert out.getvalue() == '{"prefix": "p/"}\n' and writer.bytes_written == len(out.getvalue())


@pytest.mark.parametrize(("fmt", "options"), [
    ("text", {}), ("text", {"null": True}), ("long", {"human": True}), ("long", {"null": True}), ("jsonl", {}),
    ("csv", {"bucket": "b"}),
])
@pytest.mark.parametrize("records", [[*RECORDS, rec("raw\udcff"), rec("lone\ud800")], []], ids=["odd", "none"])
def test_render_then_write_rendered_equals_write_each(fmt: str, options: dict[str, object], records: list[Record]) -> None:
    """Parallel workers render pages (a join per page, not a line per call); the bytes must be
    exactly what writing each record writes."""
    direct = render(fmt, records, **options)
    rendered = io.BytesIO()
    other = make_writer(fmt, rendered, **options)  # type: ignore[arg-type]
    data = make_writer(fmt, io.BytesIO(), header=False, **options).render(records)  # type: ignore[arg-type]
    other.write_rendered(data)
    other.write_rendered(b"")
    other.close()
    assert rendered.getvalue() == direct
    assert other.bytes_written == len(direct)


def test_csv_render_is_safe_across_threads() -> None:
    """CsvWriter's own buffer is shared state; render() must not use it."""
    from concurrent.futures import ThreadPoolExecutor

    writer = make_writer("csv", io.BytesIO(), bucket="b", header=False)
    pages = [[rec(f"t{n}-{i}\n") for i in range(300)] for n in range(16)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(writer.render, pages))
    assert got == [render("csv", page, bucket="b", header=False) for page in pages]


def test_lone_surrogates_decision() -> None:
    odd = [rec("raw\udcff"), rec("lone\ud800")]
    assert render("text", odd) == b"raw\xff\nlone\\ud800\n"
    lines = render("jsonl", odd).decode("ascii").splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["raw\udcff", "lone\ud800"]


def test_unknown_format() -> None:
    with pytest.raises(ValueError):
        make_writer("xml", io.BytesIO())


class _FailingRaw(io.BytesIO):
    """A binary stream whose flush fails like a full disk (or a closed pipe)."""

    def __init__(self, exc: OSError) -> None:
        super().__init__()
        self.exc = exc

    def flush(self) -> None:
        raise self.exc


def test_output_file_names_its_destination_when_a_write_fails() -> None:
    stream = OutputFile(_FailingRaw(OSError(errno.ENOSPC, "No space left on device")), "--output big.txt", owned=True)
    stream.write("text and ")
    stream.write(b"bytes")
    with pytest.raises(OutputError, match="^cannot write --output big.txt: No space left on device$"):
        stream.close()
    with pytest.raises(BrokenPipeError):  # the reader went away: the CLI's exit 141, not an error line
        OutputFile(_FailingRaw(BrokenPipeError(errno.EPIPE, "Broken pipe")), "stdout", owned=False).flush()


def _rare(key: str, **details: object) -> ObjectRecord:
    from osslist.pages import Details

    base = rec(key, sclass="Archive")
    return ObjectRecord(base.key, base.size, base.last_modified, base.etag, base.storage_class, base.type,
                        details=Details(**details))  # type: ignore[arg-type]


RARE = [
    rec("plain"),
    _rare("ongoing", restore=Restore(True)),
    _rare("restored", restore=Restore(False, "2026-11-30T12:00:00.000Z"), transition_time="2024-01-01T00:00:00.000Z"),
    _rare("owned", owner="42"),
]


def test_jsonl_adds_restore_transition_and_owner_only_when_present() -> None:
    lines = [json.loads(line) for line in render("jsonl", RARE).splitlines()]
    assert [set(line) - {"key", "size", "last_modified", "etag", "storage_class", "type"} for line in lines] == [
        set(), {"restore"}, {"restore", "transition_time"}, {"owner"}
    ]
    assert lines[1]["restore"] == {"ongoing": True}
    assert lines[2]["restore"] == {"ongoing": False, "expiry": "2026-11-30T12:00:00.000Z"}
    assert lines[2]["transition_time"] == "2024-01-01T00:00:00.000Z" and lines[3]["owner"] == "42"
    assert render("jsonl", RARE[:1]) == render("jsonl", [rec("plain")])  # a plain record: the line it always was


@pytest.mark.parametrize("owner", [False, True])
def test_csv_has_archive_columns_and_owner_with_fetch_owner(owner: bool) -> None:
    rows = list(csv.reader(io.StringIO(render("csv", RARE, owner=owner).decode(), newline="")))
    assert rows[0] == CSV_HEADER + (["Owner"] if owner else [])
    rare = [row[7:] for row in rows[1:]]
    assert [r[:3] for r in rare] == [
        ["", "", ""], ["", "ongoing", ""], ["2024-01-01T00:00:00.000Z", "restored", "2026-11-30T12:00:00.000Z"],
        ["", "", ""],
    ]
    assert [r[3:] for r in rare] == ([[""], [""], [""], ["42"]] if owner else [[], [], [], []])
