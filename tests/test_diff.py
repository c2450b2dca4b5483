"""`osslist diff` (issue 12 point 3): a streaming merge-join of two listings in key order, one
record per difference, a summary, and diff(1)'s exit codes: 0 same, 1 differ, >= 2 trouble."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from osslist.cli import main
from osslist.diff import DiffSummary, diff_records
from osslist.emulator import Emulator
from osslist.reports import ReportRecord
from tests.emulator.keys import TRICKY_KEYS
from tests.helpers import clean_env, inventory_report, listing_report

BUCKET = "audited"


def rec(key: str, size: int = 1, etag: str = "E", mtime: str = "2024-01-01T00:00:00.000Z", cls: str = "Standard",
        version: str | None = None) -> ReportRecord:
    return ReportRecord(key, size, etag, mtime, cls, version)


def changes(old: list[ReportRecord], new: list[ReportRecord], **kwargs: object) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.change, c.key, c.fields) for c in diff_records(old, new, **kwargs)]  # type: ignore[arg-type]


# --- the merge-join -----------------------------------------------------------------------------


def test_added_removed_modified_and_nothing_else() -> None:
    old = [rec("a"), rec("b"), rec("c", size=3), rec("d", etag="X"), rec("e", cls="Standard"), rec("f")]
    new = [rec("a"), rec("c", size=4), rec("d", etag="Y"), rec("e", cls="IA"), rec("f"), rec("g")]
    assert changes(old, new) == [
        ("removed", "b", ()),
        ("modified", "c", ("size",)),
        ("modified", "d", ("etag",)),
        ("modified", "e", ("storage_class",)),
        ("added", "g", ()),
    ]


def test_last_modified_alone_is_named_but_not_a_modification_unless_compared() -> None:
    old, new = [rec("a")], [rec("a", mtime="2025-01-01T00:00:00.000Z")]
    assert changes(old, new) == []
    assert changes(old, new, unchanged=True) == [("unchanged", "a", ("last_modified",))]
    assert changes(old, new, compare=("last_modified",)) == [("modified", "a", ("last_modified",))]


def test_one_side_empty() -> None:
    assert changes([], [rec("a"), rec("b")]) == [("added", "a", ()), ("added", "b", ())]
    assert changes([rec("a")], []) == [("removed", "a", ())]


def test_versions_compare_per_key_and_version_id() -> None:
    old = [rec("a", version="v2"), rec("a", version="v1", size=5), rec("b", version="v1")]
    new = [rec("a", version="v3"), rec("a", version="v2"), rec("a", version="v1", size=6), rec("b", version="v1")]
    found = [(c.change, c.key, c.version_id) for c in diff_records(old, new)]
    assert found == [("modified", "a", "v1"), ("added", "a", "v3")]


def test_summary_counts_bytes_per_change_and_storage_class() -> None:
    summary = DiffSummary()
    old = [rec("a", size=10), rec("b", size=20), rec("c", size=30)]
    new = [rec("b", size=25, cls="IA"), rec("c", size=30), rec("d", size=40)]
    for change in diff_records(old, new, unchanged=True):
        summary.add(change)
    view = summary.to_dict()
    assert view["changes"]["added"] == {"objects": 1, "bytes": 40}
    assert view["changes"]["removed"] == {"objects": 1, "bytes": -10}
    assert view["changes"]["modified"] == {"objects": 1, "bytes": 5}
    assert view["changes"]["unchanged"] == {"objects": 1, "bytes": 0}
    assert view["storage_classes"]["IA"] == {"added": 0, "removed": 0, "modified": 1, "objects": 1, "bytes": 25}
    assert view["storage_classes"]["Standard"] == {"added": 1, "removed": 1, "modified": 0, "objects": -1,
                                                    "bytes": 40 - 10 - 20}
    assert (view["old"], view["new"], view["same"]) == ({"objects": 3, "bytes": 60}, {"objects": 3, "bytes": 95}, False)


# --- the command --------------------------------------------------------------------------------


def osslist(emu: Emulator, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=clean_env(emu, OSSLIST_ENDPOINT=emu.oss_endpoint))


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.create_bucket(BUCKET)
    for index, key in enumerate(TRICKY_KEYS):
        emulator.put_object(BUCKET, key, size=index, last_modified=1_700_000_000)
    for index in range(300):
        emulator.put_object(BUCKET, f"data/{index:04d}", size=index, last_modified=1_700_000_000)
    return emulator


def snapshot(emu: Emulator, path: Path, fmt: str = "jsonl") -> str:
    data = listing_report(emu, BUCKET, fmt)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return str(path)


def test_diff_of_two_reports_reports_exactly_the_changes(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "old.jsonl.gz")
    emu.put_object(BUCKET, "data/0300", size=1)  # added
    emu.put_object(BUCKET, "data/0007", size=8, last_modified=1_700_000_000)  # modified: size (and etag)
    emu.put_object(BUCKET, "new\nline", size=TRICKY_KEYS.index("new\nline"), storage_class="IA",
                   last_modified=1_700_000_000)  # modified: class
    emu.delete_object(BUCKET, "data/0100")  # removed
    new = snapshot(emu, tmp_path / "new.csv", "csv")
    result = osslist(emu, "diff", old, new, "--summary-json", str(tmp_path / "s.json"))
    assert result.exit_code == 1, result.stderr
    found = {(d["change"], d["key"]) for d in map(json.loads, result.stdout.splitlines())}
    assert found == {("added", "data/0300"), ("modified", "data/0007"), ("modified", "new\nline"),
                     ("removed", "data/0100")}
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["changes"]["added"]["objects"] == 1 and summary["changes"]["modified"]["objects"] == 2
    assert summary["changes"]["removed"] == {"objects": 1, "bytes": -100}
    assert "1 added" in result.stderr and "2 modified" in result.stderr


def test_same_listing_in_two_formats_is_no_difference(emu: Emulator, tmp_path: Path) -> None:
    result = osslist(emu, "diff", snapshot(emu, tmp_path / "a.jsonl"), snapshot(emu, tmp_path / "a.csv.gz", "csv"))
    assert (result.exit_code, result.stdout) == (0, ""), result.stderr
    assert "0 added" in result.stderr and f"{len(TRICKY_KEYS) + 300} unchanged" in result.stderr


def test_a_report_against_its_own_live_bucket_is_empty(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl.gz")
    for args in ([], ["--parallel", "4"], ["--list-api", "v2", "--max-keys", "7"]):
        result = osslist(emu, "diff", old, "--live", "--bucket", BUCKET, *args)
        assert (result.exit_code, result.stdout) == (0, ""), (args, result.stderr)


def test_live_cuts_the_report_to_its_key_range_and_sees_a_change(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    emu.put_object(BUCKET, "data/0005", size=999)
    result = osslist(emu, "diff", old, "--live", "--bucket", BUCKET, "--prefix", "data/", "--format", "text")
    assert result.exit_code == 1, result.stderr
    assert result.stdout.startswith("~ data/0005  size: 5 -> 999") and len(result.stdout.splitlines()) == 1


def test_all_and_formats(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    text = osslist(emu, "diff", old, old, "--all", "--format", "text", "--prefix", "data/")
    assert text.exit_code == 0 and text.stdout.splitlines() == [f"= data/{i:04d}" for i in range(300)]
    table = osslist(emu, "diff", old, old, "--all", "--format", "csv")
    assert table.stdout_bytes.startswith(b"change,key,version_id,fields,old_size,new_size")


def test_output_to_oss_and_to_a_file(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    emu.put_object(BUCKET, "data/9999", size=1)
    new = snapshot(emu, tmp_path / "b.jsonl")
    emu.create_bucket("reports")
    assert osslist(emu, "diff", old, new, "--output", "oss://reports/diff/{date}.jsonl.gz").exit_code == 1
    (key,) = emu.buckets.require("reports").keys()
    assert key.startswith("diff/20") and key.endswith(".jsonl.gz")
    assert json.loads(gzip.decompress(emu.object_data("reports", key)))["key"] == "data/9999"
    assert osslist(emu, "diff", old, new, "--output", str(tmp_path / "d.jsonl")).exit_code == 1
    assert json.loads((tmp_path / "d.jsonl").read_text())["change"] == "added"


@pytest.mark.parametrize("damage", ["truncated", "unordered", "foreign", "missing"])
def test_damaged_input_is_one_line_exit_2_and_no_output_file(emu: Emulator, tmp_path: Path, damage: str) -> None:
    good = snapshot(emu, tmp_path / "good.jsonl")
    bad = tmp_path / "bad.jsonl.gz"
    lines = Path(good).read_bytes().splitlines(keepends=True)
    if damage == "truncated":
        bad.write_bytes(gzip.compress(b"".join(lines))[:-30])
    elif damage == "unordered":
        bad.write_bytes(b"".join([*lines[:50], lines[60], *lines[50:60], *lines[61:]]))
    elif damage == "foreign":
        bad.write_bytes(b"<html>not a report</html>\n")
    result = osslist(emu, "diff", good, str(bad), "--output", str(tmp_path / "d.jsonl"))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert not (tmp_path / "d.jsonl").exists() and not (tmp_path / "d.jsonl.partial").exists()


def test_usage(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    assert osslist(emu, "diff", old).exit_code == 2
    assert osslist(emu, "diff", old, old, "--live", "--bucket", BUCKET).exit_code == 2
    missing = osslist(emu, "diff", old, "--live")
    assert missing.exit_code == 2 and "--bucket" in missing.stderr


def test_all_versions_reports_compare_per_key_and_version(emulator: Emulator, tmp_path: Path) -> None:
    emulator.create_bucket(BUCKET)
    emulator.set_versioning(BUCKET, "Enabled")
    for size in (1, 2):
        emulator.put_object(BUCKET, "doc", size=size, last_modified=1_700_000_000 + size)
    emulator.put_object(BUCKET, "gone", size=3, last_modified=1_700_000_000)
    old_jsonl, old_csv = tmp_path / "old.jsonl", tmp_path / "old.csv"
    old_jsonl.write_bytes(listing_report(emulator, BUCKET, "jsonl", "--all-versions"))
    old_csv.write_bytes(listing_report(emulator, BUCKET, "csv", "--all-versions"))
    emulator.put_object(BUCKET, "doc", size=4, last_modified=1_700_000_010)  # a third version
    emulator.delete_object(BUCKET, "gone", last_modified=1_700_000_020)  # a delete marker on top
    new = tmp_path / "new.jsonl"
    new.write_bytes(listing_report(emulator, BUCKET, "jsonl", "--all-versions"))
    assert osslist(emulator, "diff", str(old_jsonl), str(old_csv)).exit_code == 0  # jsonl and csv agree
    result = osslist(emulator, "diff", str(old_jsonl), str(new))
    assert result.exit_code == 1, result.stderr
    found = [(d["change"], d["key"], d["new"]["size"] if d["new"] else None) for d in map(json.loads, result.stdout.splitlines())]
    assert found == [("added", "doc", 4), ("added", "gone", 0)]  # the new version and the delete marker
    assert all("version_id" in d for d in map(json.loads, result.stdout.splitlines()))


# --- a plain listing against an all-versions one ------------------------------------------------


def test_a_plain_and_an_all_versions_side_are_refused_before_any_change() -> None:
    from osslist.errors import ReportError

    plain, versioned = [rec("a"), rec("b")], [rec("a", version="v1"), rec("b", version="v1")]
    for old, new, first in ((plain, versioned, "NEW"), (versioned, plain, "OLD")):
        changes_seen = diff_records(old, new)
        with pytest.raises(ReportError, match=f"^{first} lists all versions"):
            next(changes_seen)
    assert changes([], versioned) == [("added", "a", ()), ("added", "b", ())]  # an empty side goes with either
    assert changes(plain, []) == [("removed", "a", ()), ("removed", "b", ())]


def versioned_bucket(emulator: Emulator) -> Emulator:
    emulator.create_bucket(BUCKET)
    emulator.set_versioning(BUCKET, "Enabled")
    for size in (1, 2):
        emulator.put_object(BUCKET, "doc", size=size, last_modified=1_700_000_000 + size)
    emulator.put_object(BUCKET, "gone", size=3, last_modified=1_700_000_000)
    return emulator


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "inventory"])
def test_mixed_reports_are_one_line_exit_2_and_no_output(emulator: Emulator, tmp_path: Path, fmt: str) -> None:
    emu = versioned_bucket(emulator)
    if fmt == "inventory":
        plain = inventory_report(emu, BUCKET, tmp_path / "plain")
        versions = inventory_report(emu, BUCKET, tmp_path / "versions", "--all-versions")
    else:
        plain, versions = tmp_path / f"plain.{fmt}", tmp_path / f"versions.{fmt}"
        plain.write_bytes(listing_report(emu, BUCKET, fmt))
        versions.write_bytes(listing_report(emu, BUCKET, fmt, "--all-versions"))
    for old, new in ((plain, versions), (versions, plain)):
        result = osslist(emu, "diff", str(old), str(new), "--output", str(tmp_path / "d.jsonl"))
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert f"{versions} lists all versions" in result.stderr and str(plain) in result.stderr
        assert not (tmp_path / "d.jsonl").exists() and not (tmp_path / "d.jsonl.partial").exists()
        assert osslist(emu, "diff", str(old), str(new), "--format", "text").stdout == ""


def test_live_against_an_all_versions_report_needs_all_versions(emulator: Emulator, tmp_path: Path) -> None:
    emu = versioned_bucket(emulator)
    old = tmp_path / "versions.jsonl"
    old.write_bytes(listing_report(emu, BUCKET, "jsonl", "--all-versions"))
    refused = osslist(emu, "diff", str(old), "--live", "--bucket", BUCKET)
    assert refused.exit_code == 2 and refused.stdout == "", refused.stderr
    assert "the live listing of audited only current objects" in refused.stderr and "--all-versions" in refused.stderr
    assert osslist(emu, "diff", str(old), "--live", "--bucket", BUCKET, "--all-versions").exit_code == 0
    emu.put_object(BUCKET, "doc", size=4, last_modified=1_700_000_010)
    for args in ([], ["--parallel", "3"]):
        result = osslist(emu, "diff", str(old), "--live", "--bucket", BUCKET, "--all-versions", *args)
        assert result.exit_code == 1, result.stderr
        found = [(d["change"], d["key"], d["new"]["size"]) for d in map(json.loads, result.stdout.splitlines())]
        assert found == [("added", "doc", 4)]
    plain = osslist(emu, "diff", str(old), str(old), "--all-versions")
    assert plain.exit_code == 2 and "--all-versions goes with --live" in plain.stderr


# --- --summary-json into OSS --------------------------------------------------------------------


def test_summary_json_into_oss_beside_the_changes(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    emu.put_object(BUCKET, "data/9999", size=7)
    new = snapshot(emu, tmp_path / "b.jsonl")
    emu.create_bucket("reports")
    result = osslist(emu, "diff", old, new, "--output", "oss://reports/diff/{date}/changes.jsonl",
                     "--summary-json", "oss://reports/diff/{date}/summary.json")
    assert result.exit_code == 1, result.stderr
    keys = sorted(emu.buckets.require("reports").keys())
    assert [key.rsplit("/", 1)[1] for key in keys] == ["changes.jsonl", "summary.json"]
    assert keys[0].rsplit("/", 1)[0] == keys[1].rsplit("/", 1)[0] != "diff/{date}"
    summary = json.loads(emu.object_data("reports", keys[1]))
    assert summary["changes"]["added"] == {"objects": 1, "bytes": 7} and summary["same"] is False


def test_a_refused_summary_destination_is_exit_4_before_the_live_listing(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    emu.create_bucket("reports")
    emu.faults.deny("reports", "locked/")
    emu.clear_requests()
    result = osslist(emu, "diff", old, "--live", "--bucket", BUCKET, "--output", "oss://reports/open/c.jsonl",
                     "--summary-json", "oss://reports/locked/s.json")
    assert result.exit_code == 4 and result.stdout == "", result.stderr
    assert "oss://reports/locked/s.json" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert [r for r in emu.requests_for("oss") if r.path == f"/{BUCKET}/"] == []
    assert emu.open_uploads("reports") == [] and list(emu.buckets.require("reports").keys()) == []


def test_a_failed_diff_leaves_no_summary_upload(emu: Emulator, tmp_path: Path) -> None:
    good = snapshot(emu, tmp_path / "good.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"<html>not a report</html>\n")
    emu.create_bucket("reports")
    result = osslist(emu, "diff", good, str(bad), "--summary-json", "oss://reports/s.json")
    assert result.exit_code == 2, result.stderr
    assert emu.open_uploads("reports") == [] and list(emu.buckets.require("reports").keys()) == []


# --- placeholders in local paths ----------------------------------------------------------------


def test_local_output_and_summary_paths_expand_placeholders(emu: Emulator, tmp_path: Path) -> None:
    old = snapshot(emu, tmp_path / "a.jsonl")
    emu.put_object(BUCKET, "data/9999", size=1)
    new = snapshot(emu, tmp_path / "b.jsonl")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = osslist(emu, "diff", old, new, "--output", str(out_dir / "{date}-changes.jsonl"),
                     "--summary-json", str(out_dir / "{date}-summary.json"))
    assert result.exit_code == 1, result.stderr
    names = sorted(p.name for p in out_dir.iterdir())
    assert [re.sub(r"^\d{4}-\d\d-\d\d-", "", name) for name in names] == ["changes.jsonl", "summary.json"]
    assert json.loads((out_dir / names[1]).read_text())["changes"]["added"]["objects"] == 1
    for option in ("--output", "--summary-json"):  # {report} needs a folder of reports: exit 2, nothing written
        refused = osslist(emu, "diff", old, new, option, str(out_dir / "{report}.json"))
        assert refused.exit_code == 2 and "{report}" in refused.stderr and refused.stdout == "", refused.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == names


def test_report_placeholder_in_a_local_output_is_the_newer_reports_folder(emulator: Emulator, tmp_path: Path) -> None:
    emulator.create_bucket(BUCKET)
    root = tmp_path / "inventory"
    argv = ["ls", "--bucket", BUCKET, "--format", "oss-inventory", "--output", str(root)]
    for day, key in (("01", "a"), ("02", "b")):  # runs within one minute would share a folder: date them apart
        emulator.put_object(BUCKET, key, size=1)
        assert osslist(emulator, *argv).exit_code == 0
        (run,) = [p for p in root.iterdir() if p.name.startswith("20") and not p.name.startswith("2026-01")]
        run.rename(root / f"2026-01-{day}T00-00Z")
    result = osslist(emulator, "diff", f"{root}/", "--output", f"{root}/{{report}}/changes.jsonl",
                     "--summary-json", f"{root}/{{report}}/summary.json")
    assert result.exit_code == 1, result.stderr
    newer = root / "2026-01-02T00-00Z"
    assert json.loads((newer / "changes.jsonl").read_text())["key"] == "b"
    assert json.loads((newer / "summary.json").read_text())["changes"]["added"]["objects"] == 1
