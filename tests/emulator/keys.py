"""Keys every fidelity test lists (oss2, oss-v2): characters that break naive encoders, and
seeded out of order so the byte order is the server's work."""

from __future__ import annotations

TRICKY_KEYS = [
    "with space",
    "a+b",
    "literal%20percent",
    "中文/文件.txt",
    "emoji-😀.png",
    "ctrl-\x01-char",
    "new\nline",
    "back\\slash",
    'quote"d',
    "double//slash",
    "//leading",
    "a",
    "a/",
    "a/b",
    "amp&<lt>",
    "é-accent",
    "\U0010fffd-max",
    "k" * 1023,
]
BYTE_ORDER = sorted(TRICKY_KEYS, key=lambda k: k.encode())
