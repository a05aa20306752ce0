"""Hypothesis: any bytes, split anywhere, never raise and never overfill the buffer."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmail.auth.sasl import new_exchange
from vmail.core.reply import Reply
from vmail.protocol.smtp import (
    DataComplete,
    Decision,
    ServerSession,
    SessionConfig,
    StartTls,
    xtext,
)

FRAGMENTS = [
    b"EHLO x\r\n",
    b"HELO x\r\n",
    b"MAIL FROM:<a@b>\r\n",
    b"MAIL FROM:<>",
    b" SIZE=",
    b" BODY=8BITMIME",
    b"RCPT TO:<c@d>\r\n",
    b" NOTIFY=NEVER",
    b" ORCPT=rfc822;a+40b",
    b"DATA\r\n",
    b"BDAT ",
    b" LAST\r\n",
    b"\r\n.\r\n",
    b"\n.\n",
    b"\r.\r",
    b".",
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"AUTH PLAIN\r\n",
    b"AUTH LOGIN dQ==\r\n",
    b"*\r\n",
    b"STARTTLS\r\n",
    b"RSET\r\n",
    b"QUIT\r\n",
    b"NOOP\r\n",
    b"VRFY x\r\n",
    b"3",
    b"0",
    b"x" * 3000,
]

CONFIG = SessionConfig(
    myhostname="h",
    tls_available=True,
    smtpd_sasl_auth_enable=True,
    message_size_limit=5000,
    max_pipelined_input=4096,
    line_length_limit=100,
    smtpd_hard_error_limit=1000,
)
BOUND = CONFIG.max_pipelined_input + 2 * CONFIG.smtpd_sasl_response_limit


def policy(decision: Decision) -> Reply | None:
    if isinstance(decision, DataComplete):
        return Reply(250, "2.0.0", "Ok")
    return None


chunks = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=64)), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks, st.integers(min_value=1, max_value=50), st.booleans())
def test_session_never_raises_and_stays_bounded(parts: list[bytes], step: int, lazy: bool) -> None:
    session = ServerSession(CONFIG, new_exchange)
    session.start()
    data = b"".join(parts)
    for i in range(0, len(data), step):
        events = session.receive(data[i : i + step])
        while events:
            ev = events.pop(0)
            if isinstance(ev, StartTls):
                events.extend(session.tls_started())
            elif isinstance(ev, Decision) and not lazy:
                events.extend(session.reply(policy(ev)))
        assert session.buffered <= BOUND


@given(st.text(max_size=50))
def test_xtext_round_trip(value: str) -> None:
    encoded = xtext.encode(value)
    decoded = xtext.decode(encoded)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        assert decoded is None
    else:
        assert decoded == value


@given(st.binary(max_size=50))
def test_xtext_decode_never_raises(raw: bytes) -> None:
    xtext.decode(raw.decode("latin-1"))
