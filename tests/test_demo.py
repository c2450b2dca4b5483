"""`osslist demo`: the real path against an in-process emulator, totals matching the seed."""

from __future__ import annotations

import io
import os

from click.testing import CliRunner

from osslist import demo
from osslist.cli import main
from osslist.emulator import Emulator, EmulatorConfig


def _seeded_totals(objects: int) -> int:
    """What the emulator's synthetic bucket holds, computed on a separate, unstarted emulator."""
    return Emulator(EmulatorConfig()).seed("x", objects, seed=7)


def test_demo_lists_exactly_what_it_seeded_with_rotating_credentials():
    out = io.StringIO()
    environ_before = dict(os.environ)
    result = demo.run_demo(out=out)
    assert result.seeded.objects == demo.DEFAULT_OBJECTS == 20_000
    assert result.summary.objects == 20_000
    assert result.summary.bytes == result.seeded.bytes == _seeded_totals(20_000)
    assert result.invalid_requests == 0
    assert result.key_ids_used >= 2, "credentials should rotate underneath the listing"
    assert result.matches
    assert dict(os.environ) == environ_before, "the caller's environment is left alone"
    text = out.getvalue()
    assert "MATCHES" in text and "DOES NOT MATCH" not in text
    assert f"{_seeded_totals(20_000):,} bytes" in text


def test_demo_command_prints_a_sample_and_the_summary():
    result = CliRunner().invoke(main, ["demo", "--objects", "1500"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    sample_at = next(i for i, line in enumerate(lines) if line.startswith("first "))
    sample = lines[sample_at + 1 : sample_at + 1 + demo.SAMPLE_LINES]
    assert len(sample) == demo.SAMPLE_LINES and all(line.startswith("  ") for line in sample)
    assert f"listed 1,500 objects, {_seeded_totals(1500):,} bytes: MATCHES" in result.stdout


def test_demo_reports_a_mismatch_as_a_failure(monkeypatch):
    real_seed = Emulator.seed

    def seed_and_hide_one(self, bucket, n, **kwargs):
        total = real_seed(self, bucket, n, **kwargs)
        self.delete_object(bucket, self.buckets.require(bucket).keys()[0])
        return total

    monkeypatch.setattr(Emulator, "seed", seed_and_hide_one)
    result = CliRunner().invoke(main, ["demo", "--objects", "500"])
    assert result.exit_code == 1
    assert "DOES NOT MATCH" in result.stdout
    assert result.stderr.startswith("Error: ")
