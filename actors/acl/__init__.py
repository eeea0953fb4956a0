"""proconsul's ACL system: Consul's token/policy model.

The pure policy core (no IO, no trio, no store), used by everything that enforces ACLs:

* `rules`        — `Rule`, `PolicyRules`, `parse_rules` (HCL1 or JSON rule text), `RulesError`,
                   the built-in global-management rules text.
* `rules_hcl_lex`, `rules_hcl`, `rules_json`, `rules_tree`, `rules_errors` — the decoders behind it.
* `authorizer`   — `Authorizer`, `ALLOW_ALL`, `MANAGEMENT`, `authorizer_for`, `permission_denied`.
* `authz_merge`, `authz_table`, `authz_errors` — merging policies, indexed lookups, refusal texts.

Token/policy storage, replication, resolution and the HTTP endpoints live in their own modules of this
package (`store_*`, `resolve`) and in `actors.api.acl`; they import the core, never the reverse.

What must never live here: behaviour. This module only re-exports the core's public names, and must not
import anything that does IO, so that importing `actors.acl` stays cheap and pure.
"""

from .authorizer import (
    ALLOW_ALL,
    ERR_DISABLED,
    ERR_NOT_FOUND,
    ERR_PERMISSION_DENIED,
    ERR_ROOT_DENIED,
    MANAGEMENT,
    Authorizer,
    authorizer_for,
    permission_denied,
)
from .rules import EMPTY_RULES, GLOBAL_MANAGEMENT_RULES, PolicyRules, Rule, RulesError, parse_rules

__all__ = [
    "ALLOW_ALL",
    "EMPTY_RULES",
    "ERR_DISABLED",
    "ERR_NOT_FOUND",
    "ERR_PERMISSION_DENIED",
    "ERR_ROOT_DENIED",
    "GLOBAL_MANAGEMENT_RULES",
    "MANAGEMENT",
    "Authorizer",
    "PolicyRules",
    "Rule",
    "RulesError",
    "authorizer_for",
    "parse_rules",
    "permission_denied",
]
