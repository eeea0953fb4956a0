"""The state store stays pure: no trio, no clock, no randomness, no IO modules."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import actors.state

FORBIDDEN = {"trio", "time", "random", "uuid", "os", "socket", "datetime", "secrets", "threading", "asyncio"}


def test_no_forbidden_imports():
    package = pathlib.Path(actors.state.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            assert not FORBIDDEN.intersection(names), f"{path.name} imports {names}"


def test_imports_with_trio_blocked():
    code = "import sys; sys.modules['trio'] = None; import actors.state, actors.state.snapshot, actors.state.txn"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(actors.state.__file__).parents[2])
