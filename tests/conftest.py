"""Shared fixtures. The network guard lives in pyproject's addopts (pytest-socket
``--allow-hosts``): any connect() to a host other than loopback fails before it is sent."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from osslist.emulator import Emulator, EmulatorConfig


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator with the default config, started on free loopback ports."""
    with Emulator(EmulatorConfig()) as emu:
        yield emu


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Factory: ``make_emulator(metadata_mode="required", clock=clock)`` takes EmulatorConfig
    fields as keyword arguments and returns a started emulator; all are stopped at teardown."""
    started: list[Emulator] = []

    def make(**config: Any) -> Emulator:
        emu = Emulator(EmulatorConfig(**config)).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()
