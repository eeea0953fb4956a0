"""``proconsul tls ca create`` and ``proconsul tls cert create``: a CA and certificates for a test cluster.

What lives here: the two sub-commands with Consul's flags, file names and messages, writing into the
current directory as Consul's do:

- ``tls ca create [-days 1825] [-domain consul] [-name-constraint] [-additional-name-constraint D]...
  [-common-name CN]`` writes ``<domain>-agent-ca.pem`` and ``<domain>-agent-ca-key.pem`` and refuses to
  overwrite them.
- ``tls cert create -server|-client|-cli [-dc dc1] [-domain consul] [-node N] [-ca FILE] [-key FILE]
  [-additional-dnsname D]... [-additional-ipaddress IP]... [-days 365]`` writes
  ``<dc>-<kind>-<domain>-<n>.pem`` and ``...-<n>-key.pem`` with the first free ``n``; ``#DOMAIN#`` in
  ``-ca``/``-key`` is replaced by the domain. What each kind of certificate names is
  ``actors.tls.naming.leaf_plan`` (servers: ``server.<dc>.<domain>``, ``localhost``, ``127.0.0.1``).

Keys are ECDSA P-256 (``runtime.tls.certs``); key files are written readable by their owner only.

What must never live here: certificate building (``runtime.tls.certs``) or naming rules
(``actors.tls.naming``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from actors.cli.kv_cmd import FlagError, FlagSet, HelpRequested, error, info
from actors.tls.naming import CA_COMMON_NAME, CA_ORGANIZATION, ca_file_names, leaf_plan, next_free_pair
from runtime.tls.certs import Issued, create_ca, create_leaf, describe, load_issued

SUMMARY = "Builtin helpers for creating CAs and certificates"

USAGE = """Usage: proconsul tls <subcommand> <subcommand> [options]

  Helpers to set up a CA and certificates for TLS (server RPC port and HTTPS).

    $ proconsul tls ca create
    $ proconsul tls cert create -server
    $ proconsul tls cert create -client

Subcommands:
    ca create      Create a new Consul CA
    cert create    Create a new certificate"""

CA_USAGE = """Usage: proconsul tls ca create [options]

  Create a new Consul CA in the current directory:

  $ proconsul tls ca create
  ==> Saved consul-agent-ca.pem
  ==> Saved consul-agent-ca-key.pem"""

CERT_USAGE = """Usage: proconsul tls cert create [options]

  Create a new certificate signed by the CA, in the current directory:

  $ proconsul tls cert create -server
  ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
  ==> Saved dc1-server-consul-0.pem
  ==> Saved dc1-server-consul-0-key.pem"""

SERVER_WARNING = """==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys."""


def _parse(flags: FlagSet, argv: list[str], usage: str) -> int | None:
    """Parse; return an exit code when the command must stop here."""
    try:
        rest = flags.parse(argv)
    except HelpRequested:
        error(f"{usage}\n\nCommand Options:\n\n{flags.describe()}")
        return 0
    except FlagError as err:
        error(f"Failed to parse args: {err}")
        return 1
    if rest:
        error(f"Too many arguments (expected 0, got {len(rest)})")
        return 1
    return None


def _write(path: str, data: bytes, *, secret: bool) -> None:
    mode = 0o600 if secret else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ca_create(argv: list[str]) -> int:
    flags = FlagSet()
    flags.uint("days", 1825, "Number of days the CA is valid for. Defaults to 1825 days (about 5 years).")
    flags.string("domain", "consul", "The DNS domain of the cluster; used for file names and -name-constraint.")
    flags.bool("name-constraint", "Only let the CA sign certificates for localhost, -domain and "
               "-additional-name-constraint names.")
    flags.strings("additional-name-constraint", "Another DNS name the CA may sign for (with -name-constraint). "
               "Repeatable.")
    flags.string("common-name", "", "Common Name of the CA. Defaults to 'Consul Agent CA <serial number>'.")
    stop = _parse(flags, argv, CA_USAGE)
    if stop is not None:
        return stop
    if flags["days"] <= 0:
        error("-days must be greater than zero")
        return 1
    cert_file, key_file = ca_file_names(flags["domain"])
    for path in (cert_file, key_file):
        if os.path.exists(path):
            error(f"{path} already exists.")
            return 1
    domain = flags["domain"].rstrip(".")
    constraints: list[str] = []
    if flags["name-constraint"]:
        constraints = [domain, "localhost", *flags["additional-name-constraint"]]
    from cryptography import x509  # only for a serial number shown in the default common name

    serial = x509.random_serial_number()
    name = flags["common-name"] or f"{CA_COMMON_NAME} {serial}"
    try:
        ca = create_ca(name, days=flags["days"], organization=CA_ORGANIZATION, permitted_dns=constraints,
                       serial=serial)
        _write(cert_file, ca.cert_pem, secret=False)
        info(f"==> Saved {cert_file}")
        _write(key_file, ca.key_pem, secret=True)
        info(f"==> Saved {key_file}")
    except (OSError, ValueError) as err:
        error(str(err))
        return 1
    return 0


def cert_create(argv: list[str]) -> int:
    flags = FlagSet()
    flags.string("ca", "#DOMAIN#-agent-ca.pem", "Provide path to the ca. Defaults to #DOMAIN#-agent-ca.pem.")
    flags.string("key", "#DOMAIN#-agent-ca-key.pem", "Provide path to the key. Defaults to #DOMAIN#-agent-ca-key.pem.")
    flags.bool("server", "Generate server certificate.")
    flags.bool("client", "Generate client certificate.")
    flags.bool("cli", "Generate cli certificate.")
    flags.string("node", "", "With -server: also name <node>.server.<datacenter>.<domain>.")
    flags.uint("days", 365, "Provide number of days the certificate is valid for from now on. Defaults to 1 year.")
    flags.string("dc", "dc1", "Provide the datacenter. Defaults to dc1.")
    flags.string("domain", "consul", "Provide the domain. Defaults to consul.")
    flags.strings("additional-dnsname", "Provide an additional dnsname for Subject Alternative Names. "
               "localhost is always included. This flag may be provided multiple times.")
    flags.strings("additional-ipaddress", "Provide an additional ipaddress for Subject Alternative Names. "
               "127.0.0.1 is always included. This flag may be provided multiple times.")
    stop = _parse(flags, argv, CERT_USAGE)
    if stop is not None:
        return stop
    kinds = [k for k in ("server", "client", "cli") if flags[k]]
    if len(kinds) != 1:
        error("Please provide either -server, -client, or -cli")
        return 1
    kind: Any = kinds[0]
    if flags["node"] and kind != "server":
        error("-node requires -server")
        return 1
    if flags["days"] <= 0:
        error("-days must be greater than zero")
        return 1
    domain = flags["domain"].rstrip(".")
    plan = leaf_plan(kind, dc=flags["dc"], domain=domain, node=flags["node"],
                     additional_dns=flags["additional-dnsname"], additional_ips=flags["additional-ipaddress"])
    names = next_free_pair(plan.prefix)
    if names is None:
        error("Could not find a filename that doesn't already exist")
        return 1
    cert_file, key_file = names
    ca_file = flags["ca"].replace("#DOMAIN#", domain, 1)
    ca_key_file = flags["key"].replace("#DOMAIN#", domain, 1)
    try:
        with open(ca_file, "rb") as fh:
            ca_pem = fh.read()
    except OSError as err:
        error(f"Error reading CA: {err}")
        return 1
    try:
        with open(ca_key_file, "rb") as fh:
            ca_key_pem = fh.read()
    except OSError as err:
        error(f"Error reading CA key: {err}")
        return 1
    if kind == "server":
        info(SERVER_WARNING)
    info(f"==> Using {ca_file} and {ca_key_file}")
    try:
        ca: Issued = load_issued(ca_pem, ca_key_pem)
        if not describe(ca_pem).is_ca:
            raise ValueError(f"{ca_file} is not a CA certificate")
        leaf = create_leaf(ca, common_name=plan.common_name, days=flags["days"], dns_names=plan.dns_names,
                           ip_addresses=plan.ip_addresses, server_auth=plan.server_auth,
                           client_auth=plan.client_auth)
        _write(cert_file, leaf.cert_pem, secret=False)
        info(f"==> Saved {os.path.basename(cert_file)}")
        _write(key_file, leaf.key_pem, secret=True)
        info(f"==> Saved {os.path.basename(key_file)}")
    except (OSError, ValueError) as err:
        error(str(err))
        return 1
    return 0


def run(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[:2] == ["ca", "create"]:
        return ca_create(argv[2:])
    if len(argv) >= 2 and argv[:2] == ["cert", "create"]:
        return cert_create(argv[2:])
    help_asked = any(a.lstrip("-") in ("h", "help") for a in argv[:2])
    print(USAGE, file=sys.stdout if help_asked else sys.stderr)
    return 0 if help_asked else 1
