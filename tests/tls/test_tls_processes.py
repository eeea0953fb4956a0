"""Real processes: three servers and a client agent with TLS on every server-port connection, and the
CLI writing through the client's HTTPS API (the write travels client -> server over TLS RPC)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cluster.proc_kit import ProcCluster, wait_until
from tests.support.ports import free_ports
from tests.tls.tls_kit import Pki, tls_config

STRICT = {"verify_incoming": True, "verify_outgoing": True, "verify_server_hostname": True}


def test_a_tls_cluster_of_processes_serves_the_cli_over_https(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    server_cfg = tmp_path / "server-tls.json"
    server_cfg.write_text(json.dumps(tls_config(pki, pki.leaf("server"), **STRICT)))
    client_cert = pki.leaf("client")
    (https_port,) = free_ports(1)
    client_cfg = tmp_path / "client-tls.json"
    client_data = tls_config(pki, client_cert, **STRICT)
    client_data["ports"] = {"https": https_port}
    client_data["tls"]["https"] = {"verify_incoming": True}
    client_cfg.write_text(json.dumps(client_data))

    cluster = ProcCluster(tmp_path, servers=3, clients=1)
    for agent in cluster.servers:
        agent.args += ["-config-file", str(server_cfg)]
    client = cluster.clients[0]
    client.args += ["-config-file", str(client_cfg)]
    try:
        cluster.start()
        wait_until(lambda: cluster.leader() is not None, 60, "a leader elected over TLS")
        cli_cert = pki.leaf("cli")
        cli = [sys.executable, "-m", "actors.cli", "kv"]
        tls_flags = ["-http-addr", f"https://127.0.0.1:{https_port}", "-ca-file", pki.ca_file,
                     "-client-cert", cli_cert[0], "-client-key", cli_cert[1]]

        def put() -> bool:
            proc = subprocess.run([*cli, "put", *tls_flags, "tls/key", "over-tls"], capture_output=True,
                                  text=True, timeout=30)
            return proc.returncode == 0 and "Success! Data written to: tls/key" in proc.stdout

        wait_until(put, 60, "a KV write through the client's HTTPS API")
        got = subprocess.run([*cli, "get", *tls_flags, "tls/key"], capture_output=True, text=True, timeout=30)
        assert got.returncode == 0 and got.stdout.strip() == "over-tls", got.stderr
        for server in cluster.servers:
            wait_until(lambda s=server: s.call("GET", "/v1/kv/tls/key?raw&stale")[1] == b"over-tls", 30,
                       f"the write on {server.name}")
        # Without a client certificate the HTTPS API refuses the CLI.
        refused = subprocess.run([*cli, "get", "-http-addr", f"https://127.0.0.1:{https_port}", "-ca-file",
                                  pki.ca_file, "tls/key"], capture_output=True, text=True, timeout=30)
        assert refused.returncode == 1
        for agent in cluster.agents:
            assert agent.alive, agent.log_path.read_text()[-2000:]
            log = agent.log_path.read_text()
            assert "plaintext_refused" not in log and "unauthorized" not in log, log[-2000:]
    finally:
        cluster.close()
