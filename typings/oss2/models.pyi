from typing import Callable

from requests.structures import CaseInsensitiveDict

from oss2.http import Response

class PartInfo:
    part_number: int
    etag: str
    size: int | None
    last_modified: int | None
    part_crc: int | None
    def __init__(
        self, part_number: int, etag: str, size: int | None = None, last_modified: int | None = None,
        part_crc: int | None = None,
    ) -> None: ...

class MultipartUploadInfo:
    key: str
    upload_id: str
    initiation_date: int
    def __init__(self, key: str, upload_id: str, initiation_date: int) -> None: ...

class RequestResult:
    resp: Response
    status: int
    headers: CaseInsensitiveDict[str]
    request_id: str
    def __init__(self, resp: Response) -> None: ...

class PutObjectResult(RequestResult):
    etag: str

class InitMultipartUploadResult(RequestResult):
    upload_id: str

class HeadObjectResult(RequestResult): ...

class GetObjectResult(HeadObjectResult):
    def __init__(
        self, resp: Response, progress_callback: Callable[[int, int | None], None] | None = None,
        crc_enabled: bool = False, crypto_provider: object = None, discard: int = 0,
    ) -> None: ...
    def read(self, amt: int | None = None) -> bytes: ...
