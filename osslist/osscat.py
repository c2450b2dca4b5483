"""``osslist cat``: an object's bytes to a binary stream, gunzipped when its key ends in ``.gz``,
streamed (never whole in memory), so a report written into OSS reads back with the same
credentials as it was written with."""

from __future__ import annotations

import zlib
from typing import BinaryIO, Iterable, Iterator

from osslist.errors import OsslistError
from osslist.ossobjects import ObjectClient


class CorruptObject(OsslistError):
    """The object is not the gzip its key says it is (or it ends mid-stream)."""


def gunzipped(chunks: Iterable[bytes], name: str) -> Iterator[bytes]:
    """Decompress a gzip stream of one or more members (``gunzip -c`` semantics)."""
    inflate = zlib.decompressobj(wbits=31)
    seen = False
    try:
        for chunk in chunks:
            while chunk:
                seen = True
                yield inflate.decompress(chunk)
                if not inflate.eof:
                    break
                chunk = inflate.unused_data
                inflate = zlib.decompressobj(wbits=31)
                seen = False
        yield inflate.flush()
    except zlib.error as exc:
        raise CorruptObject(f"{name} is not valid gzip ({exc}); use --no-gunzip for the raw bytes") from exc
    if seen and not inflate.eof:
        raise CorruptObject(f"{name} ends in the middle of its gzip stream")


def cat(objects: ObjectClient, key: str, out: BinaryIO, *, gunzip: bool | None = None) -> int:
    """Write the object to ``out``; ``gunzip`` None means: when the key ends in ``.gz``.
    Returns the bytes written."""
    chunks: Iterable[bytes] = objects.stream(key)
    if key.endswith(".gz") if gunzip is None else gunzip:
        chunks = gunzipped(chunks, objects.url(key))
    written = 0
    for chunk in chunks:
        if chunk:
            out.write(chunk)
            written += len(chunk)
    out.flush()
    return written
