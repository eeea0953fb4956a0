"""``proconsul kv`` and ``proconsul catalog`` as a user runs them: the CLI in a subprocess against a real
``proconsul agent -dev`` process on free loopback ports.

Every expectation is Consul's: its messages, its exit codes, its output formats. One agent serves the
whole module; each test works under its own key prefix so the tests do not depend on each other.

What must never live here: in-process calls into the CLI modules (the point is the real command line),
or tests of the HTTP API itself (``tests/api``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.cluster.cluster_kit import PROCONSUL, REPO, AgentProcess
from tests.support.ports import free_ports


@pytest.fixture(scope="module")
def agent() -> Iterator[AgentProcess]:
    proc = AgentProcess("cli-kv").start()
    try:
        yield proc
    finally:
        proc.stop()


def cli(agent: AgentProcess | None, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        use_flag: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``proconsul <args>``; the agent's address goes in ``-http-addr`` after the sub-command words."""
    argv = list(args)
    if agent is not None and use_flag:
        words = 2 if argv[0] in ("kv", "catalog") else 1
        argv[words:words] = ["-http-addr", agent.http_addr]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CONSUL_HTTP")}
    return subprocess.run([*PROCONSUL, *argv], input=stdin, capture_output=True, timeout=30, cwd=REPO,
                          env={**base_env, **(env or {})})


def out(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode()


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode()


def http(agent: AgentProcess, method: str, path: str, body: bytes | None = None) -> Any:
    req = urllib.request.Request(f"http://{agent.http_addr}{path}", data=body, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def entry(agent: AgentProcess, key: str) -> dict[str, Any]:
    return http(agent, "GET", f"/v1/kv/{key}")[0]


# -- kv put / get -----------------------------------------------------------------------------------


def test_put_then_get_prints_the_raw_value(agent: AgentProcess) -> None:
    put = cli(agent, "kv", "put", "t1/greeting", "hello world")
    assert (put.returncode, out(put), err(put)) == (0, "Success! Data written to: t1/greeting\n", "")
    got = cli(agent, "kv", "get", "t1/greeting")
    assert (got.returncode, got.stdout) == (0, b"hello world\n")
    # A leading slash is stripped by get, as Consul does.
    assert cli(agent, "kv", "get", "/t1/greeting").stdout == b"hello world\n"


def test_get_of_a_missing_key_is_an_error(agent: AgentProcess) -> None:
    got = cli(agent, "kv", "get", "t2/nothing-here")
    assert got.returncode == 1
    assert got.stdout == b""
    assert err(got) == "Error! No key exists at: t2/nothing-here\n"


def test_detailed_shows_the_metadata_block(agent: AgentProcess) -> None:
    assert cli(agent, "kv", "put", "-flags", "42", "t3/k", "v1").returncode == 0
    e = entry(agent, "t3/k")
    got = cli(agent, "kv", "get", "-detailed", "t3/k")
    assert got.returncode == 0
    assert out(got) == (
        f"CreateIndex      {e['CreateIndex']}\n"
        "Flags            42\n"
        "Key              t3/k\n"
        "LockIndex        0\n"
        f"ModifyIndex      {e['ModifyIndex']}\n"
        "Session          -\n"
        "Value            v1\n"
    )
    b64 = cli(agent, "kv", "get", "-detailed", "-base64", "t3/k")
    assert out(b64).endswith("Value            djE=\n")


def test_put_reads_stdin_a_file_base64_and_nothing(agent: AgentProcess, tmp_path: Path) -> None:
    payload = b"line one\nline two\x00\xff binary"
    assert cli(agent, "kv", "put", "t4/stdin", "-", stdin=payload).returncode == 0
    assert base64.b64decode(entry(agent, "t4/stdin")["Value"]) == payload

    source = tmp_path / "value.bin"
    source.write_bytes(b"from a file")
    assert cli(agent, "kv", "put", "t4/file", f"@{source}").returncode == 0
    assert cli(agent, "kv", "get", "t4/file").stdout == b"from a file\n"

    missing = cli(agent, "kv", "put", "t4/file", f"@{tmp_path / 'absent'}")
    assert missing.returncode == 1 and err(missing).startswith("Error! Failed to read file: ")

    assert cli(agent, "kv", "put", "-base64", "t4/b64", base64.b64encode(b"decoded!").decode()).returncode == 0
    assert cli(agent, "kv", "get", "t4/b64").stdout == b"decoded!\n"
    bad = cli(agent, "kv", "put", "-base64", "t4/b64", "not*base64")
    assert bad.returncode == 1 and err(bad) == "Error! Cannot base 64 decode data: illegal base64 data at input byte 3\n"

    assert cli(agent, "kv", "put", "t4/empty").returncode == 0
    assert entry(agent, "t4/empty")["Value"] is None
    assert cli(agent, "kv", "get", "t4/empty").stdout == b"\n"

    # Flags stop at the key, so "-x" after it is DATA, a literal (only a lone "-" reads stdin);
    # before the key, "--" ends the flags.
    assert cli(agent, "kv", "put", "t4/dash", "-x").returncode == 0
    assert cli(agent, "kv", "get", "t4/dash").stdout == b"-x\n"
    assert cli(agent, "kv", "put", "--", "-t4/odd", "y").returncode == 0
    assert cli(agent, "kv", "get", "--", "-t4/odd").stdout == b"y\n"


def test_recurse_keys_and_separator(agent: AgentProcess) -> None:
    for key, value in [("t5/a", "1"), ("t5/b/c", "2"), ("t5/b/d", "3"), ("t5/e/f/g", "4")]:
        assert cli(agent, "kv", "put", key, value).returncode == 0
    rec = cli(agent, "kv", "get", "-recurse", "t5/")
    assert out(rec) == "t5/a:1\nt5/b/c:2\nt5/b/d:3\nt5/e/f/g:4\n"
    assert out(cli(agent, "kv", "get", "-recurse", "-base64", "t5/b")) == "t5/b/c:Mg==\nt5/b/d:Mw==\n"
    # -keys uses "/" as separator by default: one level only.
    assert out(cli(agent, "kv", "get", "-keys", "t5/")) == "t5/a\nt5/b/\nt5/e/\n"
    assert out(cli(agent, "kv", "get", "-keys", "-separator=", "t5/")) == "t5/a\nt5/b/c\nt5/b/d\nt5/e/f/g\n"
    assert out(cli(agent, "kv", "get", "-keys", "-separator", "f", "t5/e")) == "t5/e/f\n"
    detailed = out(cli(agent, "kv", "get", "-recurse", "-detailed", "t5/b/"))
    blocks = detailed.split("\n\n")
    assert len(blocks) == 2 and "Key              t5/b/c" in blocks[0] and "Value            3" in blocks[1]
    # Nothing under the prefix: no output, success.
    empty = cli(agent, "kv", "get", "-recurse", "t5/none/")
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, b"", b"")
    missing_key = cli(agent, "kv", "get")
    assert missing_key.returncode == 1 and err(missing_key) == "Error! Missing KEY argument\n"


def test_cas_put_and_delete(agent: AgentProcess) -> None:
    assert cli(agent, "kv", "put", "t6/k", "v1").returncode == 0
    index = entry(agent, "t6/k")["ModifyIndex"]

    stale = cli(agent, "kv", "put", "-cas", "-modify-index", str(index + 1000), "t6/k", "v2")
    assert (stale.returncode, err(stale)) == (1, "Error! Did not write to t6/k: CAS failed\n")
    fresh = cli(agent, "kv", "put", "-cas", f"-modify-index={index}", "t6/k", "v2")
    assert (fresh.returncode, out(fresh)) == (0, "Success! Data written to: t6/k\n")
    no_index = cli(agent, "kv", "put", "-cas", "t6/k", "v3")
    assert (no_index.returncode, err(no_index)) == (1, "Must specify -modify-index with -cas!\n")

    index = entry(agent, "t6/k")["ModifyIndex"]
    wrong = cli(agent, "kv", "delete", "-cas", "-modify-index", str(index - 1), "t6/k")
    assert (wrong.returncode, err(wrong)) == (1, "Error! Did not delete key t6/k: CAS failed\n")
    right = cli(agent, "kv", "delete", "-cas", "-modify-index", str(index), "t6/k")
    assert (right.returncode, out(right)) == (0, "Success! Deleted key: t6/k\n")
    assert cli(agent, "kv", "get", "t6/k").returncode == 1


def test_delete_plain_recursive_and_its_flag_rules(agent: AgentProcess) -> None:
    for key in ("t7/a", "t7/b", "t7/c/d", "t7x"):
        assert cli(agent, "kv", "put", key, "x").returncode == 0
    one = cli(agent, "kv", "delete", "t7/a")
    assert (one.returncode, out(one)) == (0, "Success! Deleted key: t7/a\n")
    again = cli(agent, "kv", "delete", "t7/a")  # deleting a missing key succeeds
    assert (again.returncode, out(again)) == (0, "Success! Deleted key: t7/a\n")
    tree = cli(agent, "kv", "delete", "-recurse", "t7/")
    assert (tree.returncode, out(tree)) == (0, "Success! Deleted keys with prefix: t7/\n")
    assert out(cli(agent, "kv", "get", "-keys", "t7")) == "t7x\n"

    rules = {
        ("kv", "delete"): "Error! Missing KEY argument\n",
        ("kv", "delete", "-cas", "t7x"): "Cannot delete a key that does not exist. "
                                         "Provide a -modify-index greater than than 0.\n",
        ("kv", "delete", "-modify-index", "3", "t7x"): "Cannot specify -modify-index without -cas!\n",
        ("kv", "delete", "-recurse", "-cas", "-modify-index", "3", "t7x"): "Cannot specify both -cas and -recurse!\n",
        ("kv", "delete", "a", "b"): "Too many arguments (expected 1, got 2)\n",
    }
    for args, message in rules.items():
        result = cli(agent, *args)
        assert (result.returncode, err(result)) == (1, message), args


def test_acquire_and_release_with_a_session(agent: AgentProcess) -> None:
    mine = http(agent, "PUT", "/v1/session/create", b'{"LockDelay": "0s"}')["ID"]
    theirs = http(agent, "PUT", "/v1/session/create", b'{"LockDelay": "0s"}')["ID"]

    got = cli(agent, "kv", "put", "-acquire", "-session", mine, "t8/lock", "held")
    assert (got.returncode, out(got)) == (0, "Success! Lock acquired on: t8/lock\n")
    assert entry(agent, "t8/lock")["Session"] == mine
    detailed = out(cli(agent, "kv", "get", "-detailed", "t8/lock"))
    assert f"Session          {mine}\n" in detailed and "LockIndex        1\n" in detailed

    contended = cli(agent, "kv", "put", "-acquire", f"-session={theirs}", "t8/lock", "mine now")
    assert (contended.returncode, err(contended)) == (1, "Error! Did not acquire lock\n")
    not_holder = cli(agent, "kv", "put", "-release", "-session", theirs, "t8/lock")
    assert (not_holder.returncode, err(not_holder)) == (1, "Error! Did not release lock\n")
    released = cli(agent, "kv", "put", "-release", "-session", mine, "t8/lock", "free")
    assert (released.returncode, out(released)) == (0, "Success! Lock released on: t8/lock\n")
    assert "Session" not in entry(agent, "t8/lock")

    no_session = cli(agent, "kv", "put", "-acquire", "t8/lock")
    assert (no_session.returncode, err(no_session)) == (1, "Error! Missing -session (required with -acquire and -release)\n")
    unknown = cli(agent, "kv", "put", "-acquire", "-session", "9f1c5d86-0000-4000-8000-000000000000", "t8/lock")
    assert unknown.returncode == 1
    assert err(unknown).startswith("Error! Failed writing data: Unexpected response code: 500 (")


def test_flag_errors_follow_go_flag_rules(agent: AgentProcess) -> None:
    unknown = cli(agent, "kv", "get", "-nope", "k")
    assert unknown.returncode == 1 and err(unknown).startswith("flag provided but not defined: -nope\n")
    bad_uint = cli(agent, "kv", "put", "-flags", "minus-one", "k", "v")
    assert bad_uint.returncode == 1 and err(bad_uint).startswith('invalid value "minus-one" for flag -flags: parse error')
    needs_value = cli(agent, "kv", "put", "k", "v", "-session")  # flags after the key are arguments
    assert needs_value.returncode == 1 and err(needs_value) == "Error! Too many arguments (expected 1 or 2, got 3)\n"
    trailing = cli(None, "kv", "put", "-http-addr")
    assert trailing.returncode == 1 and err(trailing).startswith("flag needs an argument: -http-addr")
    no_sub = cli(None, "kv")
    assert no_sub.returncode == 1 and "Usage: proconsul kv" in err(no_sub)
    helped = cli(None, "kv", "get", "-h")
    assert helped.returncode == 0 and "Usage: proconsul kv get" in err(helped)


def test_http_addr_flag_env_and_unreachable_agent(agent: AgentProcess) -> None:
    assert cli(agent, "kv", "put", "t9/env", "via-env", env={"CONSUL_HTTP_ADDR": agent.http_addr},
               use_flag=False).returncode == 0
    via_env = cli(agent, "kv", "get", "t9/env", env={"CONSUL_HTTP_ADDR": f"http://{agent.http_addr}"}, use_flag=False)
    assert via_env.stdout == b"via-env\n"
    (dead,) = free_ports(1)
    # The flag wins over the environment.
    flag_wins = cli(None, "kv", "get", "-http-addr", agent.http_addr, "t9/env",
                    env={"CONSUL_HTTP_ADDR": f"127.0.0.1:{dead}"})
    assert flag_wins.stdout == b"via-env\n"
    refused = cli(None, "kv", "get", "t9/env", env={"CONSUL_HTTP_ADDR": f"127.0.0.1:{dead}"})
    assert refused.returncode == 1
    assert err(refused) == (f'Error querying Consul agent: Get "http://127.0.0.1:{dead}/v1/kv/t9/env": '
                            f"dial tcp 127.0.0.1:{dead}: connect: connection refused\n")
    put_refused = cli(None, "kv", "put", "-http-addr", f"127.0.0.1:{dead}", "k", "v")
    assert put_refused.returncode == 1 and err(put_refused).startswith("Error! Failed writing data: Put ")
    other_dc = cli(agent, "kv", "get", "-datacenter", "dc9", "t9/env")
    assert other_dc.returncode == 1
    assert err(other_dc) == "Error querying Consul agent: Unexpected response code: 500 (No path to datacenter)\n"
    stale = cli(agent, "kv", "get", "-stale", "t9/env")
    assert stale.stdout == b"via-env\n"


# -- catalog ----------------------------------------------------------------------------------------


def register(agent: AgentProcess, node: str, address: str, service: dict[str, Any] | None = None,
             meta: dict[str, str] | None = None, node_id: str = "") -> None:
    body: dict[str, Any] = {"Node": node, "Address": address, "NodeMeta": meta or {}}
    if node_id:
        body["ID"] = node_id
    if service is not None:
        body["Service"] = service
    assert http(agent, "PUT", "/v1/catalog/register", json.dumps(body).encode()) is True


def test_catalog_services_and_tags(agent: AgentProcess) -> None:
    register(agent, "web-node-1", "10.0.0.1", {"Service": "web", "Tags": ["v2", "blue"], "Port": 80},
             meta={"rack": "r1"})
    register(agent, "web-node-2", "10.0.0.2", {"Service": "web", "ID": "web2", "Tags": ["green"], "Port": 80})
    register(agent, "db-node", "10.0.0.3", {"Service": "postgresql", "Tags": ["primary"], "Port": 5432},
             meta={"rack": "r2"})

    plain = cli(agent, "catalog", "services")
    assert (plain.returncode, out(plain)) == (0, "consul\npostgresql\nweb\n")
    tags = cli(agent, "catalog", "services", "-tags")
    # Go's tabwriter pads a cell even when the row's last cell is empty ("consul" has no tags).
    assert out(tags) == ("consul          \n"
                         "postgresql      primary\n"
                         "web             blue,green,v2\n")
    on_node = cli(agent, "catalog", "services", "-node", "db-node", "-tags")
    assert out(on_node) == "postgresql      primary\n"
    by_meta = cli(agent, "catalog", "services", "-node-meta", "rack=r1")
    assert out(by_meta) == "web\n"
    nothing = cli(agent, "catalog", "services", "-node-meta", "rack=nowhere")
    assert (nothing.returncode, out(nothing)) == (0, "")
    assert err(nothing) == "No services match the given query - try expanding your search.\n"
    bad_meta = cli(agent, "catalog", "services", "-node-meta", "rack")
    assert bad_meta.returncode == 1 and 'Missing "=" value in argument: rack' in err(bad_meta)
    extra = cli(agent, "catalog", "services", "web")
    assert (extra.returncode, err(extra)) == (1, "Too many arguments (expected 0, got 1)\n")


def test_catalog_nodes_table_and_detailed(agent: AgentProcess) -> None:
    node_id = "1f6b3a2c-8d3e-4c1a-9b0e-5a7c9d2e4f60"
    register(agent, "cat-a", "10.1.0.1", {"Service": "api", "Port": 9000}, meta={"zone": "a", "env": "prod"},
             node_id=node_id)
    register(agent, "cat-bb", "10.1.0.22", {"Service": "api", "ID": "api-2", "Port": 9000})
    listed = cli(agent, "catalog", "nodes", "-service", "api")
    assert listed.returncode == 0
    assert out(listed) == ("Node    ID        Address    DC\n"
                           "cat-a   1f6b3a2c  10.1.0.1   dc1\n"
                           "cat-bb            10.1.0.22  dc1\n")
    detailed = out(cli(agent, "catalog", "nodes", "-detailed", "-node-meta", "zone=a"))
    lines = detailed.splitlines()
    assert lines[0].split() == ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"]
    assert lines[1].startswith(f"cat-a  {node_id}  10.1.0.1  dc1  ")
    assert lines[1].endswith("env=prod, zone=a")
    everything = out(cli(agent, "catalog", "nodes"))
    names = [line.split()[0] for line in everything.splitlines()[1:]]
    assert {"cli-kv", "cat-a", "cat-bb"} <= set(names)
    filtered = out(cli(agent, "catalog", "nodes", "-filter", 'Node == "cat-bb"'))
    assert [line.split()[0] for line in filtered.splitlines()] == ["Node", "cat-bb"]
    none = cli(agent, "catalog", "nodes", "-service", "no-such-service")
    assert (none.returncode, err(none)) == (0, "No nodes match the given query - try expanding your search.\n")
    dcs = cli(agent, "catalog", "datacenters")
    assert (dcs.returncode, out(dcs)) == (0, "dc1\n")
    no_sub = cli(None, "catalog")
    assert no_sub.returncode == 1 and "Usage: proconsul catalog" in err(no_sub)
