"""The agent's local state: the services and checks registered with this agent, their status, on disk.

Modules: ``records`` (the records, also the on-disk format), ``definitions`` (request/config bodies →
records, with Consul's validation), ``state`` (the in-memory tables and change notifications, pure),
``views`` (Consul's JSON shapes and the catalog records), ``maintenance`` (maintenance-mode checks),
``persist`` (file format, crash-safe writes), ``local_agent`` (the operations with their side effects:
persistence and catalog sync), ``actor`` (the ``local`` actor that loads it all at start) and
``subsystems`` (the children this part adds to the agent's tree: ``local``, ``health``, ``catalog.sync``).

What must never live here: HTTP endpoints (``actors/api/agent_*``), running checks (``actors/health``)
or catalog writes (``actors/catalog``). This package imports neither of those, except ``subsystems``.
"""
