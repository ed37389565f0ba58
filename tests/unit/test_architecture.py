"""The layering rules of docs/ARCHITECTURE.md, checked on the source itself.

Imports are read from the syntax tree, so an import inside a function counts as much as one at
the top of a module: a cycle hidden in a function body is still a cycle.
"""

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "papertrade"
MAX_FUNCTION_LINES = 40


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
    }


def _imports(name: str, tree: ast.Module) -> set[str]:
    """Every papertrade module `name` imports, anywhere in its body (TYPE_CHECKING blocks aside)."""
    found: set[str] = set()
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            node.body = []  # annotations only: no import at run time
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in _modules() and module != name}


def _is_package(name: str) -> bool:
    return (SRC / name.replace(".", "/") / "__init__.py").exists()


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, tree) for name, tree in _modules().items()}


def _third_party(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _with_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first: count those edges too."""
    full = {name: set(targets) for name, targets in graph.items()}
    for name, targets in graph.items():
        for target in targets:
            parts = target.split(".")
            full[name].update(
                parent for i in range(1, len(parts)) if (parent := ".".join(parts[:i])) in graph and parent != name
            )
    return full


def test_no_module_takes_part_in_an_import_cycle():
    assert _cycles(_with_parents(_graph())) == []


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("papertrade.adapters", ("papertrade.services", "papertrade.views", "papertrade.web", "papertrade.cli")),
        ("papertrade.reports", ("papertrade.adapters", "papertrade.services", "papertrade.views", "papertrade.cli")),
        (
            "papertrade.domain",
            ("papertrade.adapters", "papertrade.services", "papertrade.cli", "papertrade.strategies"),
        ),
        ("papertrade.services", ("papertrade.views", "papertrade.web", "papertrade.cli")),
        ("papertrade.views", ("papertrade.web", "papertrade.cli")),
        ("papertrade.web", ("papertrade.cli",)),
        ("papertrade.strategies", ("papertrade.adapters", "papertrade.services", "papertrade.cli")),
    ],
)
def test_layers_import_only_downwards(layer, forbidden):
    offending = {
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name.startswith(layer)
        for target in targets
        if target.startswith(forbidden)
    }
    assert offending == set()


def test_services_reach_the_database_only_through_ports():
    """Services name the unit of work and repositories by the protocols they own, never SQLAlchemy's."""
    offending = {
        f"{name} imports {library}"
        for name, tree in _modules().items()
        if name.startswith("papertrade.services")
        for library in _third_party(tree) & {"sqlalchemy", "ccxt"}
    }
    offending |= {
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name.startswith("papertrade.services")
        for target in targets
        if target.startswith(("papertrade.adapters.unit_of_work", "papertrade.adapters.repositories"))
    }
    assert offending == set()


def test_the_domain_imports_nothing_but_the_standard_library():
    third_party = {"sqlalchemy", "ccxt", "pandas", "numpy", "typer", "pydantic", "pydantic_settings", "alembic"}
    offending = {
        f"{name} imports {library}"
        for name, tree in _modules().items()
        if name.startswith("papertrade.domain")
        for library in _third_party(tree) & third_party
    }
    assert offending == set()


def test_no_cli_module_imports_pandas_or_numpy():
    offending = {
        name
        for name, tree in _modules().items()
        if name.startswith("papertrade.cli") and _third_party(tree) & {"pandas", "numpy"}
    }
    assert offending == set()


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's body, its docstring left out (a command's parameter list is not body)."""
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1


def test_no_function_is_longer_than_forty_lines():
    too_long = {
        f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({_function_lines(node)} lines)"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _function_lines(node) > MAX_FUNCTION_LINES
    }
    assert too_long == set()
