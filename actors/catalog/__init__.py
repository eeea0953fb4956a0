"""Anti-entropy: keeping the catalog's view of this node equal to the agent's local state.

Modules: ``diff`` (the pure plan), ``ops`` (the operations and the state-store commands they become),
``desired`` (both sides of the comparison), ``timing`` (Consul's intervals and stagger), ``tokens``
(which ACL token a client agent's sync calls carry) and ``syncer`` (the ``catalog.sync`` actor).

What must never live here: changes to the local state; the agent is the authority and this package only
ever writes to the catalog.
"""
