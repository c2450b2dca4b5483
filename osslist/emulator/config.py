"""Settings of one emulator instance, fixed at construction.

Everything a test varies per emulator lives here as a plain field, so the ``make_emulator``
fixture can take them as keyword arguments. Things a test changes *while* the emulator runs
(faults, OIDC tokens, static keys, buckets) are methods and attributes of ``Emulator``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

METADATA_MODES = ("optional", "required", "unsupported")
# The real metadata server issues a new set 30 minutes before the current one expires; with the
# official SDKs' 15-minute refresh lead, a shorter window hands every early refresh the old set.
DEFAULT_ROTATION_WINDOW = 30 * 60.0

DEFAULT_ROLE_ARN = "acs:ram::1234567890123456:role/osslist-rrsa"
DEFAULT_OIDC_PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0ffee"
# Shaped like a JWT because real OIDC tokens are; the emulator only compares it as a string.
DEFAULT_OIDC_TOKEN = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImVtdWxhdG9yIn0."
    "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpvc3NsaXN0In0.ZW11bGF0b3I"
)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated metadata server, STS and OSS behave.

    Times are seconds on ``clock`` (``time.time`` unless a test injects a fake one). Lifetimes
    default to the real services' (6 h, rotation 30 min before expiry) so that a test which
    does not care never sees credentials expire.
    """

    metadata_mode: str = "optional"
    """Hardened mode: ``optional`` (token or none), ``required`` (tokenless GETs get 401),
    ``unsupported`` (``PUT /latest/api/token`` answers 404, token headers are ignored)."""
    role_name: str | None = "osslist-emulator-role"
    """RAM role attached to the "instance"; None means no role (discovery answers 404)."""
    role_name_newline: bool = False
    """Serve the role name with a trailing newline, as some metadata servers do."""
    credential_lifetime: float = 6 * 3600.0
    """Lifetime of each credential set the metadata server issues."""
    rotation_window: float = DEFAULT_ROTATION_WINDOW
    """A new set is issued once the current one is within this many seconds of expiry."""
    metadata_token_max_ttl: int = 21600
    """Largest accepted ``X-aliyun-ecs-metadata-token-ttl-seconds`` (smallest is 1)."""

    sts_role_arn: str = DEFAULT_ROLE_ARN
    sts_oidc_provider_arn: str = DEFAULT_OIDC_PROVIDER_ARN
    oidc_tokens: tuple[str, ...] = (DEFAULT_OIDC_TOKEN,)
    """OIDC tokens STS accepts (``Emulator.set_oidc_tokens`` replaces them at run time)."""
    sts_credential_lifetime: float | None = None
    """Lifetime of STS-issued sets; None means the request's DurationSeconds."""

    static_keys: dict[str, str] = field(default_factory=dict)
    """Long-lived AccessKeyId -> AccessKeySecret pairs OSS accepts without a token."""
    buckets: tuple[str, ...] = ()
    """Buckets created empty at construction."""

    clock: Callable[[], float] = time.time
    """Wall clock for expirations and token TTLs; inject a fake one to expire credentials."""
    clock_offset: float = 0.0
    """Seconds the emulated servers' clocks run ahead of the caller's (negative: behind). It is
    added to ``clock`` (expirations, Date headers of metadata and STS) and to the real time the
    OSS request-date check and its Date header use: ``-1200`` makes every client look 20
    minutes fast, ``+1200`` 20 minutes slow."""
    region: str = "cn-hangzhou"
    """The region OSS is in: a V4 signature must name it in its scope."""
    log_requests: bool = True
    """Keep ``Emulator.requests``; turn off for benchmarks so a long listing keeps flat memory."""
    host: str = "127.0.0.1"
    """Loopback address to bind; the emulator refuses anything that is not loopback."""
    metadata_port: int = 0
    oss_port: int = 0
    sts_port: int = 0
    """Ports to bind; 0 picks a free one."""

    def __post_init__(self) -> None:
        if self.metadata_mode not in METADATA_MODES:
            raise ValueError(f"metadata_mode must be one of {METADATA_MODES}, not {self.metadata_mode!r}")
        if self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the emulator binds to loopback only (127.0.0.1 or ::1)")
        if self.credential_lifetime <= 0 or self.rotation_window < 0:
            raise ValueError("credential_lifetime must be > 0 and rotation_window >= 0")


class FakeClock:
    """A clock tests move by hand, callable like ``time.time``:
    ``clock = FakeClock(); Emulator(clock=clock); clock.advance(3600)``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ShiftedClock:
    """``clock() + offset``: the emulator's servers' clock when ``clock_offset`` is set."""

    def __init__(self, clock: Callable[[], float], offset: float) -> None:
        self.clock = clock
        self.offset = offset

    def __call__(self) -> float:
        return self.clock() + self.offset
