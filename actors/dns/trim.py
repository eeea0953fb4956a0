"""Fitting a response into its transport: Consul's ``trimUDPResponse`` / ``trimTCPResponse``.

What lives here: `fit`, which renders a finished response cut to its transport (answers dropped from
the end, the additional section kept in step: only the records of SRV targets still answered) and
reports whether anything was cut, setting TC only when asked (Consul's ``enable_truncate``);
and `answer_cap`, the count limit alone, so the resolver need not build records that would be cut.

* UDP: the limit is 512 bytes, or the EDNS0 payload size when larger (at most 65535 - 68). Without
  EDNS0 the answer count is also capped at ``udp_answer_limit`` (itself capped at 8; Consul applies the
  count only to plain 512-byte clients). Then answers are dropped (the authority section first) until
  the message fits; one answer is always kept, as Consul does.
* TCP: at most 4096 answers (1024 SRV), and the message must fit in 65523 bytes.

Sizes are measured by rendering with dnspython (compressed, as sent; `_fit` explains the search).
What must never live here: deciding what the answers are.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.rdatatype
import dns.renderer
import dns.rrset

from actors.dns.settings import MAX_UDP_ANSWER_LIMIT

DEFAULT_UDP_SIZE = 512
MAX_UDP_SIZE = 65535 - 68  # larger EDNS0 sizes are lowered to this (IP + UDP headers)
MAX_TCP_SIZE = 65523  # 64 KiB less the overhead Consul keeps
MAX_TCP_ANSWERS = 4096
MAX_TCP_SRV_ANSWERS = 1024
SECANT_STEPS = 6  # sizing renders before falling back to bisection


def udp_size_limit(request: dns.message.Message) -> int:
    size = DEFAULT_UDP_SIZE
    if request.edns >= 0 and request.payload > size:
        size = request.payload
    return min(size, MAX_UDP_SIZE)


def wire_size(message: dns.message.Message) -> int:
    """The size of ``message`` as sent (compressed); past 65535 bytes, any larger number."""
    try:
        return len(message.to_wire(max_size=65535, want_shuffle=False))
    except dns.exception.TooBig:
        return 1 << 20


def _measure(message: dns.message.Message) -> int:
    """The compressed size of the header and sections, however large (dnspython's renderer, no limit).

    The OPT record is left out; `_fit` adds it back as a constant.
    """
    renderer = dns.renderer.Renderer(message.id, message.flags, 1 << 30)
    for rrset in message.question:
        renderer.add_question(rrset.name, rrset.rdtype, rrset.rdclass)
    for section, rrsets in ((dns.renderer.ANSWER, message.answer), (dns.renderer.AUTHORITY, message.authority),
                            (dns.renderer.ADDITIONAL, message.additional)):
        for rrset in rrsets:
            renderer.add_rrset(section, rrset, want_shuffle=False)
    return renderer.output.tell()


def answer_cap(request: dns.message.Message, transport: str, answer_limit: int) -> int:
    """The most answers a reply to ``request`` can carry before any size check (for `Resolver`)."""
    if transport == "tcp":
        return MAX_TCP_SRV_ANSWERS if request.question[0].rdtype == dns.rdatatype.SRV else MAX_TCP_ANSWERS
    if udp_size_limit(request) == DEFAULT_UDP_SIZE:
        return max(1, min(MAX_UDP_ANSWER_LIMIT, answer_limit))
    return MAX_TCP_ANSWERS  # EDNS0: only the size limits


def fit(request: dns.message.Message, response: dns.message.Message, transport: str, answer_limit: int,
        *, cut: bool = False, flag_truncation: bool = False) -> tuple[bytes, bool]:
    """The wire form of ``response`` cut to fit ``transport``, and whether answers were cut.

    ``cut`` says the answers were already capped upstream (`answer_cap`); ``flag_truncation`` sets TC on
    a cut reply (Consul's ``enable_truncate``). The common case costs one render.
    """
    answers = list(response.answer)
    extra = list(response.additional)
    cap = answer_cap(request, transport, answer_limit)
    if len(answers) > cap:
        _keep(response, answers, cap, extra)
        cut = True
    limit = MAX_TCP_SIZE if transport == "tcp" else udp_size_limit(request)
    if cut and flag_truncation:
        response.flags |= dns.flags.TC
    try:
        wire = response.to_wire(max_size=65535, want_shuffle=False)
        if len(wire) <= limit:
            return wire, cut
    except dns.exception.TooBig:
        pass
    before = len(response.answer)
    _fit(response, limit, extra)
    cut = cut or len(response.answer) < before
    if cut and flag_truncation:
        response.flags |= dns.flags.TC
    return response.to_wire(max_size=65535, want_shuffle=False), cut


def _fit(response: dns.message.Message, max_size: int, extra: list[dns.rrset.RRset]) -> None:
    """Keep the longest prefix of the answers that fits ``max_size`` (at least one answer), for a
    response known not to fit as it is.

    Rendering a large message is the expensive step, so instead of bisecting over thousands of records
    the count is found by the secant method on exact sizes (a record's average size, measured on the
    last attempt, predicts the next count): a few renders, then a bisection over what is left.
    """
    total = len(response.answer)
    if total <= 1:
        return
    answers = list(response.answer)
    full = _measure(response)  # the caller found the whole message too large; this says by how much
    had_authority = bool(response.authority)
    response.authority = []  # what does not fit loses the authority section first, as in Consul
    _keep(response, answers, 0, extra)
    base = _measure(response)
    opt = wire_size(response) - base  # the OPT record, if any, is the same size whatever the count

    def size(count: int) -> int:
        _keep(response, answers, count, extra)
        return _measure(response) + opt

    good, bad = 1, total  # `good` answers fit (or good == 1, kept regardless); `bad` answers do not
    count, measured = total, (size(total) if had_authority else full + opt)
    for _ in range(SECANT_STEPS):
        if measured <= max_size:
            good = max(good, count)
        else:
            bad = min(bad, count)
        if bad - good <= 1:
            break
        per_answer = max(1.0, (measured - base - opt) / count)
        count = min(max(int((max_size - base - opt) / per_answer), good + 1), bad - 1)
        measured = size(count)
    while bad - good > 1:
        middle = (good + bad) // 2
        if size(middle) <= max_size:
            good = middle
        else:
            bad = middle
    _keep(response, answers, good, extra)


def _keep(response: dns.message.Message, answers: list[dns.rrset.RRset], count: int,
          extra: list[dns.rrset.RRset]) -> None:
    response.answer = answers[:count]
    targets = {rr[0].target for rr in response.answer if rr.rdtype == dns.rdatatype.SRV}
    if targets or any(rr.rdtype == dns.rdatatype.SRV for rr in answers):
        response.additional = [rr for rr in extra if rr.name in targets]
