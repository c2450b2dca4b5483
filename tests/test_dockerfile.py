"""The container image recipe, checked without a container engine (none runs here).

hadolint lints the Dockerfile; the assertions below pin the properties the pod manifests rely on
(a numeric non-root UID, `osslist` as the entrypoint, nothing written outside /tmp at run time)
and the hygiene the issue asks for (a pinned base, no pip cache, no build tools in the runtime
stage, a build context holding only what the Dockerfile copies).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DOCKERFILE, ROOT, Instruction, final_user, parse_dockerfile, stages

DOCKERIGNORE = ROOT / ".dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"


def resolve_args(image: str, instructions: list[Instruction]) -> str:
    """Substitute `${NAME}` in a FROM with the default of the global ARG NAME."""
    defaults = dict(
        ins.args.split("=", 1) for ins in instructions if ins.keyword == "ARG" and "=" in ins.args
    )
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), image)


def is_pinned(image: str) -> bool:
    """True for `name:<version with a digit>` or a digest; never for a bare name or `latest`."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and re.search(r"\d", tag) is not None


def pip_commands(instructions: list[Instruction]) -> list[str]:
    """Every `pip install` / `pip wheel` command found in RUN instructions."""
    found = []
    for ins in instructions:
        if ins.keyword == "RUN":
            for part in re.split(r"&&|;|\|\|", ins.args):
                if re.search(r"\bpip3?\s+(install|wheel)\b", part):
                    found.append(part.strip())
    return found


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


def test_every_hadolint_ignore_is_justified(instructions: list[Instruction]) -> None:
    for ins in instructions:
        pragmas = [c for c in ins.comments if "hadolint ignore" in c]
        justification = [c for c in ins.comments if c not in pragmas and len(c) > 20]
        assert not pragmas or justification, f"unexplained {pragmas} above {ins.keyword}"


def test_every_base_image_is_pinned_by_version(instructions: list[Instruction]) -> None:
    images = [resolve_args(ins.args.split()[0], instructions) for ins in instructions
              if ins.keyword == "FROM"]
    assert images
    for image in images:
        assert is_pinned(image), image
        assert image.startswith("python:3.12") and "slim" in image, image


@pytest.mark.parametrize(
    ("image", "pinned"),
    [("python:3.12.7-slim-bookworm", True), ("python:latest", False), ("python", False),
     ("python:slim", False), ("registry:5000/python", False),
     ("python@sha256:" + "0" * 64, True)],
)
def test_pin_check_itself(image: str, pinned: bool) -> None:
    assert is_pinned(image) is pinned


def test_runs_as_a_fixed_numeric_non_root_user(instructions: list[Instruction]) -> None:
    user, _, group = final_user(instructions).partition(":")
    assert user.isdigit() and int(user) >= 10000, user
    assert not group or (group.isdigit() and int(group) != 0), group


def test_entrypoint_is_osslist_in_exec_form(instructions: list[Instruction]) -> None:
    entrypoints = [ins.args for ins in stages(instructions)[-1] if ins.keyword == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoints][-1:] == [["osslist"]]


def test_pip_never_keeps_a_cache(instructions: list[Instruction]) -> None:
    commands = pip_commands(instructions)
    assert any(" install " in c for c in commands), "the image never installs osslist"
    for command in commands:
        assert "--no-cache-dir" in shlex.split(command), command


def test_pip_check_itself_sees_a_cached_install() -> None:
    bad = parse_dockerfile("FROM x:1\nRUN apt-get update && pip install --user .\n")
    assert pip_commands(bad) == ["pip install --user ."]


def test_runtime_stage_installs_no_build_tools(instructions: list[Instruction]) -> None:
    runtime = stages(instructions)[-1]
    for ins in runtime:
        assert not re.search(r"apt-get\s+install|apk\s+add|gcc|build-essential", ins.args), ins
    for ins in instructions:  # apt lists are removed in the layer that created them
        if "apt-get update" in ins.args:
            assert "rm -rf /var/lib/apt/lists/*" in ins.args, ins


def test_runtime_environment_writes_only_under_tmp(instructions: list[Instruction]) -> None:
    env = " ".join(ins.args for ins in stages(instructions)[-1] if ins.keyword == "ENV")
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env), env
    assert re.search(r"\bHOME=/tmp\b", env), env


def dockerignore_rules() -> tuple[list[str], list[str]]:
    """(excluded patterns, re-included patterns) of .dockerignore, comments dropped."""
    lines = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines()]
    rules = [ln for ln in lines if ln and not ln.startswith("#")]
    return [r for r in rules if not r.startswith("!")], [r[1:] for r in rules if r.startswith("!")]


def test_build_context_holds_only_what_is_copied(instructions: list[Instruction]) -> None:
    excluded, included = dockerignore_rules()
    assert excluded[0] == "*", "start from an empty context, then re-include"
    sources = [src for ins in instructions if ins.keyword == "COPY"
               and "--from" not in ins.args for src in ins.args.split()[:-1]]
    assert sorted(s.rstrip("/") for s in sources) == sorted(i.rstrip("/") for i in included)
    for private in (".venv", ".git", "tests", "bench", "k8s"):
        assert not any(i.rstrip("/") == private or i.startswith(private + "/") for i in included)


def test_copied_sources_exist(instructions: list[Instruction]) -> None:
    sources = [src for ins in instructions if ins.keyword == "COPY"
               and "--from" not in ins.args for src in ins.args.split()[:-1]]
    missing = [s for s in sources if not (ROOT / s).exists()]
    assert not missing, f"the image build would fail: {missing} missing from the repository"
