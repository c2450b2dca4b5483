"""What the benchmarks share: the emulator in its own process, contenders run as children with
their CPU and peak memory read from ``os.wait4``, and the table they are printed in.

Every contender is a separate process (so its client CPU and peak RSS are its own, never mixed
with the emulator's or another run's) and writes its keys to a file; the harness counts the
lines, so a contender that lists the wrong number of objects shows as "n/a", never as fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO_VENV = BENCH_DIR.parent / ".venv"


def ensure_osslist() -> None:
    """Run under a Python that has osslist: ``python bench/listing.py`` from a plain interpreter
    re-executes itself with the repository's .venv (what ``make`` sets up), else says what to do."""
    try:
        import osslist  # noqa: F401
    except ImportError:
        venv_python = REPO_VENV / "bin" / "python"
        if venv_python.exists() and Path(sys.prefix).resolve() != REPO_VENV.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        sys.exit("osslist is not installed here: run `make bench` (it sets up .venv) or `pip install -e .`")
REGION = "cn-hangzhou"
# Variables that could send the children's traffic elsewhere or give them other credentials.
_SCRUBBED_PREFIXES = ("ALIBABA_CLOUD_", "OSS_", "OSSLIST_")
_SCRUBBED_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


# --- the emulator process ----------------------------------------------------------------------


class EmulatorProcess:
    """``bench/_emulator_server.py`` in a child process, seeded with ``buckets`` (name -> count)
    and ``versioned`` buckets (the same objects, one version each).

    A context manager; ``set_latency`` switches the per-request OSS latency between scenarios
    without reseeding."""

    def __init__(self, *, buckets: dict[str, int], versioned: dict[str, int] | None = None, seed: int = 0) -> None:
        self._argv = [sys.executable, str(BENCH_DIR / "_emulator_server.py"), "--seed", str(seed)]
        for name, count in buckets.items():
            self._argv += ["--bucket", f"{name}={count}"]
        for name, count in (versioned or {}).items():
            self._argv += ["--versioned", f"{name}={count}"]
        self._proc: subprocess.Popen[str] | None = None
        self.metadata_url = ""
        self.oss_endpoint = ""

    def __enter__(self) -> "EmulatorProcess":
        self._proc = subprocess.Popen(
            self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env()
        )
        ready = json.loads(self._read_line())
        self.metadata_url, self.oss_endpoint = ready["metadata"], ready["oss"]
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write("quit\n")
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def _read_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator exited (status {self._proc.wait()}) before answering")
        return line

    def cpu_seconds(self) -> float | None:
        """CPU (user + sys) the emulator process has used so far, from /proc (Linux); None
        elsewhere. A row whose emulator CPU nears its wall time was bound by the server."""
        if self._proc is None:
            return None
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def set_latency(self, seconds: float) -> None:
        """Every OSS request now waits ``seconds`` before it is answered."""
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(f"latency {seconds}\n")
        self._proc.stdin.flush()
        if self._read_line().strip() != "ok":
            raise RuntimeError("the emulator refused the latency command")


def child_env() -> dict[str, str]:
    """This environment minus credentials, proxies and osslist settings: children get only
    what the harness passes them."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name.lower() not in _SCRUBBED_NAMES
    }


# --- the contenders ------------------------------------------------------------------------------


def naive_argv(emu: EmulatorProcess, bucket: str) -> list[str]:
    """The seed's approach ported to oss2 (``bench/naive_seed.py``); keys go to stdout."""
    script = str(BENCH_DIR / "naive_seed.py")
    return [sys.executable, script, "--metadata", emu.metadata_url, "--endpoint", emu.oss_endpoint, "--bucket", bucket]


def osslist_argv(
    emu: EmulatorProcess, bucket: str, output: Path | str, *, parallel: int = 1, fmt: str = "text",
    extra: Sequence[str] = (),
) -> list[str]:
    """osslist through its real CLI and the metadata credential path, records to ``output`` (a
    file, or an ``oss://`` target in the emulator), ``extra`` options last."""
    argv = [sys.executable, "-c", "from osslist.cli import main; main()", "--bucket", bucket]
    argv += ["--endpoint", emu.oss_endpoint, "--region", REGION, "--credentials", "metadata"]
    argv += ["--no-progress", "--format", fmt, "--output", str(output)]
    return argv + (["--parallel", str(parallel)] if parallel != 1 else []) + list(extra)


def metadata_env(emu: EmulatorProcess) -> dict[str, str]:
    """The children's environment: the emulator's metadata server and nothing else of ours."""
    return {**child_env(), "ALIBABA_CLOUD_IMDS_ENDPOINT": emu.metadata_url}


# --- measuring one child -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One child's run: what it listed and what it cost. ``error`` set means the figures are
    not to be trusted (non-zero exit, wrong object count) and the row shows n/a."""

    label: str
    expected: int
    listed: int
    wall: float
    cpu: float
    max_rss_kb: int
    server_cpu: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rate(self) -> float | None:
        """Objects per second of wall time."""
        return self.listed / self.wall if self.ok and self.wall > 0 else None

    @property
    def cpu_per_million(self) -> float | None:
        """Client CPU seconds (user + sys, whole process) per million keys listed."""
        return self.cpu * 1e6 / self.listed if self.ok and self.listed else None

    @property
    def rss_mb(self) -> float | None:
        """Peak resident set size in MiB (Linux reports ru_maxrss in KiB)."""
        return self.max_rss_kb / 1024 if self.ok else None


def count_lines(path: Path) -> int:
    """Newlines in a file, read in blocks (the outputs hold a million lines)."""
    total = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            total += block.count(b"\n")
    return total


def measure(
    label: str,
    argv: Sequence[str],
    *,
    env: dict[str, str],
    expected: int,
    output: Path | None = None,
    server: EmulatorProcess | None = None,
    ok_status: tuple[int, ...] = (0,),
) -> Measurement:
    """Run ``argv`` to completion; wall time, CPU and peak RSS of that child alone (and the
    CPU ``server`` used meanwhile, when given).

    Keys are counted in ``output`` when given (osslist's --output), else in the child's stdout.
    ``ok_status``: the exit codes of a successful run (``osslist diff`` exits 1 when it found
    differences)."""
    with tempfile.TemporaryDirectory(prefix="osslist-bench-") as tmp:
        stdout_path, stderr_path = Path(tmp, "stdout"), Path(tmp, "stderr")
        server_before = server.cpu_seconds() if server else None
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            wall, status, usage = _spawn_and_wait(argv, env=env, stdout=out, stderr=err)
        server_after = server.cpu_seconds() if server else None
        listed = count_lines(output or stdout_path) if (output or stdout_path).exists() else 0
        error = _verdict(status, listed, expected, stderr_path, ok_status)
    return Measurement(
        label=label,
        expected=expected,
        listed=listed,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_kb=usage.ru_maxrss,
        server_cpu=None if server_before is None or server_after is None else server_after - server_before,
        error=error,
    )


def measure_by_summary(
    label: str, argv: Sequence[str], *, env: dict[str, str], expected: int, summary: Path,
    server: EmulatorProcess | None = None,
) -> Measurement:
    """``measure`` for a run whose records leave no local file to count (``--output oss://``,
    ``--format oss-inventory``): ``--summary-json SUMMARY`` is added and its object count is
    what the run listed."""
    measured = measure(label, [*argv, "--summary-json", str(summary)], env=env, expected=1, output=summary,
                       server=server)
    objects = json.loads(summary.read_text())["objects"] if measured.ok else 0
    summary.unlink(missing_ok=True)
    return replace(measured, expected=expected, listed=objects,
                   error=measured.error or (None if objects == expected else f"listed {objects} of {expected} objects"))


def _spawn_and_wait(
    argv: Sequence[str], *, env: dict[str, str], stdout: IO[bytes], stderr: IO[bytes]
) -> tuple[float, int, "os.struct_rusage"]:  # type: ignore[name-defined]
    """Start the child and reap it with wait4, whose rusage covers that child only."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    return wall, proc.returncode, usage


def _verdict(status: int, listed: int, expected: int, stderr_path: Path, ok_status: tuple[int, ...] = (0,)) -> str | None:
    """None when the run is trustworthy, else why not (exit status and the child's last line)."""
    if status not in ok_status:
        lines = stderr_path.read_text(errors="replace").strip().splitlines()
        return f"exit {status}: {lines[-1][:120] if lines else 'no message'}"
    if listed != expected:
        return f"listed {listed} of {expected} objects"
    return None


# --- printing ------------------------------------------------------------------------------------


def fmt_number(value: float | None, spec: str) -> str:
    """A figure, or n/a when the run that should give it failed or did not happen."""
    return "n/a" if value is None else format(value, spec)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either figure is missing."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def target_line(name: str, value: float | None, *, at_least: float | None = None, at_most: float | None = None,
                words: tuple[str, str] = ("met", "MISSED")) -> str:
    """``name: 9.1x (target >= 8x): met`` or ``MISSED`` (``words``: what to say instead) or ``n/a``."""
    if at_least is not None:
        goal, met = f">= {at_least:g}x", value is not None and value >= at_least
    else:
        assert at_most is not None
        goal, met = f"<= {at_most:.2f}x", value is not None and value <= at_most
    if value is None:
        return f"{name}: n/a (target {goal}): n/a (a run it needs failed or was not made)"
    return f"{name}: {value:.2f}x (target {goal}): {words[0] if met else words[1]}"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table, columns padded so it also reads well in a terminal."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def failures(measurements: Sequence[Measurement]) -> list[str]:
    """One line per untrustworthy run, printed under the table."""
    return [f"  n/a {m.label}: {m.error}" for m in measurements if not m.ok]


def progress(message: str) -> None:
    """What the bench is doing now, on stderr (a full run takes minutes)."""
    print(message, file=sys.stderr, flush=True)
