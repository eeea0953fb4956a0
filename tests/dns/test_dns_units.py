"""The pure pieces of the DNS package: name grammar, settings, TXT encoding, trimming, wire decoding."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.dns import records, trim, wire
from actors.dns.names import AddrName, Apex, Invalid, NodeName, Outside, ReverseName, ServiceName, classify
from actors.dns.settings import DnsSettings, parse_recursor, usable_recursors
from tests.dns.conftest import dev_config

DOMAIN = dns.name.from_text("consul.")
A, SRV = dns.rdatatype.A, dns.rdatatype.SRV


@pytest.mark.parametrize(("name", "qtype", "expected"), [
    ("web.service.consul.", A, ServiceName("web", None, None)),
    ("WEB.Service.Consul.", A, ServiceName("web", None, None)),
    ("v1.web.service.consul.", A, ServiceName("web", "v1", None)),
    ("a.b.web.service.dc2.consul.", A, ServiceName("web", "a.b", "dc2")),
    ("web.service.dc1.dc.consul.", A, ServiceName("web", None, "dc1")),
    ("_web._tcp.service.consul.", SRV, ServiceName("web", None, None)),
    ("_web._v2.service.dc1.consul.", A, ServiceName("web", "v2", "dc1")),
    ("_web._tcp.consul.", SRV, ServiceName("web", None, None)),
    ("_web._tcp.dc3.consul.", SRV, ServiceName("web", None, "dc3")),
    ("n1.node.consul.", A, NodeName("n1", None)),
    ("host.example.node.dc1.consul.", A, NodeName("host.example", "dc1")),
    ("7f000001.addr.dc1.consul.", A, AddrName("127.0.0.1")),
    ("fd000000000000000000000000000005.addr.consul.", A, AddrName("fd00::5")),
    ("consul.", A, Apex()),
    ("1.0.0.127.in-addr.arpa.", A, ReverseName("127.0.0.1")),
    ("0.127.in-addr.arpa.", A, ReverseName(None)),
    ("example.com.", A, Outside()),
    ("consul.example.com.", A, Outside()),
])
def test_classify(name: str, qtype: int, expected: object) -> None:
    assert classify(dns.name.from_text(name), qtype, DOMAIN) == expected


@pytest.mark.parametrize("name", ["_web._tcp.consul.", "web.consul.", "service.consul.", "x.service.a.b.consul.",
                                  "zz.addr.consul.", "q.query.consul.", "web.connect.consul.", "node.consul."])
def test_classify_invalid(name: str) -> None:
    assert isinstance(classify(dns.name.from_text(name), A, DOMAIN), Invalid)


def test_settings_from_config() -> None:
    cfg = dev_config("-domain", "Internal", node_ttl=12.5, service_ttl={"web*": 5.0, "webapp*": 9.0, "db": 3.0})
    s = DnsSettings.from_config(cfg)
    assert s.domain == dns.name.from_text("internal.") and s.node_ttl == 12
    assert [s.service_ttl(n) for n in ("web", "WEBAPP-x", "db", "db2", "other")] == [5, 9, 3, 0, 0]
    assert DnsSettings.from_config(dev_config(service_ttl={"*": 4.0})).service_ttl("anything") == 4


@pytest.mark.parametrize(("text", "expected"), [
    ("8.8.8.8", ("8.8.8.8", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5300", ("::1", 5300)), ("[fd00::1]", ("fd00::1", 53)),
])
def test_parse_recursor(text: str, expected: tuple[str, int]) -> None:
    assert parse_recursor(text) == expected


@pytest.mark.parametrize("text", ["dns.google", "1.2.3.4:0", "1.2.3.4:70000", "[::1]x"])
def test_parse_recursor_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_recursor(text)
    assert usable_recursors([text, "9.9.9.9"]) == (("9.9.9.9", 53),)  # skipped, not fatal


def test_rfc1464_quoting() -> None:
    assert records.rfc1464("key", "value") == "key=value"
    assert records.rfc1464("a=b", "c`d") == "a`=b=c``d"
    assert records.rfc1464("  k ", "v") == "` ` k` =v"
    texts = [b"".join(rr[0].strings) for rr in records.meta_txt(DOMAIN, 0, {"rfc1035-x": "raw", "k": "v"})]
    assert texts == [b"k=v", b"raw"]
    long = records.txt(DOMAIN, 0, "x" * 600)
    assert [len(s) for s in long[0].strings] == [255, 255, 90]


def _response_with(count: int, rdtype: str = "A") -> tuple[dns.message.Message, dns.message.Message]:
    query = dns.message.make_query("big.service.consul", rdtype)
    response = dns.message.make_response(query)
    for i in range(count):
        ip = records.parse_ip(f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}")
        assert ip is not None
        if rdtype == "SRV":
            target = records.node_fqdn(f"node-{i}", "dc1", DOMAIN)
            response.answer.append(records.srv(query.question[0].name, 0, 1, 80, target))
            response.additional.append(records.address(target, 0, ip))
        else:
            response.answer.append(records.address(query.question[0].name, 0, ip))
    return query, response


def test_trim_tcp_caps_records_and_size() -> None:
    query, response = _response_with(5000)
    wire, cut = trim.fit(query, response, "tcp", 3)
    assert cut and len(wire) == trim.wire_size(response) <= trim.MAX_TCP_SIZE
    assert 4000 < len(response.answer) <= trim.MAX_TCP_ANSWERS  # 4096 A records would not fit 65523 bytes
    assert trim.wire_size(response) <= trim.MAX_TCP_SIZE

    query, response = _response_with(1500, "SRV")
    assert trim.fit(query, response, "tcp", 3)[1]
    kept = len(response.answer)
    assert kept <= trim.MAX_TCP_SRV_ANSWERS and trim.wire_size(response) <= trim.MAX_TCP_SIZE
    assert {rr.name for rr in response.additional} == {rr[0].target for rr in response.answer}

    query, response = _response_with(10)
    assert not trim.fit(query, response, "tcp", 3)[1] and len(response.answer) == 10


def test_trim_udp_respects_edns_size() -> None:
    query, response = _response_with(300, "SRV")
    query.use_edns(0, payload=1232)
    wire, cut = trim.fit(query, response, "udp", 3, flag_truncation=True)
    assert cut and 8 < len(response.answer) < 300  # EDNS: no count cap, only the size
    assert len(wire) <= 1232 and dns.message.from_wire(wire).flags & dns.flags.TC
    _, more = _response_with(300, "SRV")  # the same records: one more answer would not have fitted
    more.answer = more.answer[:len(response.answer) + 1]
    more.additional = [rr for rr in more.additional if rr.name in {a[0].target for a in more.answer}]
    assert trim.wire_size(more) > 1232


def test_trim_udp_plain_caps_answers_then_fits_512() -> None:
    query, response = _response_with(20, "SRV")
    wire, cut = trim.fit(query, response, "udp", 8)
    assert cut and len(wire) <= 512 and 1 <= len(response.answer) <= 8
    query, response = _response_with(20)
    wire, cut = trim.fit(query, response, "udp", 3)
    assert cut and len(response.answer) == 3 and not dns.message.from_wire(wire).flags & dns.flags.TC


def test_wire_decode_order_of_checks() -> None:
    with pytest.raises(wire.Drop):
        wire.decode(b"\x00" * 11)
    notify = dns.message.make_query("consul.", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    with pytest.raises(wire.Reject) as rejected:
        wire.decode(notify.to_wire())
    assert rejected.value.rcode == dns.rcode.NOTIMP


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_wire_decode_never_raises_anything_else(data: bytes) -> None:
    try:
        query = wire.decode(data)
    except wire.Drop:
        return
    except wire.Reject as rejected:
        reply = dns.message.from_wire(rejected.reply)
        assert reply.id == int.from_bytes(data[:2], "big") and reply.rcode() == rejected.rcode
        return
    assert len(query.question) == 1
