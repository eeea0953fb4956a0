"""Gossip: the Serf layer over the sans-IO SWIM core, and the Trio shell that puts both on the network.

One pool per gossip ring: ``gossip.lan`` on every agent, ``gossip.wan`` on servers. Each pool is a small
supervised subtree (``tcp`` listener, ``udp`` endpoint, ``swim`` shell, ``join`` retrier) sharing one
`pool.PoolState` that outlives restarts. Other subsystems reach gossip only through the facade
``ctx.extras["gossip"]`` (`facade.Gossip`): members, servers, change notification, join, leave,
force-leave, user events and the keyring.

Modules, one job each:

- pure: ``wire`` (bytes <-> messages), ``crypto`` (AES-GCM and the keyring), ``tags`` (what an agent
  advertises, and servers read back), ``serf_messages``, ``membership`` (Serf statuses and intents),
  ``queries``, ``coalesce``, ``serf_effects``, ``serf_core`` (Serf over SwimCore), ``members`` (views and
  Consul's JSON), ``events`` (Consul's user events), ``keyring_ops`` (reading keyring query answers),
  ``settings`` (pool settings from the agent config), ``reconcile`` (catalog plan for the Raft leader);
- IO: ``keyring_file`` (``serf/local.keyring``), ``inputs`` (what the shell's loop receives),
  ``event_log``, ``streams`` (TCP exchanges), ``transport`` (the pool's listener and endpoint),
  ``shell``, ``joiner``, ``pool``, ``facade``, ``wiring`` (what the agent installs).

What must never live here: the SWIM protocol itself (``actors/swim``), sockets below the transports
(``runtime/transport``), or HTTP handlers (``actors/api``).
"""
