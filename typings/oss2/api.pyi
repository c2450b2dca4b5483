from typing import Any, Callable, Mapping

from oss2.auth import AuthBase
from oss2.http import Response, Session
from oss2.models import (
    GetObjectResult,
    InitMultipartUploadResult,
    PartInfo,
    PutObjectResult,
    RequestResult,
)

_Headers = Mapping[str, str] | None
_Timeout = float | tuple[float, float] | None  # connect, or (connect, read)
# Any below for `data`: oss2 takes bytes, str, a file or any object with read() (osslist: ossobjects._Body)

class _UrlMaker:
    def __init__(self, endpoint: str, is_cname: bool, is_path_style: bool) -> None: ...
    def __call__(self, bucket_name: str, key: str, slash_safe: bool = False) -> str: ...

class _Base:
    auth: AuthBase
    endpoint: str
    session: Session
    region: str | None
    _make_url: _UrlMaker
    def __init__(
        self, auth: AuthBase, endpoint: str, is_cname: bool, session: Session | None, connect_timeout: _Timeout,
        app_name: str = "", enable_crc: bool = True, proxies: dict[str, str] | None = None, region: str | None = None,
        cloudbox_id: str | None = None, is_path_style: bool = False, is_verify_object_strict: bool = True,
    ) -> None: ...
    # Any: what http.Request takes (params, headers, data); osslist passes params only
    def _do(self, method: str, bucket_name: str, key: str | bytes, **kwargs: Any) -> Response: ...

class Bucket(_Base):
    bucket_name: str
    def __init__(
        self, auth: AuthBase, endpoint: str, bucket_name: str, is_cname: bool = False, session: Session | None = None,
        connect_timeout: _Timeout = None, app_name: str = "", enable_crc: bool = True,
        proxies: dict[str, str] | None = None, region: str | None = None, cloudbox_id: str | None = None,
        is_path_style: bool = False, is_verify_object_strict: bool = True,
    ) -> None: ...
    def put_object(
        self, key: str, data: Any, headers: _Headers = None, progress_callback: Callable[[int, int | None], None] | None = None,
    ) -> PutObjectResult: ...
    def get_object(
        self, key: str, byte_range: tuple[int | None, int | None] | None = None, headers: _Headers = None,
        progress_callback: Callable[[int, int | None], None] | None = None, process: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> GetObjectResult: ...
    def object_exists(self, key: str, headers: _Headers = None) -> bool: ...
    def init_multipart_upload(
        self, key: str, headers: _Headers = None, params: Mapping[str, str] | None = None,
    ) -> InitMultipartUploadResult: ...
    def upload_part(
        self, key: str, upload_id: str, part_number: int, data: Any,
        progress_callback: Callable[[int, int | None], None] | None = None, headers: _Headers = None,
    ) -> PutObjectResult: ...
    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[PartInfo] | None, headers: _Headers = None,
    ) -> PutObjectResult: ...
    def abort_multipart_upload(self, key: str, upload_id: str, headers: _Headers = None) -> RequestResult: ...
