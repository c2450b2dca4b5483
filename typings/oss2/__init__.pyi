# The part of oss2 (2.19.x, which ships no hints) that osslist calls, typed for `mypy --strict`
# over osslist/ (tests/test_typing.py). Checked against the installed oss2 by mypy's stubtest
# in the same test, so a hint here cannot drift from what oss2 really takes and returns.
from oss2 import credentials as credentials
from oss2 import exceptions as exceptions
from oss2 import headers as headers
from oss2 import http as http
from oss2 import models as models
from oss2 import utils as utils
from oss2.api import Bucket as Bucket
from oss2.auth import AuthBase as AuthBase
from oss2.auth import ProviderAuth as ProviderAuth
from oss2.auth import ProviderAuthV4 as ProviderAuthV4
from oss2.http import Session as Session
from oss2.iterators import MultipartUploadIterator as MultipartUploadIterator
from oss2.iterators import PartIterator as PartIterator
