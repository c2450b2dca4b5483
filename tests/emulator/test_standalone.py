"""`osslist emulator`'s function: seeds, prints endpoints and exports, serves until stopped."""

from __future__ import annotations

import io
import re
import threading
import time

import oss2
from oss2.credentials import StaticCredentialsProvider
import httpx

from osslist.emulator.standalone import OPTION_HELP, run_standalone


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
