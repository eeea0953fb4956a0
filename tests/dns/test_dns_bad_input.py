"""Malformed and unsupported input: the right rcode (or silence), and the actor keeps answering."""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import trio

from actors.dns.framing import frame, receive_message
from tests.dns.conftest import TIMEOUT, Agent, addresses


async def still_answers(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web")
    assert addresses(await agent.udp("web.service.consul")) == ["10.0.0.1"]
    assert addresses(await agent.tcp("web.service.consul")) == ["10.0.0.1"]
    assert agent.cell.restarts == 0 and agent.cell.state == "running"


def header(query_id: int, flags: int, qdcount: int) -> bytes:
    return (query_id.to_bytes(2, "big") + flags.to_bytes(2, "big") + qdcount.to_bytes(2, "big") + bytes(6))


async def test_garbage_after_a_header_is_formerr(agent: Agent) -> None:
    raw = await agent.raw_udp(header(0x1234, dns.flags.RD, 1) + b"\xc0\xff\x00\x01junk")
    assert raw is not None
    reply = dns.message.from_wire(raw)
    assert reply.id == 0x1234 and reply.rcode() == dns.rcode.FORMERR and reply.flags & dns.flags.QR
    await still_answers(agent)


async def test_truncated_header_and_responses_are_dropped(agent: Agent) -> None:
    query = dns.message.make_query("n1.node.consul", "A")
    response = dns.message.make_response(dns.message.make_query("x.consul", "A"))
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.connect(agent.dns_addr)
        await sock.send(b"\x00\x01\x02\x03\x04")  # shorter than a header: dropped
        await sock.send(response.to_wire())  # QR set: never answered (no reflection loops)
        await sock.send(query.to_wire())
        with trio.fail_after(TIMEOUT):
            first = dns.message.from_wire(await sock.recv(65535))
    assert first.id == query.id  # nothing came back for the first two datagrams
    assert agent.stats()["malformed_dropped"] == 2
    await still_answers(agent)


async def test_two_questions_is_formerr(agent: Agent) -> None:
    query = dns.message.make_query("web.service.consul", "A")
    query.question.append(dns.rrset.RRset(dns.name.from_text("db.service.consul."), dns.rdataclass.IN,
                                          dns.rdatatype.A))
    reply = dns.message.from_wire(await agent.raw_udp(query.to_wire()))
    assert reply.id == query.id and reply.rcode() == dns.rcode.FORMERR
    empty = dns.message.from_wire(await agent.raw_udp(header(7, 0, 0)))  # no question at all
    assert empty.rcode() == dns.rcode.FORMERR
    await still_answers(agent)


async def test_notify_and_update_are_notimp(agent: Agent) -> None:
    for opcode in (dns.opcode.NOTIFY, dns.opcode.UPDATE, dns.opcode.STATUS):
        query = dns.message.make_query("consul.", "SOA")
        query.set_opcode(opcode)
        reply = dns.message.from_wire(await agent.raw_udp(query.to_wire()))
        assert reply.id == query.id and reply.rcode() == dns.rcode.NOTIMP and reply.opcode() == opcode
    axfr = await agent.tcp("consul", "AXFR")
    assert axfr.rcode() == dns.rcode.NOTIMP
    assert agent.stats()["by_rcode"]["NOTIMP"] == 4
    await still_answers(agent)


async def test_unknown_edns_version_is_badvers(agent: Agent) -> None:
    query = dns.message.make_query("web.service.consul", "A", use_edns=1)
    reply = dns.message.from_wire(await agent.raw_udp(query.to_wire()))
    assert reply.rcode() == dns.rcode.BADVERS
    await still_answers(agent)


async def test_random_datagrams_never_hurt_the_actor(agent: Agent) -> None:
    rng = random.Random(1234)
    query = dns.message.make_query("n1.node.consul", "A")
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.connect(agent.dns_addr)
        for _ in range(300):
            junk = bytearray(rng.randbytes(rng.randrange(0, 120)))
            if len(junk) > 2 and rng.random() < 0.7:
                junk[2] &= 0x7F  # mostly queries (QR clear), so most get past the first check
            await sock.send(bytes(junk))
        await sock.send(query.to_wire())
        with trio.fail_after(TIMEOUT):
            while True:  # replies to the junk may come first, in any order
                data = await sock.recv(65535)
                if data[:2] == query.id.to_bytes(2, "big") and dns.message.from_wire(data).answer:
                    break
    assert agent.stats()["errors"] == 0
    await still_answers(agent)


async def open_tcp(agent: Agent) -> trio.SocketStream:
    return await trio.open_tcp_stream(*agent.dns_addr)


async def test_tcp_oversized_or_tiny_length_prefix_closes_the_connection(agent: Agent) -> None:
    for prefix in (b"\xff\xff", b"\x00\x05"):
        stream = await open_tcp(agent)
        async with stream:
            await stream.send_all(prefix)
            with trio.fail_after(TIMEOUT):
                assert await stream.receive_some(100) == b""  # the server hung up
    assert agent.stats()["tcp_closed_bad_length"] == 2
    await still_answers(agent)


async def test_tcp_pipelined_queries_are_answered_in_order(agent: Agent) -> None:
    await agent.service("web1", "10.0.0.1", "web")
    queries = [dns.message.make_query(name, "A") for name in ("web.service.consul", "n1.node.consul", "x.consul")]
    stream = await open_tcp(agent)
    async with stream:
        await stream.send_all(b"".join(frame(q.to_wire()) for q in queries))
        with trio.fail_after(TIMEOUT):
            replies = [dns.message.from_wire(await receive_message(stream)) for _ in queries]
    assert [r.id for r in replies] == [q.id for q in queries]
    assert [r.rcode() for r in replies] == [dns.rcode.NOERROR, dns.rcode.NOERROR, dns.rcode.NXDOMAIN]


async def test_tcp_garbage_message_gets_formerr_and_the_connection_stays(agent: Agent) -> None:
    stream = await open_tcp(agent)
    async with stream:
        await stream.send_all(frame(header(99, 0, 1) + b"\xff"))
        with trio.fail_after(TIMEOUT):
            reply = dns.message.from_wire(await receive_message(stream))
        assert reply.id == 99 and reply.rcode() == dns.rcode.FORMERR
        query = dns.message.make_query("n1.node.consul", "A")
        await stream.send_all(frame(query.to_wire()))
        with trio.fail_after(TIMEOUT):
            assert dns.message.from_wire(await receive_message(stream)).rcode() == dns.rcode.NOERROR
