"""SASL PLAIN and LOGIN exchanges as transcripts: good, malformed, cancelled, over-long."""

from __future__ import annotations

import base64

import pytest

from vmail.auth.sasl import (
    MAX_LINE,
    Challenge,
    Credentials,
    LoginExchange,
    PlainExchange,
    SaslExchange,
    SaslFailure,
    SaslFailureReason,
    new_exchange,
)


def b64(data: bytes | str) -> bytes:
    return base64.b64encode(data.encode() if isinstance(data, str) else data)


def exchange(mechanism: str) -> SaslExchange:
    result = new_exchange(mechanism)
    assert isinstance(result, SaslExchange)
    return result


# -- PLAIN ---------------------------------------------------------------------------------


def test_plain_with_initial_response() -> None:
    ex = exchange("PLAIN")
    step = ex.start(b64("\0alice@example.com\0S3cr3t pässwörd"))
    assert step == Credentials("PLAIN", "alice@example.com", "S3cr3t pässwörd")
    assert ex.done


def test_plain_without_initial_response_sends_empty_challenge() -> None:
    ex = exchange("plain")
    step = ex.start()
    assert step == Challenge(b"")
    assert step.line == b""
    assert not ex.done
    step = ex.respond(b64("alice@example.com\0alice@example.com\0pw") + b"\r\n")
    assert step == Credentials("PLAIN", "alice@example.com", "pw", "alice@example.com")


def test_plain_authzid_may_differ_only_in_case() -> None:
    step = exchange("PLAIN").start(b64("Alice@Example.com\0alice@example.com\0pw"))
    assert isinstance(step, Credentials)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"bob@example.com\0alice@example.com\0pw", SaslFailureReason.AUTHZID_MISMATCH),
        (b"alice@example.com\0pw", SaslFailureReason.MALFORMED),
        (b"\0alice\0pw\0extra", SaslFailureReason.MALFORMED),
        (b"\0\0pw", SaslFailureReason.MALFORMED),
        (b"\0alice\0", SaslFailureReason.MALFORMED),
        (b"", SaslFailureReason.MALFORMED),
        (b"\0al\xffice\0pw", SaslFailureReason.MALFORMED),
        (b"\0alice\0p\xe4ss", SaslFailureReason.MALFORMED),
        (b"\xff\0alice\0pw", SaslFailureReason.MALFORMED),
    ],
)
def test_plain_malformed(message: bytes, reason: SaslFailureReason) -> None:
    ex = exchange("PLAIN")
    step = ex.start(b64(message))
    assert isinstance(step, SaslFailure)
    assert step.reason is reason
    assert ex.done


def test_plain_empty_initial_response_marker() -> None:
    step = exchange("PLAIN").start(b"=")
    assert isinstance(step, SaslFailure)
    assert step.reason is SaslFailureReason.MALFORMED


@pytest.mark.parametrize("line", [b"not base64!", b"AAA", b"YWxp Y2U=", b"\xff\xfe"])
def test_invalid_base64(line: bytes) -> None:
    ex = exchange("PLAIN")
    assert ex.start() == Challenge(b"")
    step = ex.respond(line)
    assert isinstance(step, SaslFailure)
    assert step.reason is SaslFailureReason.BAD_BASE64


def test_over_long_line_is_refused_before_decoding() -> None:
    step = exchange("PLAIN").start(b"A" * (MAX_LINE + 4))
    assert isinstance(step, SaslFailure)
    assert step.reason is SaslFailureReason.TOO_LONG


def test_longest_allowed_line_is_decoded() -> None:
    password = "p" * (MAX_LINE * 3 // 4 - 20)
    line = b64("\0alice@example.com\0" + password)
    assert len(line) <= MAX_LINE
    assert exchange("PLAIN").start(line) == Credentials("PLAIN", "alice@example.com", password)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_cancel(mechanism: str) -> None:
    ex = exchange(mechanism)
    assert isinstance(ex.start(), Challenge)
    step = ex.respond(b"*")
    assert isinstance(step, SaslFailure)
    assert step.cancelled
    assert ex.done


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_calls_after_the_end_are_protocol_errors(mechanism: str) -> None:
    ex = exchange(mechanism)
    ex.start(b"*")
    assert ex.done
    for step in (ex.respond(b64("x")), ex.start()):
        assert isinstance(step, SaslFailure)
        assert step.reason is SaslFailureReason.PROTOCOL


# -- LOGIN ---------------------------------------------------------------------------------


def test_login_transcript() -> None:
    ex = exchange("LOGIN")
    step = ex.start()
    assert isinstance(step, Challenge)
    assert step.line == b"VXNlcm5hbWU6"  # "Username:"
    step = ex.respond(b64("alice@example.com"))
    assert isinstance(step, Challenge)
    assert step.line == b"UGFzc3dvcmQ6"  # "Password:"
    step = ex.respond(b64("S3cr3t pässwörd"))
    assert step == Credentials("LOGIN", "alice@example.com", "S3cr3t pässwörd")
    assert ex.done


def test_login_initial_response_is_the_username() -> None:
    ex = LoginExchange()
    assert ex.start(b64("alice@example.com")) == Challenge(b"Password:")
    assert ex.respond(b64("pw")) == Credentials("LOGIN", "alice@example.com", "pw")


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        (b"", b"pw", SaslFailureReason.MALFORMED),
        (b"al\0ice", b"pw", SaslFailureReason.MALFORMED),
        (b"alice", b"", SaslFailureReason.MALFORMED),
        (b"alice", b"p\0w", SaslFailureReason.MALFORMED),
        (b"alice", b"\xff", SaslFailureReason.MALFORMED),
    ],
)
def test_login_malformed(username: bytes, password: bytes, reason: SaslFailureReason) -> None:
    ex = LoginExchange()
    ex.start()
    step = ex.respond(b64(username))
    if isinstance(step, Challenge):
        step = ex.respond(b64(password))
    assert isinstance(step, SaslFailure)
    assert step.reason is reason


def test_unknown_mechanism() -> None:
    result = new_exchange("CRAM-MD5")
    assert isinstance(result, SaslFailure)
    assert result.reason is SaslFailureReason.UNSUPPORTED


def test_credentials_repr_hides_the_password() -> None:
    text = repr(PlainExchange().start(b64("\0alice\0hunter2")))
    assert "hunter2" not in text
    assert "alice" in text
