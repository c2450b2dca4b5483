"""osslist.emulator: a loopback Alibaba Cloud (instance metadata server, STS, OSS listing,
objects and multipart uploads, versions).

Standard library only, and it imports nothing of osslist's client side: tests, the demo and
the benchmark run the real client against it. See ``Emulator`` for the surface.
"""

from osslist.emulator.config import EmulatorConfig, FakeClock
from osslist.emulator.credentials import IssuedCredentials
from osslist.emulator.emulator import Emulator
from osslist.emulator.faults import Faults
from osslist.emulator.server import RequestRecord
from osslist.emulator.state import OBJECT_TYPES, STORAGE_CLASSES, ObjectInfo
from osslist.emulator.versions import Archive, VersionEntry

__all__ = [
    "OBJECT_TYPES",
    "STORAGE_CLASSES",
    "Archive",
    "Emulator",
    "EmulatorConfig",
    "FakeClock",
    "Faults",
    "IssuedCredentials",
    "ObjectInfo",
    "RequestRecord",
    "VersionEntry",
]
