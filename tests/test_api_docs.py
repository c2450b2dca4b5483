"""README's Python examples run, against the emulator, and type-check against the shipped hints.

Each example is the fenced ``python`` block after a ``<!-- python-example: NAME -->`` marker in
README.md; the tests here run it as a script (``AUDIT_BUCKET`` / ``AUDIT_ENDPOINT`` and the
metadata endpoint pointed at the emulator) and check what it printed or wrote. The pytest fixture
example (``<!-- python-test-example: ... -->``) runs under its own pytest. mypy then checks the
examples with osslist installed the way a wheel installs it (its ``.py`` files plus the package data
pyproject.toml declares), so a missing ``py.typed`` or a wrong hint in the public API fails here.
"""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from osslist.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_BLOCK = re.compile(r"<!-- python-(example|test-example): ([a-z-]+) -->\n```python\n(.*?)```", re.S)
BUCKET = "audit-bucket"


def examples(kind: str = "example") -> dict[str, str]:
    return {name: code for found, name, code in _BLOCK.findall(README.read_text(encoding="utf-8")) if found == kind}


@pytest.fixture
def run_example(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``run(name) -> stdout``: the README example run as ``__main__`` against the emulator."""
    monkeypatch.setenv("ALIBABA_CLOUD_IMDS_ENDPOINT", emulator.metadata_url)
    monkeypatch.setenv("AUDIT_BUCKET", BUCKET)
    monkeypatch.setenv("AUDIT_ENDPOINT", emulator.oss_endpoint)
    emulator.create_bucket(BUCKET)

    def run(name: str) -> str:
        script = tmp_path / f"{name}.py"
        script.write_text(examples()[name], encoding="utf-8")
        capsys.readouterr()
        runpy.run_path(str(script), run_name="__main__")
        return capsys.readouterr().out

    return run


def test_every_python_block_of_the_python_section_is_run() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Use it from Python"):text.index("\n## ", text.index("## Use it from Python") + 3)]
    assert section.count("```python") == section.count("<!-- python-example:") == 5
    assert set(examples()) == {"bytes-per-class", "read-with-the-pods-role", "errors", "noncurrent-bytes",
                               "stale-uploads"}


def test_bytes_per_class_example(run_example, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    sizes = {("logs/a", "Standard"): 1000, ("logs/b", "IA"): 250, ("logs/c", "Standard"): 5,
             ("logs/d/e", "Archive"): 7, ("other/x", "Standard"): 10**6}
    for (key, storage_class), size in sizes.items():
        emulator.put_object(BUCKET, key, size=size, storage_class=storage_class)
    lines = run_example("bytes-per-class").splitlines()
    assert lines[:3] == [
        f"{'Archive':<16} {7:>20,} bytes",
        f"{'IA':<16} {250:>20,} bytes",
        f"{'Standard':<16} {1005:>20,} bytes",
    ]
    assert re.fullmatch(r"4 objects in [1-9][0-9]* requests", lines[3]) and len(lines) == 4


def test_read_with_the_pods_role_example(run_example, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    emulator.put_object(BUCKET, "config/audit.json", data=b'{"retention_days": 30}')
    assert run_example("read-with-the-pods-role") == "retention: 30 days\n"
    assert emulator.object_data(BUCKET, "reports/last-run.txt") == b"ok\n"
    signed = emulator.requests_for("oss")
    assert len(signed) == 2 and all(r.credentials_valid for r in signed)


def test_noncurrent_bytes_example(run_example, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    """Key a: 5 versions of 100..104 bytes (4 noncurrent: 406 bytes); key b: 2 versions of 100
    and 101 bytes under a delete marker (both noncurrent: 201 bytes)."""
    emulator.set_versioning(BUCKET, "Enabled")
    emulator.seed_versions(BUCKET, "a", 5, size=100)
    emulator.seed_versions(BUCKET, "b", 3, size=100, delete_every=3)
    out = run_example("noncurrent-bytes")
    assert out == "6 noncurrent versions hold 607 bytes; 1 delete markers\n"


def test_stale_uploads_example(run_example, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    """Two uploads ten and thirty days old (3 and 0 bytes of parts), one from today: the week-old two."""
    now = int(time.time())
    for key, age_days, parts in (("b/old", 10, [b"ab", b"c"]), ("a/older", 30, []), ("c/new", 0, [b"xyz"])):
        upload = emulator.uploads.initiate(BUCKET, key, now=now - age_days * 86400, content_type="x",
                                           storage_class="Standard")
        for number, data in enumerate(parts, start=1):
            emulator.uploads.upload_part(BUCKET, key, upload.upload_id, number, data, now=now)
    day = lambda age: time.strftime("%Y-%m-%d", time.gmtime(now - age * 86400))  # noqa: E731
    assert run_example("stale-uploads").splitlines() == [
        f"{day(30)} {0:>12,} bytes  a/older",
        f"{day(10)} {3:>12,} bytes  b/old",
        "2 uploads over a week old hold 3 bytes",
    ]


def test_errors_example(run_example) -> None:  # type: ignore[no-untyped-def]
    assert run_example("errors") == "refused: NoSuchBucket\n"


def test_the_pytest_fixture_example_passes(tmp_path: Path) -> None:
    """The fixture a user copies into their project, run by a pytest of its own (loopback only)."""
    (tmp_path / "test_example.py").write_text(examples("test-example")["fixture"], encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--allow-hosts=127.0.0.1,::1,localhost",
         str(tmp_path / "test_example.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def _install_like_a_wheel(site: Path) -> None:
    """osslist's packages (``.py`` files) and the package data pyproject.toml declares, copied
    into ``site`` the way installing the wheel lays them out."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["packages"]["find"]["include"] == ["osslist*"]
    data = config.get("package-data", {})
    for init in sorted((ROOT / "osslist").rglob("__init__.py")):
        package = init.parent
        name = ".".join(package.relative_to(ROOT).parts)
        target = site / package.relative_to(ROOT)
        target.mkdir(parents=True, exist_ok=True)
        for pattern in ["*.py", *data.get(name, [])]:
            for path in package.glob(pattern):
                shutil.copy2(path, target / path.name)


def test_the_examples_type_check_against_the_installed_hints(tmp_path: Path) -> None:
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env)
    site = next(env.glob("lib/python3*/site-packages"))
    _install_like_a_wheel(site)
    sources = tmp_path / "examples"
    sources.mkdir()
    for name, code in examples().items():
        (sources / f"{name.replace('-', '_')}.py").write_text(code, encoding="utf-8")
    # oss2 ships no hints: its Bucket is Any to a type checker, in your code as in these examples
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n\n[mypy-oss2.*]\nignore_missing_imports = True\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(tmp_path / "mypy.ini"), "--cache-dir",
         str(tmp_path / "cache"), "--python-executable", str(env / "bin" / "python"), str(sources)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 5 source files" in result.stdout


def test_type_check_fails_without_py_typed(tmp_path: Path) -> None:
    """The check above is a real one: the same install without py.typed is refused by mypy."""
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env)
    site = next(env.glob("lib/python3*/site-packages"))
    _install_like_a_wheel(site)
    (site / "osslist" / "py.typed").unlink()
    (tmp_path / "use.py").write_text("import osslist\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", str(env / "bin" / "python"),
         str(tmp_path / "use.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1 and "missing library stubs or py.typed marker" in result.stdout, result.stdout
