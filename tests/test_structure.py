"""The layout is the architecture (../shared/STYLE.md): no import cycles, and each package imports only the
layers below it. Read from the source with `ast`, so a cycle that would only show in some import order is
found too."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from midway.settings import PROJECT_ROOT

PACKAGES = ("midway", "engines", "ops", "worker", "bot", "playground", "cli")
# What each package may import of ours, at any level (module, function or TYPE_CHECKING). The contract sits
# at the bottom; the bot never reaches the engines (its image has no torch, numpy or engines code); only
# the command line sees everything.
ALLOWED: dict[str, set[str]] = {
    "midway": set(),
    "engines": {"midway"},
    "ops": {"midway"},
    "worker": {"midway", "engines", "ops"},
    "bot": {"midway", "ops"},
    "playground": {"midway"},
    "cli": set(PACKAGES),
}


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    module_level: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """Every import of one of our modules in `path`: `from a.b import c` names a.b.c when that is a module,
    else a.b. TYPE_CHECKING blocks count for the layers, never as a run-time edge."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def ours(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def visit(nodes: list[ast.stmt], module_level: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and is_type_checking(node):
                visit(node.body, False)
                visit(node.orelse, module_level)
            elif isinstance(node, ast.Import):
                targets = [ours(alias.name) for alias in node.names]
                found.extend(Import(name, t, node.lineno, module_level) for t in targets if t)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                for alias in node.names:
                    target = ours(f"{base}.{alias.name}") if f"{base}.{alias.name}" in known else ours(base)
                    if target:
                        found.append(Import(name, target, node.lineno, module_level))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node.body, False)
            elif isinstance(node, ast.ClassDef | ast.With | ast.Try | ast.If | ast.For | ast.While):
                visit(node.body, module_level)
                visit(getattr(node, "orelse", []), module_level)
                visit(getattr(node, "finalbody", []), module_level)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, module_level)

    visit(ast.parse(path.read_text(encoding="utf-8")).body, True)
    return [found_import for found_import in found if found_import.target != name]


def all_imports() -> list[Import]:
    known = modules()
    return [found for name, path in known.items() for found in imports_of(name, path, known)]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in sorted(edges.get(node, ())):
            if neighbour not in index:
                connect(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
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

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles_at_module_level() -> None:
    edges: dict[str, set[str]] = {}
    for found in all_imports():
        if found.module_level:
            edges.setdefault(found.importer, set()).add(found.target)
    assert cycles(edges) == []


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = [f"{PROJECT_ROOT.name}/{modules()[found.importer].relative_to(PROJECT_ROOT)}:{found.line} "
             f"imports {found.target}"
             for found in all_imports()
             if (found.target.split(".")[0] != found.importer.split(".")[0]
                 and found.target.split(".")[0] not in ALLOWED[found.importer.split(".")[0]])]
    assert wrong == []


def test_the_checker_sees_a_cycle_and_a_layer_break(tmp_path: Path) -> None:
    # The two tests above pass on an empty graph too; this one shows they would fail on a real defect.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    known = modules()
    imports = imports_of("bot.app", known["bot.app"], known)
    assert any(found.target == "bot.store" and found.module_level for found in imports)
    fake = tmp_path / "probe.py"
    fake.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engines.base import Engine\n"
                    "def later():\n    from worker.main import build_worker\n", encoding="utf-8")
    probed = imports_of("bot.probe", fake, known)
    assert {(found.target, found.module_level) for found in probed} == {("engines.base", False),
                                                                      ("worker.main", False)}
