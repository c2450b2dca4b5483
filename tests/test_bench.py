"""Smoke tests of bench/: the scripts run end to end on tiny buckets and print their table and
ratios, and the harness measures the child it ran (not itself) and refuses wrong counts.

No timing assertion: speed and memory figures are what the bench reports, not what tests check.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from osslist.emulator import Emulator

BENCH = Path(__file__).resolve().parent.parent / "bench"
RATIO = r"(\d+\.\d\d)x \(target [<>]= [\d.]+x\): (met|MISSED)"
VERDICT = r"(\d+\.\d\d)x \(target >= 0\.9x\): (PASS|FAIL)$"
VARIANT_LABELS = ["osslist --output oss://…jsonl.gz", "osslist --format oss-inventory", "osslist --all-versions"]


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bench_harness", BENCH / "_harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building classes
    spec.loader.exec_module(module)
    return module


h = _load_harness()


def _run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=120, env=h.child_env()
    )


def _load_script(name: str) -> ModuleType:
    """A bench script as a module (its ``import _harness`` resolved from bench/)."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _table_rows(stdout: str) -> list[list[str]]:
    """The cells of every table body row (skipping the header and the rule)."""
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


# --- the scripts, end to end ---------------------------------------------------------------------


def test_listing_quick_prints_every_row_with_exact_counts_and_the_five_ratios() -> None:
    result = _run_script("listing.py", "--quick", "--parallel", "2,8")
    assert result.returncode == 0, result.stderr
    rows = _table_rows(result.stdout)
    seen = [(row[0], row[1], row[2]) for row in rows]
    assert seen == [
        ("0 ms", "naive seed port", "3,000"),
        ("0 ms", "osslist", "3,000"),
        ("0 ms", "osslist --parallel 2", "3,000"),
        ("0 ms", "osslist --parallel 8", "3,000"),
        ("5 ms", "naive seed port", "1,000"),
        ("5 ms", "osslist", "3,000"),
        *(("5 ms", label, "3,000") for label in VARIANT_LABELS),  # every version of the versioned twin: one each
        ("5 ms", "osslist --parallel 2", "3,000"),
        ("5 ms", "osslist --parallel 8", "3,000"),
        ("0 ms", "osslist --parallel 8", "300"),
    ]
    for row in rows:  # every run was trusted: rate, CPU per million and RSS are numbers
        assert all(re.fullmatch(r"[\d,.]+", cell) for cell in row[3:]), row
    targets, variants = result.stdout.split("runs):")[1].split("Variants (")
    targets = [line.strip() for line in targets.strip().splitlines()]
    assert [line.split(":")[0] for line in targets] == [
        "5 ms",
        "5 ms",
        "5 ms",
        "0 ms",
        "peak RSS --parallel 8",
    ]
    assert all(re.search(RATIO, line) for line in targets), targets
    verdicts = variants.strip().splitlines()[1:]
    assert [line.strip().split(" / ")[0] for line in verdicts] == [f"5 ms: {label}" for label in VARIANT_LABELS]
    assert all(re.search(VERDICT, line) for line in verdicts), verdicts


def test_listing_variants_only_takes_the_rows_in_turn_and_judges_each_against_the_plain_row() -> None:
    result = _run_script("listing.py", "--quick", "--variants-only", "--variants", "inventory,versions",
                         "--repeat", "2")
    assert result.returncode == 0, result.stderr
    rows = {row[1]: row for row in _table_rows(result.stdout)}
    assert [(row[0], label, row[2]) for label, row in rows.items()] == [
        ("5 ms", "osslist", "3,000"), ("5 ms", VARIANT_LABELS[1], "3,000"), ("5 ms", VARIANT_LABELS[2], "3,000")]
    assert "naive" not in result.stdout and "Targets (issues" not in result.stdout
    started = [line.strip().rsplit(" [", 1)[0] for line in result.stderr.splitlines() if line.endswith("] ...")]
    assert started == ["osslist", VARIANT_LABELS[1], VARIANT_LABELS[2]] * 2  # round after round, not back to back
    plain = float(rows["osslist"][4].replace(",", ""))
    for label in VARIANT_LABELS[1:]:
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(f"5 ms: {label} / "))
        printed = float(re.search(VERDICT, line).group(1))  # type: ignore[union-attr]
        # rates are printed rounded to whole objects/s (~5,000): the ratio from them is within 0.0005
        assert printed == pytest.approx(float(rows[label][4].replace(",", "")) / plain, abs=0.006)


def test_listing_ratio_is_computed_from_the_rows_it_prints() -> None:
    result = _run_script("listing.py", "--quick", "--parallel", "8", "--repeat", "3")
    assert result.returncode == 0, result.stderr
    rows = {(row[0], row[1]): row for row in _table_rows(result.stdout)}
    naive, seq = rows[("5 ms", "naive seed port")], rows[("5 ms", "osslist")]
    expected = float(seq[4].replace(",", "")) / float(naive[4].replace(",", ""))
    line = next(line for line in result.stdout.splitlines() if "osslist sequential / naive" in line)
    printed = float(re.search(RATIO, line).group(1))  # type: ignore[union-attr]
    # the table rounds rates to whole objects/s, the ratio is computed unrounded
    assert printed == pytest.approx(expected, rel=0.01)
    p8 = rows[("5 ms", "osslist --parallel 8")]
    cpu = float(p8[5]) / float(seq[5])  # the CPU ratio of issue 9, from the medians printed
    line = next(line for line in result.stdout.splitlines() if "(CPU per 1M keys)" in line)
    assert float(re.search(RATIO, line).group(1)) == pytest.approx(cpu, rel=0.05)  # type: ignore[union-attr]
    assert "medians of 3 runs" in result.stdout


def test_memory_quick_prints_both_runs_and_the_difference() -> None:
    result = _run_script("memory.py", "--quick")
    assert result.returncode == 0, result.stderr
    listing, diffs = result.stdout.split("osslist diff peak RSS")
    listing, versions = listing.split("osslist --all-versions peak RSS")
    listing, inventory = listing.split("osslist --format oss-inventory peak RSS")
    listing, oss = listing.split("osslist --output oss:// peak RSS")
    labels = {"inventory": ("bench-mem-small inventory", "bench-mem-large inventory"),
              "versions": ("bench-mem-small-versioned", "bench-mem-large-versioned")}
    for section, (small, large) in ((inventory, labels["inventory"]), (versions, labels["versions"])):
        rows = _table_rows(section)  # counts: the inventory's --summary-json, one jsonl line per version
        assert [(row[0], row[1]) for row in rows] == [(small, "300"), (large, "3,000")]
        match = re.search(RATIO, section)
        assert match is not None and "target <= 1.20x" in section, section
        assert float(match.group(1)) == pytest.approx(float(rows[1][4]) / float(rows[0][4]), abs=0.006)
    oss_rows = _table_rows(oss)  # the object counts come from each run's --summary-json
    assert [(row[0], row[1]) for row in oss_rows] == [("bench-mem-small oss://", "300"), ("bench-mem-large oss://", "3,000")]
    oss_small, oss_large = (float(row[4]) for row in oss_rows)
    assert float(re.search(RATIO, oss).group(1)) == pytest.approx(oss_large / oss_small, abs=0.006)  # type: ignore[union-attr]
    rows = _table_rows(listing)
    assert [(row[0], row[1]) for row in rows] == [("bench-mem-small", "300"), ("bench-mem-large", "3,000")]
    small_mb, large_mb = (float(row[4]) for row in rows)
    match = re.search(r"grows by ([+-]\d+\.\d) MB .*\(target <= 20 MB\): (met|MISSED)", result.stdout)
    assert match is not None, result.stdout
    assert float(match.group(1)) == pytest.approx(large_mb - small_mb, abs=0.11)
    diff_rows = _table_rows(diffs)  # 3% of the keys differ: exactly those lines were written
    assert [(row[0], row[1], row[2]) for row in diff_rows] == [("diff-300", "300", "9"), ("diff-3000", "3,000", "90")]
    small_diff, large_diff = (float(row[5]) for row in diff_rows)
    printed = float(re.search(RATIO, diffs).group(1))  # type: ignore[union-attr]
    # the ratio is printed to 2 decimals (+-0.005) and the MB in the table to 1 (+-0.05 on ~55 MB
    # each, up to ~0.002 more on the ratio recomputed from them)
    assert printed == pytest.approx(large_diff / small_diff, abs=0.008)


# --- the naive baseline lists what the seed would -------------------------------------------------


def test_naive_seed_port_lists_every_key_in_order(emulator: Emulator) -> None:
    emulator.seed("naive", 250)  # more than two of oss2's default 100-key pages
    expected = emulator.buckets.require("naive").keys()
    result = subprocess.run(
        [sys.executable, str(BENCH / "naive_seed.py"), "--metadata", emulator.metadata_url]
        + ["--endpoint", emulator.oss_endpoint, "--bucket", "naive"],
        capture_output=True,
        text=True,
        timeout=60,
        env=h.child_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
    pages = [r for r in emulator.requests_for("oss") if r.method == "GET"]
    assert len(pages) == 3  # the default page size (100) the seed's SDK uses, as ported


# --- the harness ----------------------------------------------------------------------------------


def test_versioned_bench_bucket_holds_the_plain_buckets_objects_one_real_version_each(emulator: Emulator) -> None:
    server = _load_script("_emulator_server")
    emulator.seed("plain-twin", 120, seed=3)
    total = server.seed_versioned(emulator, "versioned-twin", 120, seed=3)
    versions = emulator.versions("versioned-twin")
    assert [entry.key for entry in versions] == emulator.buckets.require("plain-twin").keys()
    assert all(entry.is_latest and not entry.version.delete_marker for entry in versions)
    assert len({entry.version.version_id for entry in versions}) == 120 and "null" not in {
        entry.version.version_id for entry in versions}
    plain = [emulator.buckets.require("plain-twin").get(entry.key) for entry in versions]
    assert [(v.version.size, v.version.storage_class) for v in versions] == [(p.size, p.storage_class) for p in plain]
    assert total == sum(p.size for p in plain)  # type: ignore[union-attr]


def test_measure_refuses_a_run_that_listed_the_wrong_number_of_objects() -> None:
    argv = [sys.executable, "-c", "print('a'); print('b')"]
    wrong = h.measure("two lines", argv, env=h.child_env(), expected=3)
    right = h.measure("two lines", argv, env=h.child_env(), expected=2)
    assert wrong.error == "listed 2 of 3 objects" and wrong.rate is None and wrong.rss_mb is None
    assert right.ok and right.listed == 2 and right.rate is not None


def test_measure_reports_a_failed_child_with_its_last_stderr_line() -> None:
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('first\\nError: no such option\\n'); sys.exit(2)"]
    result = h.measure("broken", argv, env=h.child_env(), expected=0)
    assert result.error == "exit 2: Error: no such option"
    assert h.fmt_number(result.cpu_per_million, ".1f") == "n/a"


def test_measure_reads_the_childs_peak_rss_not_the_harness() -> None:
    touch_200_mb = "b = bytearray(200 << 20); b[::4096] = b'x' * len(b[::4096])"
    small = h.measure("small", [sys.executable, "-c", "pass"], env=h.child_env(), expected=0)
    big = h.measure("big", [sys.executable, "-c", touch_200_mb], env=h.child_env(), expected=0)
    assert big.rss_mb is not None and small.rss_mb is not None
    assert big.rss_mb >= 200 > small.rss_mb


def test_measure_counts_lines_in_the_output_file_when_given(tmp_path: Path) -> None:
    out = tmp_path / "keys.txt"
    argv = [sys.executable, "-c", f"open({str(out)!r}, 'w').write('k1\\nk2\\nk3\\n'); print('summary')"]
    assert h.measure("file", argv, env=h.child_env(), expected=3, output=out).ok


def test_target_line_says_met_missed_or_na() -> None:
    assert h.target_line("speedup", 9.0, at_least=8) == "speedup: 9.00x (target >= 8x): met"
    assert h.target_line("speedup", 7.99, at_least=8).endswith("MISSED")
    assert h.target_line("cpu", 0.30, at_most=1 / 3) == "cpu: 0.30x (target <= 0.33x): met"
    assert h.target_line("cpu", None, at_most=1 / 3).startswith("cpu: n/a (target <= 0.33x): n/a")
    assert h.ratio(None, 2.0) is None and h.ratio(1.0, 0.0) is None and h.ratio(3.0, 2.0) == 1.5


def test_child_env_drops_credentials_proxies_and_osslist_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "OSS_ACCESS_KEY_ID", "OSSLIST_BUCKET", "HTTPS_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("BENCH_KEEP_ME", "y")
    env = h.child_env()
    assert env["BENCH_KEEP_ME"] == "y"
    assert not {"ALIBABA_CLOUD_ACCESS_KEY_ID", "OSS_ACCESS_KEY_ID", "OSSLIST_BUCKET", "HTTPS_PROXY", "no_proxy"} & set(env)


def test_render_table_pads_columns_into_a_markdown_table() -> None:
    text = h.render_table(("a", "bb"), [("xyz", "1"), ("q", "22")])
    assert text.splitlines() == ["| a   | bb |", "|-----|----|", "| xyz | 1  |", "| q   | 22 |"]


@pytest.mark.parametrize("variant", [(), ("--inventory", "--file-size", "250K")], ids=["jsonl", "inventory"])
def test_ossresume_quick_kills_pods_and_prints_a_passing_verdict(variant: tuple[str, ...]) -> None:
    result = _run_script("ossresume.py", "--quick", *variant)
    assert result.returncode == 0, result.stderr
    assert "report == plain listing: True" in result.stdout and "uploads left: 0" in result.stdout
    assert result.stdout.strip().endswith("verdict: PASS")
