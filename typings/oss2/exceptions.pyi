from typing import Any

from requests.structures import CaseInsensitiveDict

class OssError(Exception):
    status: int
    request_id: str
    body: bytes | str
    details: dict[str, Any]  # Any: the error body's fields as oss2 parsed them
    code: str
    message: str
    ec: str
    headers: CaseInsensitiveDict[str] | dict[str, str]
    def __init__(
        self, status: int, headers: CaseInsensitiveDict[str] | dict[str, str], body: bytes | str,
        details: dict[str, Any],  # Any: as above
    ) -> None: ...

class ClientError(OssError):
    def __init__(self, message: str) -> None: ...

class RequestError(OssError):
    exception: Exception
    def __init__(self, e: Exception) -> None: ...

class ServerError(OssError): ...
class NotFound(ServerError): ...
class NoSuchKey(NotFound): ...
class NoSuchUpload(NotFound): ...
