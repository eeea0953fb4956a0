"""Fuzz tests: every decoder fed arbitrary and mutated input (see fuzzkit.py for budgets)."""
