"""Forwarding HTTP API requests from an agent without state (a client) to a server that has it."""
