"""osslist/ type-checks under ``mypy --strict``, and the oss2 stubs it relies on tell the truth.

The configuration is pyproject.toml's ``[tool.mypy]`` (strict, ``files = ["osslist"]``, the
stubs of ``typings/oss2`` on ``mypy_path``), so a developer's plain ``mypy`` and this test check
the same thing. oss2 ships no hints; ``typings/oss2`` types the part osslist calls, and mypy's
stubtest compares those stubs with the installed oss2 (signatures, defaults, what exists), so a
hint cannot drift from oss2 unnoticed. Both run with their cache in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_type_checks_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
         str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def stubtest(typings: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """mypy's stubtest of oss2 against the stubs in ``typings`` (stubs oss2 lacks are not errors:
    only the part osslist calls is stubbed)."""
    return subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "oss2", "--ignore-missing-stub", "--mypy-config-file",
         str(ROOT / "pyproject.toml")],
        cwd=cwd, env={**os.environ, "MYPYPATH": str(typings)}, capture_output=True, text=True, timeout=300,
    )


def test_the_oss2_stubs_match_the_installed_oss2(tmp_path: Path) -> None:
    result = stubtest(ROOT / "typings", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout, result.stdout


def test_stubtest_sees_a_wrong_stub(tmp_path: Path) -> None:
    """The check above is a real one: a stub claiming a parameter oss2 does not take fails it."""
    stubs = tmp_path / "typings"
    shutil.copytree(ROOT / "typings", stubs)
    models = stubs / "oss2" / "models.pyi"
    text = models.read_text()
    assert "part_crc: int | None = None," in text
    models.write_text(text.replace("part_crc: int | None = None,", "part_crc: int | None = None, crc: int = 0,"))
    result = stubtest(stubs, tmp_path)
    assert result.returncode == 1 and "oss2.models.PartInfo.__init__" in result.stdout, result.stdout
