"""Text for OSS's XML: escaping by hand and OSS's ``encoding-type=url`` percent-encoding."""

from __future__ import annotations

import re
from urllib.parse import quote

# Keys made only of these need no quote() call: just '/' -> %2F (the common case, and cheap).
_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def escape(text: str) -> str:
    """XML-escape element text (XML 1.0 cannot carry some control characters at all: that is
    what ``encoding-type=url`` is for)."""
    return text.translate(_ESCAPES)


def url_encode(text: str) -> str:
    """Percent-encode every byte but ``A-Za-z0-9_.-~``: a space is %20, '+' is %2B, '/' is %2F.

    Clients decode with ``urllib.parse.unquote`` (oss2) or ``url.QueryUnescape`` (Go SDK); this
    form survives both, since it never relies on '+' meaning a space.
    """
    if _PLAIN.fullmatch(text):
        return text.replace("/", "%2F")
    return quote(text, safe="")


def field(text: str, url: bool) -> str:
    """A Key/Prefix/Marker/... value as it goes into the XML."""
    return url_encode(text) if url else escape(text)
