"""`osslist emulator`'s function: seeds, prints endpoints and exports, serves until stopped."""

from __future__ import annotations

import errno
import io
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider
import httpx

from osslist.emulator import Emulator
from osslist.emulator.standalone import OPTION_HELP, SetupError, run_standalone


@contextmanager
def serving(**options: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """run_standalone in a thread: (its banner, its export lines) while it serves; stopped after."""
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(target=run_standalone, kwargs={**options, "out": out, "stop": stop})
    thread.start()
    try:
        for _ in range(500):  # wait for the banner (bounded; not a timing assertion)
            if "Serving" in out.getvalue():
                break
            time.sleep(0.01)
        text = out.getvalue()
        yield text, dict(re.findall(r"^export (\w+)=(\S+)$", text, re.M))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def oss2_bucket(exports: dict[str, str], name: str) -> oss2.Bucket:
    """A real client on the printed endpoints, with the metadata server's credentials."""
    metadata = exports["ALIBABA_CLOUD_IMDS_ENDPOINT"]
    role = httpx.get(metadata + "/latest/meta-data/ram/security-credentials/").text
    doc = httpx.get(metadata + "/latest/meta-data/ram/security-credentials/" + role).json()
    provider = StaticCredentialsProvider(doc["AccessKeyId"], doc["AccessKeySecret"], doc["SecurityToken"])
    return oss2.Bucket(oss2.ProviderAuthV4(provider), exports["OSSLIST_ENDPOINT"], name, region="cn-hangzhou")


def test_run_standalone_prints_working_endpoints_and_stops() -> None:
    with serving(objects=25, bucket="standalone") as (_, exports):
        assert exports["OSSLIST_BUCKET"] == "standalone"
        assert exports["ALIBABA_CLOUD_IMDS_ENDPOINT"].startswith("http://127.0.0.1:")
        bucket = oss2_bucket(exports, "standalone")
        assert len(list(oss2.ObjectIterator(bucket, max_keys=10))) == 25
        with pytest.raises(oss2.exceptions.NoSuchBucket):  # no reports bucket unless asked
            oss2_bucket(exports, "reports").list_objects()
        assert bucket.get_bucket_versioning().status is None  # no versioning unless asked


def test_versioning_gives_the_seeded_bucket_newer_versions_and_delete_markers() -> None:
    """--versioning, seen by oss2: every 10th key has a newer version over its "null" one, every
    25th a delete marker on top; ListObjects shows the keys without a marker."""
    with serving(objects=100, bucket="versioned", versioning=True) as (text, exports):
        bucket = oss2_bucket(exports, "versioned")
        assert bucket.get_bucket_versioning().status == "Enabled"
        versions, markers = [], []
        result = bucket.list_object_versions(max_keys=1000)
        versions += result.versions
        markers += result.delete_marker
        assert not result.is_truncated
        keys = sorted({v.key for v in versions})
        assert len(keys) == 100 and len(versions) == 100 + 10 and len(markers) == 4
        assert sorted(m.key for m in markers) == [keys[i] for i in (24, 49, 74, 99)]
        newer = [v for v in versions if v.versionid != "null"]
        assert sorted(v.key for v in newer) == [keys[i] for i in range(9, 100, 10)]
        assert all(v.is_latest for v in newer if v.key not in {m.key for m in markers})
        listed = [o.key for o in oss2.ObjectIterator(bucket)]
        assert listed == [k for k in keys if k not in {m.key for m in markers}]
        assert "versioning Enabled: 10 newer versions, 4 delete markers (a listing shows 96 current objects)" in text


def test_reports_bucket_is_created_empty_and_writable() -> None:
    with serving(objects=5, bucket="audited", reports_bucket="reports") as (text, exports):
        reports = oss2_bucket(exports, "reports")
        assert list(oss2.ObjectIterator(reports)) == []
        reports.put_object("osslist/x.json", b"{}")
        assert reports.get_object("osslist/x.json").read() == b"{}"
        assert len(list(oss2.ObjectIterator(oss2_bucket(exports, "audited")))) == 5
        assert "reports bucket 'reports' (empty)" in text


def test_a_reports_bucket_named_as_the_seeded_one_is_refused_before_binding() -> None:
    with pytest.raises(SetupError, match="--reports-bucket same is the seeded bucket"):
        run_standalone(bucket="same", reports_bucket="same", objects=1, out=io.StringIO(), stop=threading.Event())


def test_every_argument_has_help_text() -> None:
    import inspect

    params = set(inspect.signature(run_standalone).parameters) - {"out", "stop"}
    assert params == set(OPTION_HELP) and all(OPTION_HELP.values())


def test_one_port_for_two_services_is_refused_before_binding() -> None:
    with pytest.raises(SetupError, match="port 45999 given for both oss and sts"):
        run_standalone(port=45999, sts_port=45999, objects=1, out=io.StringIO(), stop=threading.Event())


def test_a_port_in_use_is_named() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SetupError, match=f"cannot listen on 127.0.0.1 port {port}: Address already in use"):
            run_standalone(port=port, objects=1, out=io.StringIO(), stop=threading.Event())


@pytest.mark.parametrize(
    "exc", [OSError(errno.ENOTCONN, "Transport endpoint is not connected"), ConnectionAbortedError(), TimeoutError(),
            ConnectionResetError(), BrokenPipeError()],
)
def test_a_client_gone_mid_request_is_a_debug_line_not_a_traceback(
    emulator: Emulator, exc: BaseException, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    server = emulator._servers["oss"]._server  # the socketserver, whose handle_error prints tracebacks
    with caplog.at_level(logging.DEBUG, logger="osslist.emulator.server"):
        try:
            raise exc
        except OSError:
            server.handle_error(None, ("127.0.0.1", 5))
    assert capsys.readouterr().err == ""
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "went away mid-request" in caplog.records[0].getMessage()


def test_a_bug_in_a_handler_still_prints_its_traceback(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    server = emulator._servers["oss"]._server
    try:
        raise ValueError("a bug of ours")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 5))
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: a bug of ours" in err
