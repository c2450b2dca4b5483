"""The suite may only talk to loopback: prove the guard refuses anything else before sending."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


@pytest.mark.parametrize("address", ["100.100.100.200", "192.0.2.1", "10.0.0.1"])
def test_connect_to_non_loopback_is_refused_before_sending(address: str) -> None:
    # 192.0.2.0/24 is TEST-NET-1 and 100.100.100.200 is the real metadata server; neither may be
    # reached. The guard raises in connect(), so no SYN ever leaves the machine.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(SocketConnectBlockedError):
            sock.connect((address, 80))
    finally:
        sock.close()


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
