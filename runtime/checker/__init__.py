"""A linearizability checker for histories recorded by the KV register workload.

What lives here: the public surface, re-exported from its modules:

* `History`, `Op`, `UNKNOWN`, `HistoryRecorder` (history.py): what a workload records;
* `Model`, `BaseModel`, `RegisterModel`, `KVModel` (model.py): sequential specifications;
* `check(history, model, timeout=, max_steps=) -> CheckResult` (search.py): the Wing & Gong / Lowe
  search with memoization, partitioned by key, bounded, with "unknown" when out of budget;
* `format_ops`, `explain_failure` (report.py): the failing-window tables.

Used by the test suite and the scenario runner. It is pure, synchronous Python.

What must never live here: trio, networking, clocks, or any import of ``actors``.
"""

from .history import UNKNOWN, History, HistoryError, HistoryRecorder, Op
from .model import BaseModel, KVModel, Model, RegisterModel
from .report import explain_failure, format_ops
from .search import CheckResult, PartitionResult, check

check_linearizability = check

__all__ = [
    "UNKNOWN",
    "BaseModel",
    "CheckResult",
    "History",
    "HistoryError",
    "HistoryRecorder",
    "KVModel",
    "Model",
    "Op",
    "PartitionResult",
    "RegisterModel",
    "check",
    "check_linearizability",
    "explain_failure",
    "format_ops",
]
