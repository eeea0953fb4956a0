"""The fault table on its own: selectors, composition, reproducibility, counters, validation; and naming.

Nothing here opens a socket or runs Trio; what must never live here: transport behaviour (see test_stream_faults, test_udp).
"""

from __future__ import annotations

import random

import msgspec
import pytest

from runtime.transport.addresses import AddressBook, format_address, peer_name
from runtime.transport.faults import PASS, FaultRule, FaultTable, Verdict


def table(*rules: FaultRule, seed: int = 1) -> FaultTable:
    return FaultTable(random.Random(seed), rules)


def test_no_rules_pass_everything_without_counting() -> None:
    faults = table()
    assert faults.verdict("n1", "n2") is PASS
    assert faults.links == {}


def test_partition_is_one_way_by_construction() -> None:
    faults = table(FaultRule(src="n1", dst="n2", drop=True))
    assert faults.verdict("n1", "n2").drop
    assert faults.verdict("n2", "n1") == PASS
    assert faults.verdict("n1", "n3") == PASS
    assert faults.blocks("n1", "n2") and not faults.blocks("n2", "n1")


def test_wildcards_isolate_a_node_both_ways() -> None:
    faults = table(FaultRule(src="n1", drop=True), FaultRule(dst="n1", drop=True))
    assert faults.verdict("n1", "n2").drop and faults.verdict("n3", "n1").drop
    assert faults.verdict("n2", "n3") == PASS


def test_matching_rules_compose() -> None:
    faults = table(FaultRule(delay=0.1), FaultRule(src="n1", delay=0.05, duplicate=1.0))
    assert faults.verdict("n1", "n2") == Verdict(drop=False, delay=pytest.approx(0.15), duplicate=True)
    assert faults.verdict("n2", "n1") == Verdict(drop=False, delay=pytest.approx(0.1), duplicate=False)


def test_jitter_stays_within_bounds_and_never_below_zero() -> None:
    faults = table(FaultRule(delay=0.05, jitter=0.1))
    delays = [faults.verdict("a", "b").delay for _ in range(2000)]
    assert min(delays) == 0.0 and max(delays) <= 0.15
    assert 0.02 < sum(delays) / len(delays) < 0.1


def test_loss_is_seeded_and_exactly_reproducible() -> None:
    def lost(seed: int) -> int:
        faults = table(FaultRule(src="a", dst="b", loss=0.25), seed=seed)
        return sum(faults.verdict("a", "b").drop for _ in range(4000))

    assert lost(7) == lost(7)
    assert lost(7) != lost(8)
    assert 900 < lost(7) < 1100


def test_set_replaces_the_rule_for_the_same_link_and_clear_removes_it() -> None:
    faults = table(FaultRule(src="a", dst="b", drop=True))
    faults.set(FaultRule(src="a", dst="b", delay=0.2))
    faults.set(FaultRule(src="b", dst="a", drop=True))
    assert faults.rules == (FaultRule(src="a", dst="b", delay=0.2), FaultRule(src="b", dst="a", drop=True))
    assert faults.clear("b", "a") and not faults.clear("b", "a")
    faults.replace([FaultRule(loss=1.0)])
    assert faults.rules == (FaultRule(loss=1.0),)


def test_heal_restores_but_keeps_the_counters() -> None:
    faults = table(FaultRule(src="a", dst="b", drop=True), FaultRule(src="a", dst="c", delay=0.1, duplicate=1.0))
    for _ in range(3):
        faults.verdict("a", "b")
        faults.verdict("a", "c")
    faults.heal()
    assert faults.verdict("a", "b") == PASS and faults.rules == ()
    stats = faults.statistics()
    assert stats["rules"] == []
    assert stats["links"] == {
        "a->b": {"seen": 3, "dropped": 3, "delayed": 0, "duplicated": 0},
        "a->c": {"seen": 3, "dropped": 0, "delayed": 3, "duplicated": 3},
    }


def test_rules_decode_from_json_with_precise_errors() -> None:
    rule = msgspec.json.decode(b'{"src": "s1", "dst": "s2", "loss": 0.1, "delay": 0.075, "jitter": 0.05}', type=FaultRule)
    assert rule == FaultRule(src="s1", dst="s2", loss=0.1, delay=0.075, jitter=0.05)
    with pytest.raises(msgspec.ValidationError, match="loss must be a probability between 0 and 1, got 1.5"):
        msgspec.json.decode(b'{"loss": 1.5}', type=FaultRule)
    with pytest.raises(msgspec.ValidationError, match="unknown field `partition`"):
        msgspec.json.decode(b'{"partition": true}', type=FaultRule)
    with pytest.raises(ValueError, match="delay must be a finite number of seconds"):
        FaultRule(delay=-1)


def test_address_book_names_peers_and_falls_back_to_host_port() -> None:
    book = AddressBook({("10.0.0.2", 8301): "n2"})
    assert book.name(("10.0.0.2", 8301)) == "n2"
    assert book.name(("10.0.0.3", 8301)) == "10.0.0.3:8301"
    assert format_address(("::1", 8300)) == "[::1]:8300"
    book.set(("10.0.0.9", 8301), "n2")
    book.forget("n2")
    assert len(book) == 0
    assert peer_name(("10.0.0.2", 8301), None) == "10.0.0.2:8301"


def test_aliases_are_read_as_node_names_on_both_ends() -> None:
    # The WAN pool knows servers as "<node>.<dc>": rules still name nodes only.
    faults = table(FaultRule(src="s1", dst="t1", drop=True))
    assert not faults.blocks("s1.dc1", "t1.dc2") and not faults.verdict("s1.dc1", "t1.dc2").drop
    faults.alias("s1.dc1", "s1")
    faults.alias("t1.dc2", "t1")
    faults.alias("t1", "t1")  # a name that is already the node name is no alias
    assert faults.blocks("s1.dc1", "t1.dc2") and faults.verdict("s1.dc1", "t1.dc2").drop
    assert faults.verdict("s1", "t1.dc2").drop and faults.verdict("s1.dc1", "t1").drop
    assert not faults.verdict("t1.dc2", "s1.dc1").drop  # still one way
    assert faults.canonical("t1.dc2") == "t1" and faults.canonical("x") == "x"
    assert set(faults.links) == {"s1->t1"}  # counted under node names (t1 -> s1 matched no rule)
    assert faults.statistics()["aliases"] == {"s1.dc1": "s1", "t1.dc2": "t1"}
    # A rule naming an alias matches nothing: the contract is node names.
    faults.replace([FaultRule(src="s1.dc1", dst="t1.dc2", drop=True)])
    assert not faults.verdict("s1.dc1", "t1.dc2").drop
