"""Tests of the linearizability checker (runtime/checker)."""
