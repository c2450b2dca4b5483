from oss2.credentials import CredentialsProvider
from oss2.http import Request

class AuthBase:
    credentials_provider: CredentialsProvider
    def __init__(self, credentials_provider: CredentialsProvider) -> None: ...

class ProviderAuth(AuthBase):
    def _sign_request(self, req: Request, bucket_name: str, key: str) -> None: ...

class ProviderAuthV4(AuthBase):
    def _sign_request(self, req: Request, bucket_name: str, key: str, in_additional_headers: object = None) -> None: ...
