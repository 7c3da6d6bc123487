"""The layout is the architecture: import-linter's contracts in pyproject.toml, run as CI runs them.

Each layer imports only the layers below it (core ← wire ← facts ← metering ← cache ← views ← the magic kit
← the services batch, moderation and stores ← the capabilities ← evals and fix), the capabilities of one tier never import each
other, the offline server uses only facts (and jsonschema's import from the wire), and no two packages or
modules import each other around a loop. Lazy imports inside functions count like any other. The contracts are
also run against a small package broken on purpose, so a rule that stopped seeing anything would fail here.
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "openai_magics"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on `project`'s pyproject.toml, with `project` first on the import path."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=project, capture_output=True, text=True,
                          env={"PATH": "", "PYTHONPATH": str(project)}, timeout=120)


def test_the_package_keeps_its_contracts():
    ran = lint_imports(ROOT)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Contracts: 3 kept, 0 broken." in ran.stdout


# What the offline server may take from the client modules it may import at all (import-linter sees modules,
# not names): where the encodings are and their ranks (it counts tokens its own way), and jsonschema without its
# slow IRI checker.
OFFLINE_MAY_TAKE = {"openai_magics.facts.tokens": ["built_encoding", "encoding_name", "get_encoding", "parsed_encoding"],
                    "openai_magics.wire.sdk": ["jsonschema_module"]}


def test_the_offline_server_takes_only_facts_from_the_client_modules_it_imports():
    for path in (PACKAGE / "offline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in OFFLINE_MAY_TAKE:
                assert [a.name for a in node.names] == OFFLINE_MAY_TAKE[node.module], f"{path}: {ast.unparse(node)}"
            if isinstance(node, ast.Import):
                assert not {a.name for a in node.names} & set(OFFLINE_MAY_TAKE), path


@pytest.fixture
def tree(tmp_path):
    """The package's folders, empty, under the same contracts: a copy to break on purpose."""
    package = tmp_path / "openai_magics"
    for folder in [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()] + [PACKAGE]:
        (package / folder.relative_to(PACKAGE)).mkdir(parents=True, exist_ok=True)
        (package / folder.relative_to(PACKAGE) / "__init__.py").write_text("")
    for name in ("models", "data"):
        (package / "facts" / f"{name}.py").write_text("X = 1\n")
    (package / "core" / "session.py").write_text("X = 1\n")
    (package / "facts" / "tokens.py").write_text("def get_encoding(model): ...\n")
    (package / "wire" / "sdk.py").write_text("def jsonschema_module(): ...\n")
    (package / "offline" / "facts.py").write_text(
        "from openai_magics.facts import data, models\nfrom openai_magics.facts.tokens import get_encoding\n"
        "from openai_magics.wire.sdk import jsonschema_module\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert "[tool.importlinter]" in (tmp_path / "pyproject.toml").read_text()
    return package


def test_the_copy_keeps_the_contracts_until_broken(tree):
    (tree / "chat" / "engine.py").write_text("from openai_magics.facts import models\nfrom openai_magics import batch\n")
    (tree / "evals" / "engine.py").write_text("from openai_magics.chat import engine\nfrom openai_magics import embed\n")
    ran = lint_imports(tree.parent)
    assert ran.returncode == 0, ran.stdout + ran.stderr


# Rules broken on purpose: (the importing module, the module it imports, whether the import is inside a function).
BROKEN = [
    pytest.param("core.session", "chat.engine", True, id="an upward import, even a lazy one"),
    pytest.param("chat.engine", "embed.engine", False, id="two capabilities importing each other"),
    pytest.param("batch.engine", "chat.rows", False, id="a service reaching up to a capability that uses it"),
    pytest.param("offline.server", "core.session", False, id="the offline server reaching for client code"),
    pytest.param("core.session", "wire.http", False, id="the session reaching up to the wire it is given"),
    pytest.param("wire.http", "metering.ledger", False, id="the wire reaching up to metering"),
]


def write_module(tree: Path, module: str, text: str) -> None:
    (tree / module.replace(".", "/")).with_suffix(".py").write_text(text)


@pytest.mark.parametrize("importer, imported, lazy", BROKEN)
def test_a_broken_rule_fails_the_contracts(tree, importer, imported, lazy):
    write_module(tree, imported, "X = 1\n")
    statement = f"from openai_magics.{imported} import X\n"
    write_module(tree, importer, f"def f():\n    {statement}" if lazy else statement)
    ran = lint_imports(tree.parent)
    assert ran.returncode == 1
    assert f"openai_magics.{importer} -> openai_magics.{imported}" in " ".join(ran.stdout.split())


def test_a_cycle_through_a_lazy_import_fails_the_contracts(tree):
    write_module(tree, "chat.engine", "def run():\n    from openai_magics.chat import tools\n")
    write_module(tree, "chat.tools", "from openai_magics.chat.engine import run\n")
    ran = lint_imports(tree.parent)
    assert ran.returncode == 1
    assert "No cycles are allowed in openai_magics.chat" in " ".join(ran.stdout.split())
