"""The texts Consul answers with when ACLs refuse a request (`acl/errors.go`, `acl/errors_ce.go`).

What lives here: the fixed error strings and `permission_denied`, which words a refusal exactly as
Consul's ``PermissionDeniedError.Error()`` does:
``Permission denied: token with AccessorID '<id>' lacks permission 'key:write' on "app/x"``.
What must never live here: deciding whether something is denied, HTTP status codes or logging.
"""

from __future__ import annotations

ERR_PERMISSION_DENIED = "Permission denied"
ERR_NOT_FOUND = "ACL not found"
ERR_ROOT_DENIED = "Cannot resolve root ACL"
ERR_DISABLED = "ACL support disabled"


def permission_denied(accessor_id: str, permission: str, resource: str | None = None) -> str:
    """Consul's refusal text. ``permission`` is ``"<resource>:<level>"`` such as ``"key:write"``.

    An empty ``accessor_id`` is worded "provided token"; an empty or missing ``resource`` name leaves
    the ``on "..."`` tail out, as Consul does for unnamed resources (operator, keyring, acl...).
    """
    who = f"token with AccessorID '{accessor_id}'" if accessor_id else "provided token"
    text = f"{ERR_PERMISSION_DENIED}: {who} lacks permission '{permission}'"
    if resource:
        text += f' on "{resource}"'
    return text
