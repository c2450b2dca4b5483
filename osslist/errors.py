"""osslist's own exceptions, each carrying the exit code the CLI maps it to.

Third-party errors (httpx, oss2, requests) are translated into these at one boundary per
module (the metadata client, the bucket client) and raised ``from`` the original, so the rest
of the code and the CLI only ever see this tree:

    OsslistError                 exit 1  anything not more specific below
    ├── UsageError               exit 2  bad option or input, found before any network call
    │   ├── CheckpointMismatch   exit 2  a checkpoint of a different command line, output or format
    │   └── CheckpointBusy       exit 2  another run holds the checkpoint's lock
    ├── CredentialsError         exit 3  no usable credentials
    │   ├── MetadataError        exit 3  the instance metadata server failed or refused
    │   └── StsError             exit 3  STS AssumeRoleWithOIDC (RRSA) failed
    ├── OssRefused               exit 4  OSS said no (AccessDenied, NoSuchBucket, key/token errors
    │                                    that a credential refresh did not cure)
    ├── OssUnavailable           exit 1  OSS kept failing (5xx, throttling, network) past the retries
    ├── ClockSkewError           exit 1  the local clock is over a day from OSS's (smaller skews
    │                                    are corrected, see clock.py)
    ├── ListingError             exit 1  the listing protocol broke (truncated page without a next
    │                                    marker, a marker that does not advance)
    ├── OutputError              exit 1  the output could not be written (disk full, /dev/full)
    ├── ReportError              exit 2  a report read back is damaged or is no report (bad MD5,
    │                                    truncated gzip, keys out of order, missing data file)
    ├── Interrupted              exit 143 SIGTERM: the current page was finished and saved
    └── CheckpointFinished       exit 0  not a failure: the checkpoint's listing finished earlier,
                                         so nothing was listed (the CLI says so in one line)

Messages are one line meant for a person, and never contain a secret or a raw response
body (OSS error bodies can echo the security token).
"""

from __future__ import annotations


class OsslistError(Exception):
    """Base of every error osslist raises on purpose."""

    exit_code: int = 1


class UsageError(OsslistError):
    """Bad input, detected before any network call."""

    exit_code = 2


class CheckpointMismatch(UsageError):
    """The checkpoint file belongs to a run with different arguments, another output file, or
    an older checkpoint format."""


class CheckpointBusy(UsageError):
    """Another run holds the checkpoint's lock; the message names it (pid, host)."""


class CredentialsError(OsslistError):
    """No usable credentials could be obtained."""

    exit_code = 3


class MetadataError(CredentialsError):
    """The instance metadata server was unreachable, refused, or answered nonsense."""


class StsError(CredentialsError):
    """STS AssumeRoleWithOIDC (RRSA) failed."""


class OssError(OsslistError):
    """An OSS request failed; carries what a person needs to look it up, never a body."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        bucket: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.bucket = bucket
        self.endpoint = endpoint


class OssRefused(OssError):
    """OSS refused the request for a reason retrying will not fix."""

    exit_code = 4


class OssUnavailable(OssError):
    """OSS kept failing with retryable errors until the retry budget ran out."""

    exit_code = 1


class ClockSkewError(OsslistError):
    """The local clock is further from OSS's than osslist corrects (a day): exit 1."""

    exit_code = 1


class ListingError(OsslistError):
    """The listing protocol broke; stopping is safer than looping or truncating silently."""

    exit_code = 1


class OutputError(OsslistError):
    """Writing the records failed after the listing began: a full disk, ``/dev/full``, an I/O
    error. The message names the file (or stdout) and the system's reason."""


class ReportError(OsslistError):
    """A report read back (``osslist diff``) is damaged, incomplete or not a report at all. The
    message names the file and what is wrong with it; nothing read from it counts as complete."""

    exit_code = 2


class Interrupted(OsslistError):
    """A SIGTERM stopped the run after the current page was written and checkpointed."""

    exit_code = 143


class CheckpointFinished(OsslistError):
    """The checkpoint records a listing that already finished: this run lists nothing and must
    not present the old counts as a new listing. Exit 0 (a Job retried after success is fine)."""

    exit_code = 0
