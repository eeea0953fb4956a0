"""Service and check definitions as clients and config files spell them, turned into local records.

What lives here: the lenient decoding of a definition (object keys match case-insensitively and ignoring
``_``/``-``, so ``"name"``, ``"Name"`` and ``"enable_tag_override"``/``"enabletagoverride"`` all land on the
right field, as Go's decoder plus Consul's snake_case aliases do), the validation Consul applies at
registration with its exact wording, and the builders `service_from_definition` /
`check_from_definition` that produce `LocalService` / `LocalCheck` records, including the IDs and names
Consul generates for a service's inline checks (``service:<id>``, ``service:<id>:<n>``, ``Service '<name>'
check``).

A definition's ``token`` (Consul's ``Token``) is decoded here but honoured by ``local_agent`` for
config-file definitions only, as Consul does: the HTTP API registers with the request's token.

Errors are `DefinitionError` with the HTTP status Consul answers with; `DecodeError` is the "Request
decode failed: ..." family (the API adds that prefix). Config-file definitions go through the same code.

What must never live here: whether a referenced service exists or script checks are allowed (that needs
the agent's state and config: ``local_agent``), HTTP, or IO.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

import msgspec

from actors.state.durations import parse_duration_ns
from actors.state.models import CHECK_STATUSES, CRITICAL, ServiceAddress, Weights

from .records import SOURCE_API, CheckSpec, LocalCheck, LocalService


class DefinitionError(Exception):
    """A definition Consul would refuse; ``status`` is the HTTP status it answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class DecodeError(DefinitionError):
    """The body does not decode (wrong JSON types, bad durations): Consul's "Request decode failed"."""


Duration = str | int | float


class CheckDefinition(msgspec.Struct, kw_only=True):
    """A check as sent (Consul's ``CheckDefinition``/``CheckType`` fields), before validation."""

    id: str = ""
    check_id: str = ""
    name: str = ""
    notes: str = ""
    service_id: str = ""
    status: str = ""
    args: list[str] = []
    script_args: list[str] = []
    http: str = ""
    header: dict[str, list[str]] = {}
    method: str = ""
    body: str = ""
    disable_redirects: bool = False
    tls_server_name: str = ""
    tls_skip_verify: bool = False
    tcp: str = ""
    udp: str = ""
    grpc: str = ""
    grpc_use_tls: bool = False
    h2ping: str = ""
    h2ping_use_tls: bool = False
    os_service: str = ""
    docker_container_id: str = ""
    shell: str = ""
    alias_node: str = ""
    alias_service: str = ""
    interval: Duration = 0
    timeout: Duration = 0
    ttl: Duration = 0
    deregister_critical_service_after: Duration = 0
    output_max_size: int = 0
    success_before_passing: int = 0
    failures_before_warning: int = 0
    failures_before_critical: int = 0
    token: str = ""  # config files only: the ACL token to sync it with (the API uses the request's)


class WeightsDefinition(msgspec.Struct, kw_only=True):
    passing: int = 0
    warning: int = 0


class AddressDefinition(msgspec.Struct, kw_only=True):
    address: str = ""
    port: int = 0


class ServiceDefinition(msgspec.Struct, kw_only=True):
    """A service as sent (Consul's ``ServiceDefinition``), before validation."""

    id: str = ""
    name: str = ""
    kind: str = ""
    tags: list[str] = []
    address: str = ""
    tagged_addresses: dict[str, AddressDefinition] = {}
    meta: dict[str, str] = {}
    port: int = 0
    socket_path: str = ""
    enable_tag_override: bool = False
    weights: WeightsDefinition | None = None
    check: CheckDefinition | None = None
    checks: list[CheckDefinition] = []
    proxy: dict[str, Any] | None = None
    connect: dict[str, Any] | None = None
    token: str = ""  # config files only: the ACL token to sync it (and its checks) with


# --- lenient keys ---------------------------------------------------------------------------------


def fold_key(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


Normalizer = Callable[[Any, str], Any]


def _object(struct: type[msgspec.Struct], nested: dict[str, Normalizer] | None = None) -> Normalizer:
    """A normalizer mapping an object's keys onto ``struct``'s attributes (unknown keys and nulls dropped)."""
    lookup = {fold_key(name): name for name in struct.__struct_fields__}
    inner = nested or {}

    def normalize(raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise DecodeError(f"expected an object at {path}, got {type(raw).__name__}")
        out: dict[str, Any] = {}
        for key, value in raw.items():
            attr = lookup.get(fold_key(str(key)))
            if attr is None or value is None:
                continue
            sub = inner.get(attr)
            out[attr] = sub(value, f"{path}.{key}") if sub is not None else value
        return out

    return normalize


def _list_of(item: Normalizer) -> Normalizer:
    def normalize(raw: Any, path: str) -> list[Any]:
        if not isinstance(raw, list):
            raise DecodeError(f"expected an array at {path}, got {type(raw).__name__}")
        return [item(v, f"{path}[{i}]") for i, v in enumerate(raw)]

    return normalize


def _map_of(value: Normalizer) -> Normalizer:
    def normalize(raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise DecodeError(f"expected an object at {path}, got {type(raw).__name__}")
        return {k: value(v, f"{path}.{k}") for k, v in raw.items()}

    return normalize


_CHECK = _object(CheckDefinition)
_SERVICE = _object(
    ServiceDefinition,
    {
        "check": _CHECK,
        "checks": _list_of(_CHECK),
        "weights": _object(WeightsDefinition),
        "tagged_addresses": _map_of(_object(AddressDefinition)),
    },
)


def _convert(data: dict[str, Any], tp: type[Any]) -> Any:
    try:
        return msgspec.convert(data, tp)
    except msgspec.ValidationError as err:
        raise DecodeError(str(err)) from None


def parse_service(raw: Any) -> ServiceDefinition:
    """Decode a service definition (HTTP body or config-file entry)."""
    return _convert(_SERVICE(raw, "$"), ServiceDefinition)


def parse_check(raw: Any) -> CheckDefinition:
    """Decode a check definition (HTTP body or config-file entry)."""
    return _convert(_CHECK(raw, "$"), CheckDefinition)


# --- validation -----------------------------------------------------------------------------------

_ANY_ADDRESSES = frozenset({"0.0.0.0", "::", "[::]"})
_META_KEY = re.compile(r"^[a-zA-Z0-9_-]+$")
_META_MAX_PAIRS = 64
_META_KEY_MAX = 128
_META_VALUE_MAX = 512
_META_RESERVED_PREFIX = "consul-"


def seconds(value: Duration) -> float:
    """A Go duration string or integer nanoseconds, in seconds."""
    if isinstance(value, str):
        if value == "":
            return 0.0
        try:
            return parse_duration_ns(value) / 1e9
        except ValueError as err:
            raise DecodeError(str(err)) from None
    return float(value) / 1e9


def is_any_address(address: str) -> bool:
    if address in _ANY_ADDRESSES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


def spec_problem(spec: CheckSpec) -> str | None:
    """Consul's ``CheckType.Validate``: why the check cannot run, or None."""
    interval_check = bool(spec.args or spec.http or spec.tcp or spec.udp or spec.grpc or spec.h2ping
                          or spec.os_service)
    alias = bool(spec.alias_node or spec.alias_service)
    if interval_check and spec.interval <= 0:
        return "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"
    if interval_check and alias:
        return "Interval cannot be set for Alias checks"
    if alias and spec.ttl > 0:
        return "TTL must be not be set for Alias checks"
    if not interval_check and not alias and spec.ttl <= 0:
        return "TTL must be > 0 for TTL checks"
    if spec.output_max_size < 0:
        return "MaxOutputMaxSize must be positive"
    return None


def weights_problem(w: WeightsDefinition) -> str | None:
    if w.passing < 1:
        return "Passing must be greater than 0"
    if w.warning < 0:
        return "Warning must be greater or equal than 0"
    if w.passing > 65535 or w.warning > 65535:
        return "DNS Weight must be between 0 and 65535"
    return None


def meta_problem(meta: dict[str, str], kind: str) -> str | None:
    """Consul's ``ValidateServiceMetadata`` wording, or None."""
    if len(meta) > _META_MAX_PAIRS:
        return f"Service metadata cannot contain more than {_META_MAX_PAIRS} key/value pairs"
    for key, value in meta.items():
        problem = None
        if key == "":
            problem = "Key cannot be blank"
        elif not _META_KEY.match(key):
            problem = "Key contains invalid characters"
        elif len(key) > _META_KEY_MAX:
            problem = f"Key is too long (limit: {_META_KEY_MAX} characters)"
        elif key.startswith(_META_RESERVED_PREFIX) and not kind:
            problem = f"Key prefix '{_META_RESERVED_PREFIX}' is reserved for internal use"
        elif len(value) > _META_VALUE_MAX:
            problem = f"Value is too long (limit: {_META_VALUE_MAX} characters)"
        if problem:
            return f"Couldn't load metadata pair ('{key}', '{value}'): {problem}"
    return None


def valid_status(status: str) -> bool:
    return status in CHECK_STATUSES


# --- builders -------------------------------------------------------------------------------------


def check_spec(d: CheckDefinition) -> CheckSpec:
    return CheckSpec(
        ttl=seconds(d.ttl),
        interval=seconds(d.interval),
        timeout=seconds(d.timeout),
        http=d.http,
        method=d.method,
        header=d.header,
        body=d.body,
        disable_redirects=d.disable_redirects,
        tls_server_name=d.tls_server_name,
        tls_skip_verify=d.tls_skip_verify,
        tcp=d.tcp,
        udp=d.udp,
        args=d.args or d.script_args,
        docker_container_id=d.docker_container_id,
        shell=d.shell,
        grpc=d.grpc,
        grpc_use_tls=d.grpc_use_tls,
        h2ping=d.h2ping,
        h2ping_use_tls=d.h2ping_use_tls,
        os_service=d.os_service,
        alias_node=d.alias_node,
        alias_service=d.alias_service,
        output_max_size=d.output_max_size,
        deregister_critical_service_after=seconds(d.deregister_critical_service_after),
        success_before_passing=d.success_before_passing,
        failures_before_warning=d.failures_before_warning,
        failures_before_critical=d.failures_before_critical,
    )


def _check_record(d: CheckDefinition, spec: CheckSpec, check_id: str, name: str, service_id: str,
                  source: str) -> LocalCheck:
    return LocalCheck(
        id=check_id,
        name=name,
        status=d.status or CRITICAL,
        initial_status=d.status,
        notes=d.notes,
        service_id=service_id,
        type=spec.kind,
        spec=spec,
        source=source,
    )


def check_from_definition(d: CheckDefinition, *, source: str = SOURCE_API) -> LocalCheck:
    """A ``/v1/agent/check/register`` body (or config ``checks`` entry) as a record; validated."""
    if not d.name:
        raise DefinitionError("Missing check name")
    if d.status and not valid_status(d.status):
        raise DefinitionError("Bad check status")
    spec = check_spec(d)
    problem = spec_problem(spec)
    if problem:
        raise DefinitionError(f"Invalid check: {problem}")
    return _check_record(d, spec, d.id or d.check_id or d.name, d.name, d.service_id, source)


def _is_empty(d: CheckDefinition | None) -> bool:
    return d is None or msgspec.structs.replace(d, token="") == CheckDefinition()


def service_from_definition(d: ServiceDefinition, *, source: str = SOURCE_API
                            ) -> tuple[LocalService, list[LocalCheck]]:
    """A ``/v1/agent/service/register`` body (or config ``services`` entry): the service and its checks."""
    if not d.name:
        raise DefinitionError("Missing service name")
    if d.address and is_any_address(d.address):
        raise DefinitionError("Invalid service address")
    weights = Weights()
    if d.weights is not None:
        problem = weights_problem(d.weights)
        if problem:
            raise DefinitionError(f"Invalid Weights: {problem}")
        weights = Weights(passing=d.weights.passing, warning=d.weights.warning)
    problem = meta_problem(d.meta, d.kind)
    if problem:
        raise DefinitionError(f"Invalid Service Meta: {problem}")
    service = LocalService(
        id=d.id or d.name,
        name=d.name,
        kind=d.kind,
        tags=list(d.tags),
        address=d.address,
        port=d.port,
        socket_path=d.socket_path,
        meta=dict(d.meta),
        tagged_addresses={k: ServiceAddress(address=v.address, port=v.port) for k, v in d.tagged_addresses.items()},
        weights=weights,
        enable_tag_override=d.enable_tag_override,
        proxy=d.proxy,
        connect=d.connect,
        source=source,
    )
    defs = ([] if _is_empty(d.check) else [d.check]) + [c for c in d.checks if not _is_empty(c)]
    specs = []
    for c in defs:
        assert c is not None
        spec = check_spec(c)
        problem = spec_problem(spec)
        if problem:
            raise DefinitionError(f"Invalid check: {problem}")
        specs.append(spec)
    for c in defs:
        assert c is not None
        if c.status and not valid_status(c.status):
            raise DefinitionError("Status for checks must 'passing', 'warning', 'critical'")
    checks = []
    for n, (c, spec) in enumerate(zip(defs, specs), start=1):
        assert c is not None
        check_id = c.id or c.check_id
        if not check_id:
            check_id = f"service:{service.id}" + (f":{n}" if len(defs) > 1 else "")
        name = c.name or f"Service '{service.name}' check"
        checks.append(_check_record(c, spec, check_id, name, service.id, source))
    return service, checks
