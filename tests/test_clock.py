"""A pod with a wrong clock (issue 14): osslist learns OSS's time from RequestTimeTooSkewed, signs
with it, warns once and lists exactly; a clock more than a day off is exit 1 with one line.

The emulator's ``clock_offset`` plays the wrong clock: ``-1200`` runs every emulated server 20
minutes behind the real time osslist signs with (the pod 20 minutes fast), ``+1200`` ahead.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from email.utils import formatdate

import oss2
import pytest
from click.testing import CliRunner, Result
from oss2.credentials import StaticCredentialsProvider

from osslist.cli import main
from osslist.clock import MAX_CORRECTED_SKEW, ServerClock, describe_offset, make_auth, server_time_of
from osslist.credentials import Credentials, server_skew
from osslist.emulator.config import DEFAULT_OIDC_PROVIDER_ARN, DEFAULT_OIDC_TOKEN, DEFAULT_ROLE_ARN
from osslist.errors import ClockSkewError
from osslist.ossobjects import ObjectClient
from tests.helpers import BUCKET, byte_order, clean_env, emulator_client, ok, out

TWENTY_MINUTES = 20 * 60
TWO_DAYS = 2 * 86400
WARNING = "the local clock is"


def listing(emulator, *args: str) -> Result:
    argv = ["--bucket", BUCKET, "--endpoint", emulator.oss_endpoint, "--no-progress", *args]
    return CliRunner().invoke(main, argv, env=clean_env(emulator))


def measured(line: str) -> int:
    """The offset a warning or error line names (``... by -1200 s ...`` / ``offset -1200 s``)."""
    return int(re.search(r"([+-]\d+) s\b", line).group(1))


def warnings_in(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if WARNING in line]


@pytest.mark.parametrize("offset", [-TWENTY_MINUTES, TWENTY_MINUTES])
@pytest.mark.parametrize("signature", ["1", "4"])
def test_a_clock_20_minutes_off_lists_exactly_with_one_warning(make_emulator, offset: int, signature: str) -> None:
    emu = make_emulator(clock_offset=offset)
    keys = [f"d{i % 13}/obj-{i:05d}" for i in range(3_000)]
    emu.create_bucket(BUCKET)
    for key in keys:
        emu.put_object(BUCKET, key, size=1)
    result = ok(listing(emu, "--signature-version", signature))
    assert out(result) == "".join(k + "\n" for k in byte_order(keys))
    (warning,) = warnings_in(result)
    assert describe_offset(offset).split()[-1] in warning and abs(measured(warning) - offset) <= 2
    statuses = [(r.status, r.error_code) for r in emu.requests_for("oss")]
    assert statuses[0] == (403, "RequestTimeTooSkewed") and all(s == 200 for s, _ in statuses[1:])
    assert len(statuses) == 1 + 3  # one refusal, then three pages: nothing listed twice


def test_a_parallel_listing_warns_once(make_emulator) -> None:
    emu = make_emulator(clock_offset=-TWENTY_MINUTES)
    emu.seed(BUCKET, 5_000)
    result = ok(listing(emu, "--parallel", "4"))
    assert len(out(result).splitlines()) == 5_000
    assert len(warnings_in(result)) == 1


def test_100_000_objects_exact_with_one_warning(make_emulator) -> None:
    """The acceptance case of issue 14 at full size (a few seconds on the emulator)."""
    emu = make_emulator(clock_offset=TWENTY_MINUTES, log_requests=False)
    emu.seed(BUCKET, 100_000)
    expected = byte_order(emu.buckets.require(BUCKET).keys())
    result = ok(listing(emu, "--signature-version", "4"))
    assert out(result).splitlines() == expected and len(expected) == 100_000
    assert len(warnings_in(result)) == 1


@pytest.mark.parametrize("offset", [-TWO_DAYS, TWO_DAYS])
def test_two_days_off_is_exit_1_with_one_line_naming_the_offset(make_emulator, offset: int) -> None:
    emu = make_emulator(clock_offset=offset, buckets=(BUCKET,))
    result = listing(emu)
    assert result.exit_code == 1 and out(result) == ""
    (line,) = result.stderr.strip().splitlines()
    assert "2 d 0 h" in line and abs(measured(line) - offset) <= 2 and "NTP" in line


def test_learning_sets_the_offset_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    now = [1_000_000.0]
    clock = ServerClock(lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="osslist.clock"):
        clock.learn(now[0] - 1200)
        clock.learn(now[0] - 1210)
    assert clock.offset == -1210 and clock.now() == now[0] - 1210
    assert len(caplog.records) == 1 and "20 min 0 s ahead of" in caplog.records[0].getMessage()
    with pytest.raises(ClockSkewError, match=r"\+86401 s"):
        clock.learn(now[0] + MAX_CORRECTED_SKEW + 1)


def _skew_error(details: dict[str, str], headers: dict[str, str]) -> oss2.exceptions.ServerError:
    return oss2.exceptions.ServerError(403, headers, b"", {"Code": "RequestTimeTooSkewed", **details})


def test_server_time_from_the_body_else_the_date_header() -> None:
    moment = datetime(2026, 11, 29, 19, 10, 0, 250_000, tzinfo=timezone.utc).timestamp()
    assert server_time_of(_skew_error({"ServerTime": "2026-11-29T19:10:00.250Z"}, {})) == moment
    assert server_time_of(_skew_error({"ServerTime": "garbage"}, {"date": formatdate(moment, usegmt=True)})) \
        == int(moment)
    assert server_time_of(_skew_error({}, {})) is None
    assert not ServerClock().corrected(_skew_error({}, {}))  # nothing to learn: not retried


@pytest.mark.parametrize("version", [1, 4])
def test_the_skewed_signers_are_accepted_by_the_emulator(make_emulator, version: int) -> None:
    """Guards the oss2 private helpers clock.py calls: a rename fails here."""
    emu = make_emulator(clock_offset=-TWENTY_MINUTES, buckets=("bkt",))
    creds = emu.issue_credentials()
    clock = ServerClock()
    clock.learn(time.time() - TWENTY_MINUTES)
    provider = StaticCredentialsProvider(creds.access_key_id, creds.access_key_secret, creds.security_token)
    bucket = oss2.Bucket(make_auth(provider, version, clock), emu.oss_endpoint, "bkt", region="cn-hangzhou")
    assert bucket.list_objects().status == 200
    assert emu.requests_for("oss")[-1].signature_version == str(version)


# --- the metadata / STS side: expirations that look past only because of the local clock ---------

SEVEN_HOURS = 7 * 3600


def test_metadata_credentials_judged_by_the_servers_clock_when_the_pod_is_7_hours_fast(make_emulator) -> None:
    """The metadata server's 6-hour sets expire an hour before the pod's "now"; its Date header
    says they have 6 hours left. Was exit 3 ("expire at ... no newer set")."""
    emu = make_emulator(clock_offset=-SEVEN_HOURS)
    keys = [f"k{i:03d}" for i in range(50)]
    emu.create_bucket(BUCKET)
    for key in keys:
        emu.put_object(BUCKET, key)
    result = ok(listing(emu))
    assert out(result) == "".join(k + "\n" for k in keys)
    assert any("credential server's" in line for line in warnings_in(result))
    assert len(emu.issued_credentials) == 1  # the set was kept, not refetched in a loop


def test_rrsa_credentials_judged_by_the_sts_clock(make_emulator, tmp_path) -> None:
    emu = make_emulator(clock_offset=-2 * 3600, buckets=(BUCKET,))  # STS's 1-hour sets look an hour old
    token = tmp_path / "token"
    token.write_text(DEFAULT_OIDC_TOKEN)
    env = {"ALIBABA_CLOUD_ROLE_ARN": DEFAULT_ROLE_ARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": DEFAULT_OIDC_PROVIDER_ARN,
           "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token), "ALIBABA_CLOUD_STS_ENDPOINT": emu.sts_endpoint}
    argv = ["--bucket", BUCKET, "--endpoint", emu.oss_endpoint, "--credentials", "rrsa", "--no-progress"]
    result = ok(CliRunner().invoke(main, argv, env=clean_env(emu, **env)))
    assert out(result) == "" and len(emu.issued_credentials) == 1


def _set(expires_in: float, server_says: float | None, now: float) -> Credentials:
    expiration = datetime.fromtimestamp(now + expires_in, timezone.utc)
    date = None if server_says is None else formatdate(now + server_says, usegmt=True)
    return Credentials("STS.id", "secret", "token", expiration, date)


@pytest.mark.parametrize(
    ("expires_in", "server_offset", "skew"),
    [
        (3600, -7200, 0.0),  # valid by the local clock: judged locally, as always
        (-3600, None, 0.0),  # no Date header: nothing to judge by
        (-3600, -7200, -7200.0),  # past locally, an hour left by the server's clock
        (-3600, 0, 0.0),  # past by both clocks: stays expired
        (30, -600, -600.0),  # inside the last minute locally, ten more by the server's clock
    ],
)
def test_server_skew_applies_only_when_the_local_clock_alone_calls_the_set_expired(
    expires_in: float, server_offset: float | None, skew: float
) -> None:
    now = 1_800_000_000.0
    assert server_skew(_set(expires_in, server_offset, now), now) == skew


def test_a_credential_server_two_days_away_is_a_clock_skew_error() -> None:
    now = 1_800_000_000.0
    with pytest.raises(ClockSkewError, match=r"credential server's clock \(offset -172800 s"):
        server_skew(_set(-TWO_DAYS + 3600, -TWO_DAYS, now), now)


def test_object_writes_learn_the_offset_too(make_emulator) -> None:
    """A report upload (ossobjects) may be the first request of a run: its refusal is corrected alike."""
    emu = make_emulator(clock_offset=TWENTY_MINUTES, buckets=("reports",))
    objects = ObjectClient(emulator_client(emu, "reports"))
    objects.put("out/listing.txt", b"a\nb\n")
    assert b"".join(objects.stream("out/listing.txt")) == b"a\nb\n"
    assert [r.error_code for r in emu.requests_for("oss")][:2] == ["RequestTimeTooSkewed", None]
