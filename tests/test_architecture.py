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


BROKEN = {
    "an upward import, even a lazy one": (
        {"core/session.py": "def f():\n    from openai_magics.chat import engine\n", "chat/engine.py": "X = 1\n"},
        "openai_magics.core.session -> openai_magics.chat.engine"),
    "two capabilities importing each other": (
        {"chat/engine.py": "from openai_magics.embed.engine import run\n", "embed/engine.py": "def run(): ...\n"},
        "openai_magics.chat.engine -> openai_magics.embed.engine"),
    "a service reaching up to a capability that uses it": (
        {"batch/engine.py": "from openai_magics.chat.rows import X\n", "chat/rows.py": "X = 1\n"},
        "openai_magics.batch.engine -> openai_magics.chat.rows"),
    "the offline server reaching for client code": (
        {"offline/server.py": "from openai_magics.core.session import X\n"},
        "openai_magics.offline.server -> openai_magics.core.session"),
    "the session reaching up to the wire it is given": (
        {"core/session.py": "from openai_magics.wire.http import X\n", "wire/http.py": "X = 1\n"},
        "openai_magics.core.session -> openai_magics.wire.http"),
    "the wire reaching up to metering": (
        {"wire/http.py": "from openai_magics.metering.ledger import X\n", "metering/ledger.py": "X = 1\n"},
        "openai_magics.wire.http -> openai_magics.metering.ledger"),
    "a cycle through a lazy import": (
        {"chat/engine.py": "def run():\n    from openai_magics.chat import tools\n",
         "chat/tools.py": "from openai_magics.chat.engine import run\n"},
        "No cycles are allowed in openai_magics.chat"),
}


@pytest.mark.parametrize("files, reported", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_rule_fails_the_contracts(tree, files, reported):
    for path, text in files.items():
        (tree / path).write_text(text)
    ran = lint_imports(tree.parent)
    assert ran.returncode == 1
    assert reported in " ".join(ran.stdout.split())
