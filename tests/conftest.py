"""Shared fixtures. The network guard lives in pyproject's addopts (pytest-socket
``--allow-hosts``): any connect() to a host other than loopback fails before it is sent."""
