"""DNS packets, fuzzed.

* `actors.dns.wire.decode` on arbitrary bytes and on mutated real queries raises only `Drop` or `Reject`
  (whose reply parses and echoes the query ID), or returns a one-question query.
* The agent's query handler (`QueryHandler.answer`, what the UDP and TCP servers call) given mutated
  queries for names it serves: every reply parses, carries the query's ID, and no query ever reaches the
  internal-error path (``errors`` stays 0: an exception while answering is a bug even though the client
  only sees SERVFAIL). Afterwards the agent still answers over UDP.
"""

from __future__ import annotations

import socket

import dns.edns
import dns.message
import dns.rcode
from hypothesis import given
from hypothesis import strategies as st

from actors.dns import wire
from tests.fuzz.fuzzkit import IO_TIMEOUT, AgentThread, fuzz_settings

NAMES = ["fuzz1.node.consul", "consul.service.consul", "web.service.consul", "_consul._tcp.service.consul",
         "1.0.0.127.in-addr.arpa", "fuzz1.node.dc1.consul", "x.query.consul", "consul.service.dc9.consul",
         "tag.consul.service.consul", "a" * 63 + ".node.consul", "example.com", ".", "consul",
         "virtual.consul", "fuzz1.node.dc1.consul.consul"]
TYPES = ["A", "AAAA", "SRV", "TXT", "PTR", "ANY", "SOA", "NS", "CNAME", "MX", "AXFR", "IXFR", "OPT", "TYPE999"]


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    query = dns.message.make_query(draw(st.sampled_from(NAMES)), draw(st.sampled_from(TYPES)),
                                   use_edns=draw(st.sampled_from([None, 0, 1])),
                                   payload=draw(st.sampled_from([0, 512, 1232, 4096, 65535])),
                                   options=draw(st.sampled_from([[], [dns.edns.ECSOption("127.0.0.1", 24)]])))
    query.id = draw(st.integers(0, 65535))
    data = bytearray(query.to_wire())
    for _ in range(draw(st.integers(0, 3))):  # bit flips, truncation, trailing junk
        kind = draw(st.sampled_from(["flip", "cut", "append", "set"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))):]
        elif kind == "append":
            data += draw(st.binary(max_size=20))
        elif kind == "set" and len(data) > 12:
            data[draw(st.integers(2, 11))] = draw(st.integers(0, 255))
    return bytes(data)


packets = st.one_of(queries(), st.binary(max_size=80))


def _reply_matches(reply: bytes, query: bytes) -> None:
    parsed = dns.message.from_wire(reply)
    assert parsed.id == int.from_bytes(query[:2], "big")
    assert parsed.flags & dns.flags.QR


@given(data=packets)
@fuzz_settings(weight=10.0)
def test_decode_raises_only_drop_or_reject(data: bytes) -> None:
    try:
        query = wire.decode(data)
    except wire.Drop:
        return
    except wire.Reject as rejected:
        _reply_matches(rejected.reply, data)
        return
    assert len(query.question) == 1


@given(data=queries())
@fuzz_settings(weight=2.0)
def test_query_handler_answers_mutated_queries(agent_thread: AgentThread, data: bytes) -> None:
    handler = agent_thread.ctx.extras["dns.handler"]  # type: ignore[union-attr]
    transport = "udp" if data[-1:] != b"\x00" else "tcp"
    reply = agent_thread.call_in_agent(handler.answer, data, transport)
    if reply is not None:
        _reply_matches(reply, data)
    assert handler.stats.errors == 0, (data, handler.stats.as_dict())


def test_dns_still_answers_after_the_fuzz(agent_thread: AgentThread) -> None:
    query = dns.message.make_query("fuzz1.node.consul", "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(IO_TIMEOUT)
        sock.sendto(query.to_wire(), agent_thread.dns_addr)
        reply = dns.message.from_wire(sock.recv(65535))
    assert reply.id == query.id and reply.rcode() == dns.rcode.NOERROR and reply.answer
    agent_thread.assert_healthy()
