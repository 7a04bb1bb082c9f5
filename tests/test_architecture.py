"""The shape of the house: no import circles (late imports inside functions count), no oversized source files,
planet_engine free of Django (tests/planet_engine/test_no_django.py checks the imports at run time)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gameserver", "planet_engine", "bench")
MAX_LINES = 400
# Generated or vendored files, not written by hand.
NOT_HAND_WRITTEN = ("frontend/static/vendor/", "frontend/package-lock.json", "/migrations/")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every project module `path` imports, at any depth of the file (a late import hiding a circle is a
    circle); `from package import name` counts `package.name` when that is a module, else `package`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    this = _module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = this.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != this:
                found.add(name)
    return found


def _import_graph() -> dict[str, set[str]]:
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
             if "migrations" not in path.parts]
    modules = {_module_name(path) for path in files}
    return {_module_name(path): _imports(path, modules) for path in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
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


def test_the_cycle_finder_finds_a_circle_through_a_late_import(tmp_path: Path) -> None:
    graph = {"a.services": {"a.tasks"}, "a.tasks": {"b.services"}, "b.services": {"a.services"}, "c": {"a.tasks"}}
    assert _cycles(graph) == [["a.services", "a.tasks", "b.services"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_project() -> None:
    cycles = _cycles(_import_graph())
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(cycle) for cycle in cycles)


def _hand_written_sources() -> list[str]:
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    return [name for name in tracked if name.endswith((".py", ".js", ".css", ".html"))
            and not any(part in name for part in NOT_HAND_WRITTEN)]


def test_no_source_file_is_over_400_lines() -> None:
    sources = _hand_written_sources()
    assert len(sources) > 50
    long = {name: n for name in sources if (n := len((ROOT / name).read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by concern (over {MAX_LINES} lines): {long}"
