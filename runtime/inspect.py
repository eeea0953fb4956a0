"""The inspector: the live actor tree over HTTP and websocket, and fault injection by path.

What lives here: `install_inspector(router, tree)`, which serves

- ``GET /v1/agent/actors`` as JSON: the snapshot ``NODE`` = ``{"path", "kind", "state", "restarts",
  "last_error", "inbox", "handled", "dropped", "started_at", "stats", "children": [NODE...]}``;
- the same path as a websocket: first ``{"type": "snapshot", "version": V, "tree": NODE}``, then
  ``{"type": "update", "version": V, "changed": [FLAT...], "removed": [path...]}`` whenever something
  changed, coalesced to at most one frame per ``UPDATE_INTERVAL`` (100 ms). ``FLAT`` is a ``NODE``
  without ``children`` plus ``"parent"`` (the parent's path, or null for the root), so a client can keep
  a path-indexed copy of the tree up to date;

and `install_fault_injection(router, tree)`, which adds ``PUT /v1/agent/actors/crash|stop|restart?path=``.
The agent installs the latter only with ``-enable-fault-injection``, so a production agent cannot be
crashed remotely.

What must never live here: anything that changes the tree other than the three fault operations, or
knowledge of what the actors are.
"""

from __future__ import annotations

from typing import Any

import msgspec
import trio

from runtime.http import HTTPError, Request, Response, Router, json_response
from runtime.log import get_logger
from runtime.tree import ActorTree, NodeSnapshot

UPDATE_INTERVAL = 0.1  # seconds between two update frames at most (the "at most every 100 ms")

log = get_logger("inspect")
_encoder = msgspec.json.Encoder()


def flatten(node: NodeSnapshot, parent: str | None = None, into: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Path -> flat node (no ``children``, plus ``parent``), in tree order."""
    out = {} if into is None else into
    doc = msgspec.to_builtins(node)
    doc.pop("children")
    doc["parent"] = parent
    out[node.path] = doc
    for child in node.children:
        flatten(child, node.path, out)
    return out


def diff(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Nodes that are new or changed, and paths that disappeared."""
    changed = [node for path, node in after.items() if before.get(path) != node]
    removed = [path for path in before if path not in after]
    return changed, removed


def install_inspector(router: Router, tree: ActorTree, path: str = "/v1/agent/actors") -> None:
    async def get_tree(req: Request) -> Response:
        return json_response(tree.snapshot(), pretty="pretty" in req.query)

    async def watch_tree(req: Request, ws: Any) -> None:
        version = tree.version
        snapshot = tree.snapshot()
        if snapshot is None:
            await ws.aclose(1011, "no actor tree")
            return
        known = flatten(snapshot)
        await ws.send_message(_encoder.encode({"type": "snapshot", "version": version, "tree": snapshot}).decode())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_drain_client, ws, nursery.cancel_scope)
            while True:
                version = await tree.wait_changed(version)
                snapshot = tree.snapshot()
                if snapshot is None:
                    break
                current = flatten(snapshot)
                changed, removed = diff(known, current)
                known = current
                if changed or removed:
                    frame = {"type": "update", "version": version, "changed": changed, "removed": removed}
                    await ws.send_message(_encoder.encode(frame).decode())
                await trio.sleep(UPDATE_INTERVAL)
            nursery.cancel_scope.cancel()

    router.add(["GET"], path, get_tree)
    router.websocket(path, watch_tree)


async def _drain_client(ws: Any, scope: trio.CancelScope) -> None:
    """Read (and ignore) what the client sends, so a close from its side ends the stream promptly."""
    try:
        while True:
            await ws.get_message()
    except Exception:
        scope.cancel()


def install_fault_injection(router: Router, tree: ActorTree, prefix: str = "/v1/agent/actors") -> None:
    def make(op: str) -> Any:
        async def inject(req: Request) -> Response:
            target = req.arg("path")
            if not target:
                raise HTTPError(400, "Missing actor path: use ?path=<actor path>")
            try:
                tree.inject(target, op)  # type: ignore[arg-type]
            except KeyError:
                raise HTTPError(404, f"No actor at path {target!r}") from None
            except ValueError as exc:
                raise HTTPError(400, str(exc)) from None
            log.warning("fault injected", op=op, path=target)
            return json_response(True)

        return inject

    for op in ("crash", "stop", "restart"):
        router.add(["PUT", "POST"], f"{prefix}/{op}", make(op))


def install_fault_table(router: Router, table: Any, path: str = "/v1/agent/faults") -> None:
    """Network faults for scenario runs: ``PUT`` replaces the rules, ``DELETE`` heals, ``GET`` lists.

    Body of ``PUT``: ``{"Rules": [{"Src": "n1", "Dst": "n2", "Drop": true, "Loss": 0.0, "Delay": 0.0,
    "Jitter": 0.0, "Duplicate": 0.0}]}`` (keys case-insensitive; missing ones default). The rules apply
    to what *this* agent sends, so a symmetric partition is set on the agents of both sides. ``Src`` and
    ``Dst`` are node names (``-node``) or ``"*"`` on every transport, the WAN pool and WAN forwarding
    included: names such as the WAN members' ``<node>.<dc>`` are aliases the table reads as node names
    (``runtime/transport/faults.py``), never selectors.
    """
    from runtime.transport.faults import FaultRule

    def rule_from(doc: Any) -> Any:
        if not isinstance(doc, dict):
            raise HTTPError(400, "Request decode failed: each rule must be an object")
        fields = {k.lower(): v for k, v in doc.items()}
        names = {"src": "src", "dst": "dst", "drop": "drop", "loss": "loss", "delay": "delay",
                 "jitter": "jitter", "duplicate": "duplicate"}
        unknown = set(fields) - set(names)
        if unknown:
            raise HTTPError(400, f"Request decode failed: unknown rule field(s) {sorted(unknown)}")
        try:
            return msgspec.convert({names[k]: v for k, v in fields.items()}, FaultRule)
        except (msgspec.ValidationError, ValueError) as exc:
            raise HTTPError(400, f"Request decode failed: {exc}") from None

    async def put(req: Request) -> Response:
        try:
            doc = msgspec.json.decode(req.body or b"{}")
        except msgspec.DecodeError as exc:
            raise HTTPError(400, f"Request decode failed: {exc}") from None
        rules = doc.get("Rules", doc.get("rules")) if isinstance(doc, dict) else None
        if not isinstance(rules, list):
            raise HTTPError(400, 'Request decode failed: expected {"Rules": [...]}')
        table.replace([rule_from(rule) for rule in rules])
        log.warning("fault table replaced", rules=len(rules))
        return json_response(True)

    async def delete(req: Request) -> Response:
        table.heal()
        log.warning("fault table healed")
        return json_response(True)

    async def get(req: Request) -> Response:
        return json_response({"Rules": [msgspec.to_builtins(r) for r in table.rules], "Links": table.statistics()})

    router.add(["PUT", "POST"], path, put)
    router.add(["DELETE"], path, delete)
    router.add(["GET"], path, get)
