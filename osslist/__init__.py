"""osslist: list every object of an Alibaba Cloud OSS bucket from a pod, with the pod's RAM role.

The public Python API is exactly the names in ``__all__``; every module and every other name
is private. Within a major version nothing in ``__all__`` disappears or changes meaning (a
record may gain fields with defaults). The emulator, for your own tests, is
``osslist.emulator.Emulator``.

>>> import osslist
>>> listing = osslist.list_objects("my-bucket", endpoint="oss-cn-hangzhou-internal.aliyuncs.com",
...                                prefix="logs/")
>>> sum(record.size for record in listing)  # doctest: +SKIP
>>> bucket = osslist.bucket("my-bucket", endpoint="oss-cn-hangzhou-internal.aliyuncs.com")
>>> bucket.get_object("logs/today.gz").read()  # doctest: +SKIP

Names are imported on first use, so ``import osslist`` (and ``osslist --help``) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from osslist.api import (
        Listing,
        UploadListing,
        bucket,
        credentials_provider,
        du,
        list_objects,
        list_uploads,
    )
    from osslist.errors import (
        CheckpointBusy,
        CheckpointFinished,
        CheckpointMismatch,
        ClockSkewError,
        CredentialsError,
        Interrupted,
        ListingError,
        MetadataError,
        OssError,
        OssRefused,
        OssUnavailable,
        OsslistError,
        OutputError,
        ReportError,
        StsError,
        UsageError,
    )
    from osslist.prefixtotals import DuRow
    from osslist.records import (
        ObjectRecord,
        PrefixRecord,
        UploadRecord,
        VersionRecord,
    )
    from osslist.summary import Summary
    from osslist.uploads import UploadTotals

_HOMES = {
    "CheckpointBusy": "osslist.errors",
    "CheckpointFinished": "osslist.errors",
    "CheckpointMismatch": "osslist.errors",
    "ClockSkewError": "osslist.errors",
    "CredentialsError": "osslist.errors",
    "DuRow": "osslist.prefixtotals",
    "Interrupted": "osslist.errors",
    "Listing": "osslist.api",
    "ListingError": "osslist.errors",
    "MetadataError": "osslist.errors",
    "ObjectRecord": "osslist.records",
    "OssError": "osslist.errors",
    "OssRefused": "osslist.errors",
    "OssUnavailable": "osslist.errors",
    "OsslistError": "osslist.errors",
    "OutputError": "osslist.errors",
    "PrefixRecord": "osslist.records",
    "ReportError": "osslist.errors",
    "StsError": "osslist.errors",
    "Summary": "osslist.summary",
    "UploadListing": "osslist.api",
    "UploadRecord": "osslist.records",
    "UploadTotals": "osslist.uploads",
    "UsageError": "osslist.errors",
    "VersionRecord": "osslist.records",
    "bucket": "osslist.api",
    "credentials_provider": "osslist.api",
    "du": "osslist.api",
    "list_objects": "osslist.api",
    "list_uploads": "osslist.api",
}

__all__ = [
    "CheckpointBusy",
    "CheckpointFinished",
    "CheckpointMismatch",
    "ClockSkewError",
    "CredentialsError",
    "DuRow",
    "Interrupted",
    "Listing",
    "ListingError",
    "MetadataError",
    "ObjectRecord",
    "OssError",
    "OssRefused",
    "OssUnavailable",
    "OsslistError",
    "OutputError",
    "PrefixRecord",
    "ReportError",
    "StsError",
    "Summary",
    "UploadListing",
    "UploadRecord",
    "UploadTotals",
    "UsageError",
    "VersionRecord",
    "__version__",
    "bucket",
    "credentials_provider",
    "du",
    "list_objects",
    "list_uploads",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any misspelt name

    def __getattr__(name: str) -> object:
        """Import a public name's module on first use (PEP 562)."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'osslist' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
