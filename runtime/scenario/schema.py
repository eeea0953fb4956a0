"""The scenario file, top to bottom, as msgspec Structs (every table refuses unknown keys).

What lives here: `Scenario` and its cluster tables. A compact view of a file::

    name = "leader-failover"         # required
    description = "..."
    seed = 42                        # --seed overrides; absent: one is drawn and printed
    duration = "30s"                 # least length of the safety phase
    stay_up = false                  # keep the cluster up after the checks, until Ctrl-C
    ready = "leader"                 # "http" | "leader" (default: leader when there are servers)
    ready_timeout = "30s"

    [cluster]                        # one datacenter; or [[datacenters]] with a `name` each
    servers = 3                      # a count (s1..s3) or names; also `clients`, `dev` (-dev agents)
    clients = ["c1"]
    options = ["-log-level", "debug"]          # extra agent flags for every agent of the datacenter
    config = { performance = { raft_multiplier = 1 } }   # agent JSON config, passed as -config-file
    [cluster.agents.s1]              # per-agent additions
    options = [...]
    config = {...}

    [[services]]   agent = "c1", name = "web", port = 8080, tags = [...], checks = [{ ttl = "10s" }]
    [[workloads]]  kind = "kv-register" | "watch" | "services" | "events", ...   (schema_workloads.py)
    [[timeline]]   at = "10s" | after = "<step>", do = "kill" | ..., ...       (schema_steps.py)
    [checks]       safety = [...], liveness = [...], poll = "1s"               (schema_checks.py)

Default node names: ``s1``, ``c1``, ``n1`` (dev) in a single ``[cluster]``; ``<dc>-s1`` etc. with
several datacenters.

What must never live here: reading files, error reporting (``loader.py``), cross-reference checks
(``validate.py``) or turning the cluster into processes (``topology.py``, ``launcher.py``).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .schema_checks import Checks
from .schema_steps import Step
from .schema_types import Duration, NonNegativeInt, Port, Table
from .schema_workloads import Workload


class AgentOverride(Table, kw_only=True):
    options: list[str] = []
    config: dict[str, Any] = {}


class ClusterBase(Table, kw_only=True):
    servers: NonNegativeInt | list[str] = 0
    clients: NonNegativeInt | list[str] = 0
    dev: NonNegativeInt | list[str] = 0
    options: list[str] = []
    config: dict[str, Any] = {}
    agents: dict[str, AgentOverride] = {}


class Cluster(ClusterBase, kw_only=True):
    datacenter: str = "dc1"


class Datacenter(ClusterBase, kw_only=True):
    name: str


class ServiceCheck(Table, kw_only=True):
    name: str | None = None
    ttl: Duration | None = None
    http: str | None = None
    tcp: str | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    status: Literal["passing", "warning", "critical"] | None = None


class Service(Table, kw_only=True):
    agent: str
    name: str
    id: str | None = None
    port: Port = 0
    address: str | None = None
    tags: list[str] = []
    meta: dict[str, str] = {}
    checks: list[ServiceCheck] = []


class Scenario(Table, kw_only=True):
    name: str
    description: str = ""
    seed: NonNegativeInt | None = None
    duration: Duration | None = None
    stay_up: bool = False
    ready: Literal["http", "leader"] | None = None
    ready_timeout: Duration = 30
    cluster: Cluster | None = None
    datacenters: list[Datacenter] = []
    services: list[Service] = []
    workloads: list[Workload] = []
    timeline: list[Step] = []
    checks: Checks = msgspec.field(default_factory=Checks)
