"""Tests of runtime/transport: real sockets on 127.0.0.1, real clock, every wait bounded by trio.fail_after.

What must never live here: tests that need other hosts, root, or fixed well-known ports.
"""
