"""proconsul's version and the Consul version whose API it follows (reported by /v1/agent/self)."""

VERSION = "0.1.0"
# The Consul release whose HTTP API, DNS names and defaults proconsul mirrors; clients sometimes branch
# on Config.Version, so report a Consul-shaped version and keep ours in Config.Revision/Build.
CONSUL_COMPAT_VERSION = "1.20.0"
PROTOCOL_VERSION = 2
