"""The shapes of the request bodies the state endpoints accept, as `decode` specs.

What lives here: one `Obj` per Consul request structure (catalog register/deregister and the node,
service and check inside them, a check's ``Definition``, session create, and the four transaction op
kinds). Canonical names are Consul's PascalCase names, which are also the encoded names of our
models, so a normalised dict converts straight into ``actors.state.models`` records. Fields Consul
accepts but proconsul does not use (``WriteRequest``, ``Namespace``, ``Partition``...) are simply not
listed, and are ignored like any unknown key.

What must never live here: decoding machinery (``decode``) or validation beyond shape (endpoints).
"""

from __future__ import annotations

from actors.api.decode import ANY, BASE64, DURATION, ListOf, MapOf, Obj

STRINGS = ListOf(ANY)

DEFINITION = Obj(
    HTTP=ANY,
    Header=MapOf(STRINGS),
    Method=ANY,
    Body=ANY,
    DisableRedirects=ANY,
    TLSServerName=ANY,
    TLSSkipVerify=ANY,
    TCP=ANY,
    TCPUseTLS=ANY,
    UDP=ANY,
    H2PING=ANY,
    H2PingUseTLS=ANY,
    OSService=ANY,
    GRPC=ANY,
    GRPCUseTLS=ANY,
    AliasNode=ANY,
    AliasService=ANY,
    ScriptArgs=STRINGS,
    DockerContainerID=ANY,
    Shell=ANY,
    Interval=DURATION,
    Timeout=DURATION,
    TTL=DURATION,
    DeregisterCriticalServiceAfter=DURATION,
)

SERVICE = Obj(
    Kind=ANY,
    ID=ANY,
    Service=ANY,
    Tags=STRINGS,
    Address=ANY,
    TaggedAddresses=MapOf(Obj(Address=ANY, Port=ANY)),
    Meta=MapOf(),
    Port=ANY,
    Weights=Obj(Passing=ANY, Warning=ANY),
    EnableTagOverride=ANY,
    Proxy=ANY,
    Connect=ANY,
    ModifyIndex=ANY,
)

CHECK = Obj(
    Node=ANY,
    CheckID=ANY,
    Name=ANY,
    Status=ANY,
    Notes=ANY,
    Output=ANY,
    ServiceID=ANY,
    ServiceName=ANY,
    ServiceTags=STRINGS,
    Type=ANY,
    Definition=DEFINITION,
    Interval=ANY,
    Timeout=ANY,
    ExposedPort=ANY,
    ModifyIndex=ANY,
)

NODE = Obj(
    ID=ANY,
    Node=ANY,
    Address=ANY,
    Datacenter=ANY,
    TaggedAddresses=MapOf(),
    Meta=MapOf(),
    ModifyIndex=ANY,
)

REGISTER = Obj(
    ID=ANY,
    Node=ANY,
    Address=ANY,
    Datacenter=ANY,
    TaggedAddresses=MapOf(),
    NodeMeta=MapOf(),
    Service=SERVICE,
    Check=CHECK,
    Checks=ListOf(CHECK),
    SkipNodeUpdate=ANY,
)

DEREGISTER = Obj(Node=ANY, Datacenter=ANY, ServiceID=ANY, CheckID=ANY)

SESSION = Obj(
    Name=ANY,
    Node=ANY,
    LockDelay=ANY,  # interpreted by the session endpoint (Consul's seconds-or-nanoseconds rule)
    Checks=ANY,
    NodeChecks=ANY,
    ServiceChecks=ListOf(Obj(ID=ANY, Namespace=ANY)),
    Behavior=ANY,
    TTL=ANY,
)

TXN_OP = Obj(
    KV=Obj(Verb=ANY, Key=ANY, Value=BASE64, Flags=ANY, Index=ANY, Session=ANY),
    Node=Obj(Verb=ANY, Node=NODE),
    Service=Obj(Verb=ANY, Node=ANY, Service=SERVICE),
    Check=Obj(Verb=ANY, Check=CHECK),
)

TXN = ListOf(TXN_OP)
