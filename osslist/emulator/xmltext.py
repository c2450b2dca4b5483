"""Text for OSS's XML: escaping by hand and OSS's ``encoding-type=url`` percent-encoding."""

from __future__ import annotations

import re
from urllib.parse import quote

# Keys made only of these need no quote() call: just '/' -> %2F (the common case, and cheap).
_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")
_PLAIN_LINES = re.compile(r"[A-Za-z0-9_.~/\n-]*")

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


def url_encode_all(texts: list[str]) -> list[str]:
    """``[url_encode(t) for t in texts]``, in one match and one replace over the joined texts
    when all are plain (a page of ordinary keys); key by key otherwise."""
    joined = "\n".join(texts)
    if _PLAIN_LINES.fullmatch(joined):
        parts = joined.replace("/", "%2F").split("\n")
        if len(parts) == len(texts):  # else some text held a newline itself
            return parts
    return list(map(url_encode, texts))


def escape_all(texts: list[str]) -> list[str]:
    """``[escape(t) for t in texts]``, with one translate pass when nothing needs escaping."""
    joined = "".join(texts)
    return texts if joined.translate(_ESCAPES) == joined else list(map(escape, texts))
