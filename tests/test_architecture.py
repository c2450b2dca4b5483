"""The layout is the architecture: imports flow one way, and the edges stay at the edge.

cli -> runner -> job, runner -> (parallel, checkpoint, prefixtotals, output, summary), job -> (sharding, connect, filters),
(parallel, sharding) -> keymodel -> ranges -> listing -> pages,
connect -> (client, sources) -> (rrsa, credentials) -> metadata -> (errors, backoff),
job -> osstarget -> (ossout, ossurl), (ossout, osscat) -> ossobjects -> client, ossurl -> errors;
api (the Python API) -> (runner, connect, records) and records -> pages. The emulator
imports nothing of the client side, the client side never imports the emulator (only cli and demo
bring both together), and only cli imports click or tqdm or calls sys.exit.

Imports under ``if TYPE_CHECKING:`` are for annotations only (they never run): they may name a
module of any layer, so a seam can say its type instead of ``Any``, as long as they close no
cycle -- the module they name must not import, by any chain, the one importing it.
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
    "clock": 1,
    "metadata": 1,
    "credentials": 2,
    "rrsa": 3,
    "sources": 4,
    "client": 3,
    "ossurl": 1,
    "ossobjects": 4,
    "ossout": 5,
    "osscat": 5,
    "osstarget": 6,
    "pages": 3,
    "versionpages": 4,
    "filters": 4,
    "output": 4,
    "listing": 4,
    "versions": 5,
    "uploads": 6,
    "ranges": 5,
    "keymodel": 6,
    "summary": 5,
    "prefixtotals": 5,
    "records": 4,
    "connect": 5,
    "reports": 6,
    "diff": 6,
    "inventory": 7,
    "inventorystores": 6,
    "durable": 1,
    "sharding": 7,
    "parallel": 7,
    "checkpoint": 7,
    "feed": 8,
    "job": 8,
    "runner": 9,
    "demo": 10,
    "ossresume": 11,
    "inventoryresume": 11,
    "checkpointstore": 10,
    "api": 10,
    "cli": 12,
}


def _modules() -> dict[str, Path]:
    return {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def _names(nodes: list[ast.AST]) -> set[str]:
    """Every absolute module name the import statements under ``nodes`` import (``from osslist
    import x`` counts as osslist.x)."""
    names: set[str] = set()
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _split_imports(path: Path) -> tuple[set[str], set[str]]:
    """(imports that run, imports under a module-level ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = [n for n in tree.body if _is_type_checking(n)]
    running = [n for n in tree.body if not _is_type_checking(n)]
    return _names(running), _names(typing_only)


def _imports(path: Path) -> set[str]:
    """The imports of a file that run (type-only imports excluded)."""
    return _split_imports(path)[0]


def _graph() -> dict[str, set[str]]:
    """Our module -> the modules of ours it imports, at run time or for types."""
    graph: dict[str, set[str]] = {}
    for module, path in _modules().items():
        running, typing_only = _split_imports(path)
        graph[module] = {t for t in map(_own, running | typing_only) if t in LAYERS and t != module}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


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


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_type_only_imports_close_no_cycle(module: str) -> None:
    graph = _graph()
    for name in _split_imports(_modules()[module])[1]:
        target = _own(name)
        if target in LAYERS and target != module:
            assert not _reaches(graph, target, module), f"{module} imports {name} for types: a cycle"


def test_guard_catches_a_type_only_cycle() -> None:
    """The check itself: a type-only import of a module that imports us back is a cycle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": set()}  # a imports b, b imports c
    assert not _reaches(graph, "c", "a")  # so a may import c for types: no cycle
    assert _reaches(graph, "a", "c")  # but c may not import a for types: a reaches c


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


# --- the middle floor stays readable -------------------------------------------------------------

PIPELINE = ("runner", "feed", "parallel", "sharding")
TYPED_SEAMS = ("runner", "feed", "parallel", "checkpoint", "job")


def _functions(module: str) -> list[ast.FunctionDef]:
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]  # type: ignore[misc]


@pytest.mark.parametrize("module", PIPELINE)
def test_pipeline_functions_fit_on_a_screen(module: str) -> None:
    long = [f"{f.name} ({f.end_lineno - f.lineno + 1} lines)" for f in _functions(module)
            if f.end_lineno is not None and f.end_lineno - f.lineno + 1 > 40]
    assert not long, f"{module}: functions over 40 lines: {long}"


def _mentions_any(node: ast.AST | None) -> bool:
    return node is not None and any(isinstance(n, ast.Name) and n.id == "Any" for n in ast.walk(node)) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str) and "Any" in node.value
    )


@pytest.mark.parametrize("module", TYPED_SEAMS)
def test_any_in_a_signature_says_why(module: str) -> None:
    """``Any`` at a seam hides the type a reader needs; where it stays, a comment on the
    signature's lines says why (``# Any: ...``)."""
    lines = _modules()[module].read_text(encoding="utf-8").splitlines()
    for func in _functions(module):
        args = func.args.posonlyargs + func.args.args + func.args.kwonlyargs + [func.args.vararg, func.args.kwarg]
        annotations = [a.annotation for a in args if a is not None] + [func.returns]
        if any(_mentions_any(a) for a in annotations):
            header = "\n".join(lines[func.lineno - 1 : func.body[0].lineno - 1])
            assert "# Any:" in header, f"{module}.{func.name} has Any in its signature without a reason"
