from typing import Any, Iterator

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

class Session:
    session: requests.Session
    def __init__(self, pool_size: int | None = None, adapter: requests.adapters.BaseAdapter | None = None) -> None: ...
    def do_request(self, req: Request, timeout: float) -> Response: ...

class Request:
    method: str
    url: str
    params: dict[str, str]
    headers: CaseInsensitiveDict[str]
    region: str | None
    # Any: data is bytes, str or a readable object
    def __init__(
        self, method: str, url: str, data: Any = None, params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None, app_name: str = "", proxies: dict[str, str] | None = None,
        region: str | None = None, product: str | None = None, cloudbox_id: str | None = None,
    ) -> None: ...

class Response:
    response: requests.Response
    status: int
    headers: CaseInsensitiveDict[str]
    request_id: str
    def __init__(self, response: requests.Response) -> None: ...
    def read(self, amt: int | None = None) -> bytes: ...
    def __iter__(self) -> Iterator[bytes]: ...
