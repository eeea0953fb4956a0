"""Run every ``testdata/*.txt`` transcript and compare it with the recorded expected output.

Set ``RAFT_REWRITE=1`` to record the actual output instead (then read the diff before committing).
"""

from __future__ import annotations

import os
import pathlib

import pytest

from .interaction import run_script

TESTDATA = pathlib.Path(__file__).parent / "testdata"
SCRIPTS = sorted(TESTDATA.glob("*.txt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_transcript(path: pathlib.Path) -> None:
    expected = path.read_text()
    actual = run_script(expected)
    if os.environ.get("RAFT_REWRITE"):
        path.write_text(actual)
        return
    assert actual == expected, f"{path.name} changed; rerun with RAFT_REWRITE=1 and review the diff"
