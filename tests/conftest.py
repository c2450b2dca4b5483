"""Shared fixtures.

Loopback only, twice over. In this process, pytest-socket's ``--allow-hosts`` (pyproject addopts)
refuses any connect() to a host other than loopback before it is sent. Subprocesses (the CLI run
for SIGKILL/SIGTERM tests, the benchmark smoke test) are outside that guard, so for the whole session
the environment they inherit points every default at a closed loopback port and carries no real
credentials or proxies: a test that forgets to point osslist at the emulator fails on 127.0.0.1
instead of reaching the real metadata server or a proxy."""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterator

import pytest

from osslist.emulator import Emulator, EmulatorConfig

# Port 9 (discard) on loopback: nothing listens there, so a forgotten endpoint fails at once.
CLOSED_LOOPBACK = "http://127.0.0.1:9"
_POINTED_AT_LOOPBACK = {
    "ALIBABA_CLOUD_IMDS_ENDPOINT": CLOSED_LOOPBACK,
    "ALIBABA_CLOUD_STS_ENDPOINT": CLOSED_LOOPBACK,
}
_NEVER_INHERITED = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
    "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN",
    "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_ECS_METADATA", "ALIBABA_CLOUD_IMDSV1_DISABLED", "ALIBABA_CLOUD_ECS_METADATA_DISABLED",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)


@pytest.fixture(scope="session", autouse=True)
def loopback_environment() -> Iterator[None]:
    """Every default endpoint on closed loopback, no inherited credentials, proxies or OSSLIST_*."""
    patch = pytest.MonkeyPatch()
    for name in [*_NEVER_INHERITED, *(n for n in os.environ if n.startswith("OSSLIST_"))]:
        patch.delenv(name, raising=False)
    for name, value in _POINTED_AT_LOOPBACK.items():
        patch.setenv(name, value)
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def osslist_logger_restored() -> Iterator[None]:
    """The CLI configures the ``osslist`` logger (its own stderr handler, no propagation) in
    the test process; put it back after each test so a later test's caplog/capsys see what a
    fresh process would (the order of tests must not matter)."""
    logger = logging.getLogger("osslist")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


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
