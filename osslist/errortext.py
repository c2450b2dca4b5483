"""What a person sees of an error: one line, and with --verbose a traceback, no secret in either.

Our errors carry messages written to be shown; a third-party library's may quote a response
body or a token (oss2's ServerError text holds the parsed error body), so its message is
withheld while its type and frames are kept. Pure text functions: the CLI prints them.
"""

from __future__ import annotations

import traceback

from osslist.errors import OsslistError, OssError


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, folded into one space."""
    return " ".join(text.split())


def error_line(exc: BaseException) -> str:
    """The one line a person reads: for OSS failures, bucket, endpoint, code and request id."""
    message = one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, OssError):
        parts = [
            f"{name}={value}"
            for name, value in (
                ("bucket", exc.bucket),
                ("endpoint", exc.endpoint),
                ("code", exc.code),
                ("request_id", exc.request_id),
            )
            if value and f"{value}" not in message
        ]
        if parts:
            message = f"{message} ({', '.join(parts)})"
    if not isinstance(exc, OsslistError):
        message = f"unexpected {type(exc).__name__}: {message if _speaks_plainly(exc) else _WITHHELD}"
    return f"Error: {message}"


_WITHHELD = "(message withheld: third-party error texts may echo a response body or a token)"


def _speaks_plainly(exc: BaseException) -> bool:
    """Our errors and Python's own carry messages we trust; a library's may quote a body."""
    return isinstance(exc, OsslistError) or type(exc).__module__ == "builtins"


def safe_traceback(exc: BaseException) -> str:
    """The traceback for --verbose, with the message of every third-party exception in the
    chain withheld (oss2's ServerError text holds the parsed error body, which may echo the
    security token); frames and exception types are kept."""
    formatted = traceback.TracebackException.from_exception(exc)
    node: traceback.TracebackException | None = formatted
    current: BaseException | None = exc
    while node is not None and current is not None:
        if not _speaks_plainly(current):
            # the message line (private: CPython 3.10-3.13 keep it in _str; typeshed does not list it); frames stay
            node._str = _WITHHELD  # type: ignore[attr-defined]
        if current.__cause__ is not None:
            node, current = node.__cause__, current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            node, current = node.__context__, current.__context__
        else:
            break
    return "".join(formatted.format())
