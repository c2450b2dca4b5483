"""Documentation cannot drift from the command line.

Walks the real click tree: every command and option has help text and an OSSLIST_* env var
shown in --help, and README.md's option reference names every option of every command.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from osslist.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(main)
    return [(name, main.get_command(ctx, name)) for name in main.list_commands(ctx)]


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option)]


COMMANDS = _commands()
OPTIONS = [(name, opt) for name, cmd in COMMANDS for opt in _options(cmd)]


def test_the_commands_of_the_cli_surface_exist():
    assert {name for name, _ in COMMANDS} >= {"ls", "du", "whoami", "emulator", "demo"}


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help(name, command):
    assert command.help and command.help.strip(), name
    assert command.get_short_help_str().strip()


@pytest.mark.parametrize(("name", "option"), OPTIONS, ids=[f"{n}:{o.name}" for n, o in OPTIONS])
def test_every_option_has_help_and_a_shown_env_var(name, option):
    assert option.help and option.help.strip(), f"{name} {option.opts} has no help"
    envvars = [option.envvar] if isinstance(option.envvar, str) else list(option.envvar or [])
    assert envvars and all(e.startswith("OSSLIST_") for e in envvars), f"{name} {option.opts}"
    assert option.show_envvar, f"{name} {option.opts}"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_help_shows_every_option_and_its_env_var(name, command):
    result = CliRunner().invoke(main, [name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.stderr
    for option in _options(command):
        assert option.opts[-1] in result.stdout
        assert option.envvar in result.stdout


def test_root_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    for name, _ in COMMANDS:
        assert f"  {name}  " in result.stdout or f"  {name} " in result.stdout


def _long_names(command: click.Command) -> set[str]:
    return {o for opt in _options(command) for o in opt.opts + opt.secondary_opts if o.startswith("--")}


def test_readme_option_reference_names_every_option():
    """The lead writes README's option reference from --help; this fails when one is missing."""
    text = README.read_text(encoding="utf-8")
    missing = sorted(
        f"{name} {option}"
        for name, command in COMMANDS
        for option in _long_names(command)
        if option not in text
    )
    assert not missing, f"README.md does not mention: {', '.join(missing)}"


def test_readme_documents_every_command_and_exit_code():
    text = README.read_text(encoding="utf-8")
    for name, _ in COMMANDS:
        assert f"osslist {name}" in text, name
    for code in ("143",):
        assert code in text


def _exit_code_lists(text: str) -> list[str]:
    """Every place that lists exit codes: the README table (from its heading to the next
    heading) and each one-line summary starting "Exit codes:"."""
    table = text[text.index("## Exit codes"):]
    table = table[: table.index("\n## ", 3)]
    summaries = [p for p in text.split("\n\n") if p.startswith("Exit codes:")]
    return [table, *summaries]


@pytest.mark.parametrize("path", [README, README.parent / "CONTRIBUTING.md"])
def test_every_exit_code_list_has_ctrl_c_and_closed_pipe(path):
    text = path.read_text(encoding="utf-8")
    lists = _exit_code_lists(text) if path == README else [text[text.index("## Errors and exit codes"):][:600]]
    assert lists
    for listed in lists:
        words = f" {' '.join(listed.replace('|', ' ').replace(',', ' ').split())} "
        for code in ("0", "1", "2", "3", "4", "130", "141", "143"):
            assert f" {code} " in words, (code, listed[:80])


def test_readme_does_not_promise_a_few_dozen_requests_for_any_plan():
    text = README.read_text(encoding="utf-8")
    plan = text[text.index("### `osslist plan`"):text.index("### `osslist whoami`")]
    assert "grows with the shard count" in plan
    assert "(a few dozen requests)" not in text


def test_the_license_is_an_spdx_string_for_a_setuptools_that_reads_it():
    """A TOML table license makes setuptools >= 77 flood the first install with warnings."""
    import tomllib

    project = tomllib.loads((README.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"]
