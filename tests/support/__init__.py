"""Helpers shared by tests: a tiny HTTP/1.1 client on Trio (h11) and agent fixtures."""
