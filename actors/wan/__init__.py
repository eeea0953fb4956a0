"""Requests for another datacenter: the WAN forwarder on each server (Consul's ``?dc=`` routing).

What lives here: the circuit breaker and the server choice (`breaker`), one remote datacenter's link
(`link`: pooled connections, breaker, statistics, the forward itself), and the `wan` subtree with the
router hook that sends ``?dc=<other>`` API requests there (`router`).

What must never live here: endpoint logic, gossip behaviour, or the server side of the "http" protocol
(``actors/forward/server.py`` answers forwarded calls, whichever datacenter they came from).
"""
