"""Tests of the filter= expression language (actors/api/filter)."""
