"""Query checks every OSS listing shares (ListObjects, ListObjectVersions): parameter lengths,
max-keys and encoding-type, with OSS's InvalidArgument messages. Pure: params in, values out."""

from __future__ import annotations

from typing import Mapping

from osslist.emulator.wire import InvalidArgument

MAX_PARAMETER_BYTES = 1023


def check_lengths(params: dict[str, str], limited: Mapping[str, str | None]) -> None:
    """OSS refuses these parameters at 1024 bytes or more (``limited``: name -> its EC)."""
    for name, ec in limited.items():
        if len(params.get(name, "").encode("utf-8")) > MAX_PARAMETER_BYTES:
            raise InvalidArgument(f"The {name} must be less than 1024 bytes.", ec=ec)


def max_keys(params: dict[str, str]) -> int:
    """max-keys: 1..1000, default 100."""
    raw_max = params.get("max-keys", "") or "100"
    if not (raw_max.isascii() and raw_max.isdigit()) or not 1 <= int(raw_max) <= 1000:
        raise InvalidArgument("max-keys must be an integer between 1 and 1000.")
    return int(raw_max)


def url_encoded(params: dict[str, str]) -> bool:
    """encoding-type: url or nothing."""
    encoding = params.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise InvalidArgument("The encoding-type must be url.")
    return encoding == "url"
