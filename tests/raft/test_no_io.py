"""The Raft package stays sans-IO: no trio, sockets, threads, clocks or global randomness."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import actors.raft

PACKAGE = pathlib.Path(actors.raft.__file__).parent
# The Trio shell around the core: these modules may do IO; every other module of the package is pure.
SHELL = {"node.py", "backend.py", "subsystem.py", "leader_duties.py", "shared.py", "rpc.py"}
PURE = sorted(p for p in PACKAGE.glob("*.py") if p.name not in SHELL)
FORBIDDEN_IMPORTS = {"trio", "socket", "threading", "asyncio", "time", "os", "select", "selectors", "logging"}


def test_pure_modules_import_nothing_that_does_io() -> None:
    assert PURE, "no modules found"
    for path in PURE:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            bad = FORBIDDEN_IMPORTS.intersection(names)
            assert not bad, f"{path.name} imports {bad}"


def test_no_global_random_calls() -> None:
    for path in PURE:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "random":
                assert node.attr == "Random", f"{path.name} uses random.{node.attr}; use the injected rng"
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                names = {alias.name for alias in node.names}
                assert names == {"Random"}, f"{path.name} imports {sorted(names)} from random; only the Random type"


def test_every_module_opens_with_a_docstring() -> None:
    for path in PURE:
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and "must never live here" in doc, f"{path.name} lacks its what-lives-here docstring"
    core_doc = ast.get_docstring(ast.parse((PACKAGE / "core.py").read_text()))
    assert core_doc is not None and "Theory of operation" in core_doc


def test_imports_with_trio_blocked() -> None:
    code = (
        "import sys\n"
        "for name in ('trio', 'socket', 'threading'):\n"
        "    sys.modules[name] = None\n"
        "import actors.raft, actors.raft.core, actors.raft.storage, actors.raft.log\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
