"""The layout is the architecture: imports flow one way, and the edges stay at the edge.

cli -> runner -> job, runner -> (parallel, checkpoint, du, output, summary), job -> (shardplan, filters),
(parallel, shardplan) -> planning -> (ranges, listing) -> pages,
job -> (client, sources) -> (rrsa, credentials) -> metadata -> (errors, backoff). The emulator
imports nothing of the client side, the client side never imports the emulator (only cli and demo
bring both together), and only cli imports click or tqdm or calls sys.exit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "osslist"

# A module may import only modules of a lower layer (or its own). Lower number = lower layer.
LAYERS = {
    "errors": 0,
    "errortext": 1,
    "backoff": 0,
    "metadata": 1,
    "credentials": 2,
    "rrsa": 3,
    "sources": 4,
    "client": 3,
    "pages": 3,
    "filters": 4,
    "output": 4,
    "listing": 4,
    "ranges": 4,
    "planning": 5,
    "shardplan": 6,
    "summary": 5,
    "du": 5,
    "parallel": 6,
    "checkpoint": 6,
    "job": 7,
    "runner": 8,
    "demo": 9,
    "cli": 10,
}


def _modules() -> dict[str, Path]:
    return {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def _imports(path: Path) -> set[str]:
    """Every absolute module name a file imports (``from osslist import x`` counts as osslist.x)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _own(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "osslist" and len(parts) > 1 else None


def test_every_module_has_a_layer() -> None:
    assert set(_modules()) == set(LAYERS), "add the new module to LAYERS"


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_flow_one_way(module: str) -> None:
    path = _modules()[module]
    for name in _imports(path):
        target = _own(name)
        if target is None or target == "emulator" or target not in LAYERS:
            continue
        assert LAYERS[target] < LAYERS[module] or target == module, f"{module} imports {name}"


@pytest.mark.parametrize("module", sorted(set(LAYERS) - {"cli", "demo"}))
def test_client_side_never_imports_the_emulator(module: str) -> None:
    assert not any(n.startswith("osslist.emulator") for n in _imports(_modules()[module]))


def test_emulator_imports_nothing_of_the_client_side() -> None:
    for path in (PACKAGE / "emulator").glob("*.py"):
        for name in _imports(path):
            assert not (name.startswith("osslist.") and not name.startswith("osslist.emulator")), (
                f"{path.name} imports {name}"
            )


@pytest.mark.parametrize("module", sorted(set(LAYERS) - {"cli"}))
def test_only_the_cli_imports_click_or_tqdm_or_exits(module: str) -> None:
    path = _modules()[module]
    imported = {n.split(".")[0] for n in _imports(path)}
    assert not imported & {"click", "tqdm"}, module
    assert "sys.exit(" not in path.read_text(encoding="utf-8"), module


def test_guard_catches_an_upward_import(tmp_path: Path) -> None:
    """The check itself: a metadata module importing the client is caught."""
    bad = tmp_path / "metadata.py"
    bad.write_text("from osslist.client import BucketClient\n", encoding="utf-8")
    names = _imports(bad)
    assert any(LAYERS[_own(n)] > LAYERS["metadata"] for n in names if _own(n) in LAYERS)
