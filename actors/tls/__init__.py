"""TLS as Consul agents use it: certificate naming, and the agent's contexts for its server port and HTTPS.

What lives here:

- ``naming``: Consul's names: ``server.<dc>.<domain>`` / ``client.<dc>.<domain>`` identities, the files
  ``consul tls ca create`` and ``consul tls cert create`` write (``consul-agent-ca.pem``,
  ``dc1-server-consul-0.pem``...), and which SANs each kind of certificate carries.
- ``agent_tls``: `AgentTls`, built once per agent from its configuration: the server port's `ListenerTls`,
  the `DialTls` for dialling a datacenter's servers, the HTTPS serving context, and the ``admit`` rule that
  keeps Raft and server RPC to peers presenting a server certificate (CVE-2021-37219).

What must never live here: certificate building or SSL plumbing (``runtime/tls``), or sockets.
"""
