"""The Consul domain of proconsul: raft, gossip, state store, health, catalog sync, WAN, DNS, the HTTP API, the agent and the CLI."""
