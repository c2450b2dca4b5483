"""`osslist emulator`'s function: seeds, prints endpoints and exports, serves until stopped."""

from __future__ import annotations

import errno
import io
import logging
import re
import socket
import threading
import time

import oss2
import pytest
from oss2.credentials import StaticCredentialsProvider
import httpx

from osslist.emulator import Emulator
from osslist.emulator.standalone import OPTION_HELP, SetupError, run_standalone


def test_run_standalone_prints_working_endpoints_and_stops() -> None:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=run_standalone, kwargs={"objects": 25, "bucket": "standalone", "out": out, "stop": stop}
    )
    thread.start()
    try:
        for _ in range(500):  # wait for the banner (bounded; not a timing assertion)
            if "Serving" in out.getvalue():
                break
            time.sleep(0.01)
        text = out.getvalue()
        exports = dict(re.findall(r"^export (\w+)=(\S+)$", text, re.M))
        assert exports["OSSLIST_BUCKET"] == "standalone"
        assert exports["ALIBABA_CLOUD_IMDS_ENDPOINT"].startswith("http://127.0.0.1:")
        metadata = exports["ALIBABA_CLOUD_IMDS_ENDPOINT"]
        role = httpx.get(metadata + "/latest/meta-data/ram/security-credentials/").text
        doc = httpx.get(metadata + "/latest/meta-data/ram/security-credentials/" + role).json()
        provider = StaticCredentialsProvider(doc["AccessKeyId"], doc["AccessKeySecret"], doc["SecurityToken"])
        bucket = oss2.Bucket(oss2.ProviderAuthV4(provider), exports["OSSLIST_ENDPOINT"], "standalone", region="cn-hangzhou")
        assert len(list(oss2.ObjectIterator(bucket, max_keys=10))) == 25
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


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
