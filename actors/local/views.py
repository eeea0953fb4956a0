"""How the agent's local records look from outside: Consul's agent JSON shapes and the catalog's records.

What lives here: `AgentServiceView` (an entry of ``/v1/agent/services``; empty optional fields are left
out, ``Tags``/``Meta`` are never null, ``Weights`` default to 1/1), `agent_service`, `agent_check` (the
``HealthCheck`` shape of ``/v1/agent/checks``), `ServiceHealth` (``/v1/agent/health/service/...``),
`aggregated_status`, `content_hash` (``/v1/agent/service/<id>``'s ``ContentHash``), and the catalog
records the anti-entropy syncer wants the servers to hold for this node (`catalog_service`,
`catalog_check`).

What must never live here: state changes, IO, or HTTP. Every function is pure.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable

import msgspec
from msgspec import UNSET, UnsetType, field

from actors.state.durations import format_duration_ns
from actors.state.models import CRITICAL, PASSING, WARNING, HealthCheck, NodeService, ServiceAddress, Weights

from .records import CheckSpec, LocalCheck, LocalService, is_maintenance_check

MAINTENANCE = "maintenance"  # the aggregated status while a maintenance check is present
_PROXY_KINDS = ("connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway", "api-gateway")


class AgentServiceView(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    """One service as ``/v1/agent/services`` shows it (Consul's ``api.AgentService``)."""

    kind: str | UnsetType = UNSET
    id: str = field(default="", name="ID")
    service: str = ""
    tags: list[str] = []
    meta: dict[str, str] = {}
    port: int = 0
    address: str = ""
    socket_path: str | UnsetType = UNSET
    tagged_addresses: dict[str, ServiceAddress] | UnsetType = UNSET
    weights: Weights = field(default_factory=Weights)
    enable_tag_override: bool = False
    content_hash: str | UnsetType = UNSET
    proxy: dict[str, Any] | UnsetType = UNSET
    connect: dict[str, Any] | UnsetType = UNSET
    datacenter: str | UnsetType = UNSET


class ServiceHealth(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    """One element of ``/v1/agent/health/service/...`` (Consul's ``AgentServiceChecksInfo``)."""

    aggregated_status: str
    service: AgentServiceView | None
    checks: list[HealthCheck] | None


def agent_service(svc: LocalService, datacenter: str) -> AgentServiceView:
    connect: dict[str, Any] | UnsetType = UNSET
    if svc.connect and svc.connect.get("Native", svc.connect.get("native")):
        connect = {"Native": True}
    return AgentServiceView(
        kind=svc.kind or UNSET,
        id=svc.id,
        service=svc.name,
        tags=list(svc.tags),
        meta=dict(svc.meta),
        port=svc.port,
        address=svc.address,
        socket_path=svc.socket_path or UNSET,
        tagged_addresses=dict(svc.tagged_addresses) if svc.tagged_addresses else UNSET,
        weights=svc.weights,
        enable_tag_override=svc.enable_tag_override,
        proxy=(svc.proxy or {}) if svc.kind in _PROXY_KINDS else UNSET,
        connect=connect,
        datacenter=datacenter or UNSET,
    )


def content_hash(view: AgentServiceView) -> str:
    """A short, stable digest of what ``/v1/agent/service/<id>`` shows (hash-based blocking compares it)."""
    body = msgspec.json.encode(msgspec.structs.replace(view, content_hash=UNSET))
    return hashlib.blake2b(body, digest_size=8).hexdigest()


def _go_duration(seconds: float) -> str:
    return format_duration_ns(round(seconds * 1e9)) if seconds > 0 else ""


def definition(spec: CheckSpec | None) -> dict[str, Any]:
    """The check's ``Definition`` object: only the fields that are set, durations as Go strings."""
    if spec is None:
        return {}
    pairs: list[tuple[str, Any]] = [
        ("HTTP", spec.http), ("TLSServerName", spec.tls_server_name), ("TLSSkipVerify", spec.tls_skip_verify),
        ("Header", spec.header), ("Method", spec.method), ("Body", spec.body),
        ("DisableRedirects", spec.disable_redirects), ("TCP", spec.tcp), ("UDP", spec.udp),
        ("H2PING", spec.h2ping), ("OSService", spec.os_service), ("H2PingUseTLS", spec.h2ping_use_tls),
        ("Interval", _go_duration(spec.interval)), ("OutputMaxSize", spec.output_max_size),
        ("Timeout", _go_duration(spec.timeout)),
        ("DeregisterCriticalServiceAfter", _go_duration(spec.deregister_critical_service_after)),
        ("ScriptArgs", spec.args), ("DockerContainerID", spec.docker_container_id), ("Shell", spec.shell),
        ("GRPC", spec.grpc), ("GRPCUseTLS", spec.grpc_use_tls), ("AliasNode", spec.alias_node),
        ("AliasService", spec.alias_service), ("TTL", _go_duration(spec.ttl)),
    ]
    return {k: v for k, v in pairs if v}


def agent_check(check: LocalCheck, node: str, services: dict[str, LocalService]) -> HealthCheck:
    """A check as ``/v1/agent/checks`` (and the catalog) shows it; service name and tags from the service."""
    svc = services.get(check.service_id) if check.service_id else None
    spec = check.spec
    return HealthCheck(
        node=node,
        check_id=check.id,
        name=check.name,
        status=check.status,
        notes=check.notes,
        output=check.output,
        service_id=check.service_id,
        service_name=svc.name if svc is not None else "",
        service_tags=list(svc.tags) if svc is not None else [],
        type=check.type,
        definition=definition(spec),
        interval=_go_duration(spec.interval) if spec is not None else "",
        timeout=_go_duration(spec.timeout) if spec is not None else "",
    )


def aggregated_status(checks: Iterable[LocalCheck]) -> str:
    """Consul's ``HealthChecks.AggregatedStatus``: maintenance > critical > warning > passing."""
    seen: set[str] = set()
    for check in checks:
        if is_maintenance_check(check.id):
            return MAINTENANCE
        seen.add(check.status)
    for status in (CRITICAL, WARNING):
        if status in seen:
            return status
    return PASSING


def catalog_service(svc: LocalService) -> NodeService:
    """The catalog record for this service, normalised the way the state store keeps it."""
    extra: dict[str, Any] = {}
    if svc.proxy is not None:
        extra["proxy"] = dict(svc.proxy)
    if svc.connect is not None:
        extra["connect"] = dict(svc.connect)
    return NodeService(
        kind=svc.kind or UNSET,
        id=svc.id,
        service=svc.name,
        tags=list(svc.tags),
        address=svc.address,
        tagged_addresses=dict(svc.tagged_addresses) if svc.tagged_addresses else UNSET,
        meta=dict(svc.meta),
        port=svc.port or UNSET,
        weights=svc.weights,
        enable_tag_override=svc.enable_tag_override,
        **extra,
    )


def catalog_check(check: LocalCheck, node: str, services: dict[str, LocalService]) -> HealthCheck:
    """The catalog record for this check (the store fills service name and tags from its own service)."""
    return agent_check(check, node, services)
