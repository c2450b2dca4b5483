"""The suite may only talk to loopback: prove the guard refuses anything else before sending.

The guard is pytest-socket's ``--allow-hosts`` (pyproject addopts), which replaces
``socket.socket.connect`` for every test. The tests below first check that the replacement is in
place, and only then try a connect: if the guard were ever missing, they fail without sending.
The address tried is in TEST-NET-1 (192.0.2.0/24, RFC 5737), reserved for documentation and never
routed, so even a broken guard could not reach anybody.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest
from pytest_socket import SocketConnectBlockedError

UNROUTABLE = "192.0.2.1"


def _guard_installed() -> bool:
    return getattr(socket.socket.connect, "__name__", "") == "guarded_connect"


def test_the_guard_is_installed_for_every_test() -> None:
    assert _guard_installed(), "pytest-socket's --allow-hosts is not active: check pyproject addopts"


def test_raw_connect_to_non_loopback_is_refused_before_sending() -> None:
    assert _guard_installed()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(SocketConnectBlockedError):
            sock.connect((UNROUTABLE, 80))
    finally:
        sock.close()


def test_http_client_to_non_loopback_is_refused_before_sending() -> None:
    """What the metadata client would do with a wrong endpoint: httpx fails loudly too."""
    assert _guard_installed()
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        with pytest.raises(SocketConnectBlockedError):
            client.get(f"http://{UNROUTABLE}/latest/meta-data/ram/security-credentials/")


def test_loopback_is_allowed() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    accepted, _ = server.accept()
    client.sendall(b"ping")
    assert accepted.recv(4) == b"ping"
    for s in (client, accepted, server):
        s.close()


def test_subprocesses_inherit_only_loopback_defaults() -> None:
    """A CLI subprocess that forgets its endpoints would reach closed loopback, not the cloud."""
    script = (
        "import os, json; print(json.dumps({k: os.environ.get(k) for k in "
        "('ALIBABA_CLOUD_IMDS_ENDPOINT', 'ALIBABA_CLOUD_STS_ENDPOINT', 'HTTP_PROXY', "
        "'ALIBABA_CLOUD_ACCESS_KEY_ID')}))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["ALIBABA_CLOUD_IMDS_ENDPOINT"].startswith("http://127.0.0.1:")
    assert seen["ALIBABA_CLOUD_STS_ENDPOINT"].startswith("http://127.0.0.1:")
    assert seen["HTTP_PROXY"] is None and seen["ALIBABA_CLOUD_ACCESS_KEY_ID"] is None
