"""Tests of the Consul HTTP API over the state store (KV, txn, sessions, catalog, health, operator)."""
