from typing import Iterator, Mapping

from oss2.api import Bucket
from oss2.models import MultipartUploadInfo, PartInfo

class PartIterator:
    def __init__(
        self, bucket: Bucket, key: str, upload_id: str, marker: str = "0", max_parts: int = 1000,
        max_retries: int | None = None, headers: Mapping[str, str] | None = None,
    ) -> None: ...
    def __iter__(self) -> Iterator[PartInfo]: ...
    def __next__(self) -> PartInfo: ...

class MultipartUploadIterator:
    def __init__(
        self, bucket: Bucket, prefix: str = "", delimiter: str = "", key_marker: str = "", upload_id_marker: str = "",
        max_uploads: int = 1000, max_retries: int | None = None, headers: Mapping[str, str] | None = None,
    ) -> None: ...
    def __iter__(self) -> Iterator[MultipartUploadInfo]: ...
    def __next__(self) -> MultipartUploadInfo: ...
