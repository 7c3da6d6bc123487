"""The layout is the architecture: these rules are read from the imports themselves (ast), lazy ones included.

core imports nothing above it; cache imports core; the magic kit and views import core, cache and views;
each capability imports core, cache, the kit, views and itself, never another capability; the offline
server imports only facts from core; and no two modules import each other, directly or around a loop.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "openai_magics"
ROOT = "openai_magics"
SHARED = {"core", "cache", "magics", "views"}
# What the offline server may know of the client: facts (models, data files, where encodings are), and how to
# import jsonschema without its slow IRI checker.
OFFLINE_MAY_USE = {"openai_magics.core.models", "openai_magics.core.data", "openai_magics.core.tokens:get_encoding",
                   "openai_magics.core.sdk:jsonschema_module"}


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the package modules it imports (as "module" or "module:name" for `from module import name`)."""
    graph: dict[str, set[str]] = {}
    root = package.name
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == root}
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, is_package)
                if base.split(".")[0] != root:
                    continue
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    is_module = (package.parent / target.replace(".", "/")).with_suffix(".py").exists() or \
                        (package.parent / target.replace(".", "/")).is_dir()
                    found.add(target if is_module else f"{base}:{alias.name}")
        graph[name] = found
    return graph


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def layer(module: str, package: Path = PACKAGE) -> str:
    """The top folder a module lives in; "" for the composition root (the package's own files)."""
    parts = module.split(":")[0].split(".")
    return parts[1] if len(parts) > 1 and (package / parts[1]).is_dir() else ""


def broken_rules(graph: dict[str, set[str]], package: Path = PACKAGE) -> list[str]:
    problems = []
    capabilities = {layer(m, package) for m in graph} - SHARED - {"offline", ""}
    allowed = {"core": {"core"}, "cache": {"core", "cache"}, "views": {"core", "cache", "views"},
               "magics": {"core", "cache", "magics", "views"}}
    for module, targets in graph.items():
        here = layer(module, package)
        for target in targets:
            there = layer(target, package)
            if here == "":
                continue
            if here == "offline":
                if there != "offline" and not (target in OFFLINE_MAY_USE or target.split(":")[0] in OFFLINE_MAY_USE):
                    problems.append(f"{module} imports {target}: the offline server uses only facts from core")
            elif here in allowed:
                if there not in allowed[here]:
                    problems.append(f"{module} imports {target}: {here} must not depend on {there or 'the root'}")
            elif here in capabilities and there not in SHARED | {here}:
                problems.append(f"{module} imports {target}: capabilities never import each other")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import loops between modules (a package's __init__ counts as its own module)."""
    edges = {m: {t.split(":")[0] for t in ts if t.split(":")[0] in graph and t.split(":")[0] != m}
             for m, ts in graph.items()}
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_package_keeps_its_layers():
    problems = broken_rules(imports())
    assert not problems, "\n".join(problems)


def test_no_module_imports_itself_around_a_loop():
    loops = cycles(imports())
    assert not loops, "\n".join(" -> ".join(loop) for loop in loops)


def test_every_capability_is_a_package_beside_the_shared_layers():
    graph = imports()
    assert {"core", "cache", "magics", "views", "offline", "chat", "embed"} <= {layer(m) for m in graph}


@pytest.fixture
def tree(tmp_path):
    """A small package to break on purpose: the checks must see what they are for."""
    package = tmp_path / "openai_magics"
    for folder in ("core", "chat", "embed", "offline"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "core" / "models.py").write_text("X = 1\n")
    (package / "core" / "tokens.py").write_text("def get_encoding(m): ...\ndef count_text(t, m): ...\n")
    return package


def test_the_rules_fail_on_an_upward_import(tree):
    (tree / "core" / "session.py").write_text("from openai_magics.chat import engine\n")
    (tree / "chat" / "engine.py").write_text("from openai_magics.core import models\n")
    assert broken_rules(imports(tree), tree) == [
        "openai_magics.core.session imports openai_magics.chat.engine: core must not depend on chat"]


def test_the_rules_fail_when_capabilities_or_the_server_reach_too_far(tree):
    (tree / "chat" / "engine.py").write_text("from openai_magics.embed.engine import run\n")
    (tree / "embed" / "engine.py").write_text("def run(): ...\n")
    (tree / "offline" / "server.py").write_text(
        "from openai_magics.core.tokens import get_encoding\nfrom openai_magics.core.tokens import count_text\n")
    problems = broken_rules(imports(tree), tree)
    assert any("capabilities never import each other" in p for p in problems)
    assert any("offline.server imports openai_magics.core.tokens:count_text" in p for p in problems)
    assert not any("get_encoding" in p for p in problems)


def test_a_cycle_is_found_even_through_a_lazy_import(tree):
    (tree / "chat" / "engine.py").write_text("def run():\n    from openai_magics.chat import tools\n")
    (tree / "chat" / "tools.py").write_text("from openai_magics.chat.engine import run\n")
    assert cycles(imports(tree)) == [["openai_magics.chat.engine", "openai_magics.chat.tools",
                                      "openai_magics.chat.engine"]]
