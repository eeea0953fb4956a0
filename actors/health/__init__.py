"""The health checker: a ``health`` supervisor with one actor per check.

Modules: ``status`` (the pure status folding with Consul's hysteresis), ``result`` and ``probes`` (what a
probe returns, which probe runs which kind), ``http_probe`` / ``tcp_probe`` / ``script_probe`` (one run
of a check, bounded by its timeout), ``net`` (shared address and error wording), ``alias`` (the alias
rule, pure), ``checker`` (the per-check actors), ``reap`` / ``reaper`` (DeregisterCriticalServiceAfter),
``timing`` (Consul's floors and defaults) and ``supervisor`` (keeps the children in step with the checks).

What must never live here: catalog writes or persistence; checks only update the local state, and the
local agent and the catalog syncer react to that.
"""
