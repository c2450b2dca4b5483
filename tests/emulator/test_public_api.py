"""The emulator's public surface, and the one-way import rule."""

from __future__ import annotations

import ast
import pathlib
import sys

import osslist.emulator as emulator_pkg

def test_all_is_sorted_and_exact() -> None:
    assert emulator_pkg.__all__ == sorted(emulator_pkg.__all__, key=lambda n: (not n.isupper(), n))
    assert set(emulator_pkg.__all__) == {
        "Emulator", "EmulatorConfig", "FakeClock", "Faults", "IssuedCredentials", "OBJECT_TYPES",
        "ObjectInfo", "RequestRecord", "STORAGE_CLASSES", "Archive", "VersionEntry",
    }
    for name in emulator_pkg.__all__:
        assert hasattr(emulator_pkg, name)


def test_emulator_imports_only_the_standard_library_and_itself() -> None:
    package_dir = pathlib.Path(emulator_pkg.__file__).parent
    for path in package_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                allowed = name.startswith("osslist.emulator") or name.split(".")[0] in sys.stdlib_module_names
                assert allowed, f"{path.name} imports {name}"
