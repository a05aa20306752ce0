"""The milter client against scripted applications on real sockets: negotiation, the
replies Postfix's milter8 gives for each answer, and what a broken application costs."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from vmail.milter import protocol as p
from vmail.milter.client import Milter, MilterSpec
from vmail.milter.edits import MessageEdits

Script = Callable[[socket.socket], None]


def read_packet(conn: socket.socket) -> tuple[bytes, bytes]:
    header = b""
    while len(header) < 4:
        chunk = conn.recv(4 - len(header))
        if not chunk:
            raise EOFError
        header += chunk
    (length,) = struct.unpack("!I", header)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return body[:1], body[1:]


def read_event(conn: socket.socket) -> tuple[bytes, bytes]:
    """The next event, past the macro packet that comes before each (empty or not)."""
    while True:
        command, data = read_packet(conn)
        if command != p.MACRO:
            return command, data


def negotiate(conn: socket.socket, events: int = 0, extra: bytes = b"") -> bytes:
    """Answer OPTNEG with version 6, all actions, ``events``; what the MTA offered."""
    command, data = read_packet(conn)
    assert command == p.OPTNEG
    conn.sendall(p.packet(p.OPTNEG, p.number(6) + p.number(0x1FF) + p.number(events) + extra))
    return data


class Application:
    """A scripted milter application on a free port; what it received is kept."""

    def __init__(self, script: Script) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[tuple[bytes, bytes]] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self.thread.start()

    def _serve(self, script: Script) -> None:
        conn, _ = self.listener.accept()
        with conn:
            try:
                script(conn)
            except EOFError:
                pass
            except BaseException as e:  # reported when the test ends
                self.error = e

    def spec(self, **settings: object) -> MilterSpec:
        return MilterSpec(endpoint=f"inet:127.0.0.1:{self.port}", **settings)  # type: ignore[arg-type]

    def close(self) -> None:
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def application() -> Iterator[Callable[[Script], Application]]:
    started: list[Application] = []

    def start(script: Script) -> Application:
        started.append(Application(script))
        return started[-1]

    yield start
    for app in started:
        app.close()
        assert app.error is None, app.error  # the script's own checks


def no_macros(name: str) -> str | None:
    return {"j": "mx.test", "{mail_addr}": "a@b"}.get(name)


def test_negotiation_offers_what_postfix_offers(application) -> None:  # type: ignore[no-untyped-def]
    offered: list[bytes] = []

    def script(conn: socket.socket) -> None:
        offered.append(negotiate(conn))
        assert read_packet(conn)[0] == p.MACRO
        assert read_packet(conn)[0] == p.CONNECT
        conn.sendall(p.packet(p.CONTINUE))

    app = application(script)
    milter = Milter(app.spec(macro_lists=((p.STAGE_CONNECT, ("j", "{none}")),)))
    assert milter.connect("unknown", "192.0.2.1", 2525, no_macros) is None
    assert offered == [bytes.fromhex("00000006000001ff001fffff")]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (p.packet(p.REJECT), "550 5.7.1 Command rejected"),
        (p.packet(p.TEMPFAIL), "451 4.7.1 Service unavailable - try again later"),
        (p.packet(p.REPLYCODE, b"554 5.7.1 100%% sure\0"), "554 5.7.1 100% sure"),
        (p.packet(p.DISCARD), "D"),
        (p.packet(p.PROGRESS) + p.packet(p.ACCEPT), None),
        (p.packet(p.SHUTDOWN), "S"),
    ],
)
def test_answers_at_mail(application, answer: bytes, expected: str | None) -> None:  # type: ignore[no-untyped-def]
    def script(conn: socket.socket) -> None:
        negotiate(conn, events=p.NOCONNECT | p.NOHELO)
        command, data = read_event(conn)
        assert (command, data) == (p.MAIL, b"<a@b>\0SIZE=10\0")
        conn.sendall(answer)

    milter = Milter(application(script).spec())
    assert milter.connect("x", "192.0.2.1", 25, no_macros) is None  # not asked: NOCONNECT
    assert milter.mail(["<a@b>", "SIZE=10"], no_macros) == expected


def test_a_malformed_reply_code_is_a_configuration_error(application, caplog) -> None:  # type: ignore[no-untyped-def]
    def script(conn: socket.socket) -> None:
        negotiate(conn, events=p.NOCONNECT)
        read_event(conn)
        conn.sendall(p.packet(p.REPLYCODE, b"250 2.0.0 fine\0"))

    milter = Milter(application(script).spec(default_action="accept"))
    milter.connect("x", "192.0.2.1", 25, no_macros)
    with caplog.at_level(logging.WARNING, "vmail.milter"):
        assert milter.helo("client", no_macros) is None  # accept: as if it were not there
    assert "malformed reply: 250 2.0.0 fine" in caplog.text
    assert milter.mail(["<a@b>"], no_macros) is None  # left alone from now on


@pytest.mark.parametrize(
    ("action", "reply"),
    [
        ("tempfail", "451 4.7.1 Service unavailable - try again later"),
        ("reject", "550 5.5.0 Service unavailable"),
        ("quarantine", "H"),
        ("accept", None),
    ],
)
def test_a_silent_application_times_out_into_the_default_action(  # type: ignore[no-untyped-def]
    application, caplog, action: str, reply: str | None
) -> None:
    done = threading.Event()

    def script(conn: socket.socket) -> None:
        negotiate(conn, events=p.NOCONNECT)
        read_event(conn)  # HELO, never answered
        done.wait(5)

    milter = Milter(application(script).spec(command_timeout=0.2, default_action=action))
    milter.connect("x", "192.0.2.1", 25, no_macros)
    with caplog.at_level(logging.WARNING, "vmail.milter"):
        assert milter.helo("client", no_macros) == reply
    done.set()
    assert "can't read SMFIC_HELO reply packet header: Connection timed out" in caplog.text
    assert milter.rcpt(["<c@d>"], no_macros) == reply


def test_nonsense_is_a_protocol_error(application, caplog) -> None:  # type: ignore[no-untyped-def]
    def script(conn: socket.socket) -> None:
        negotiate(conn, events=p.NOCONNECT)
        read_event(conn)
        conn.sendall(struct.pack("!I", 2**31) + b"x")  # an absurd length

    milter = Milter(application(script).spec())
    milter.connect("x", "192.0.2.1", 25, no_macros)
    with caplog.at_level(logging.WARNING, "vmail.milter"):
        assert milter.helo("h", no_macros) == "451 4.7.1 Service unavailable - try again later"
    assert "unreasonable packet length" in caplog.text


def test_newer_protocol_and_unknown_actions_are_refused(application, caplog) -> None:  # type: ignore[no-untyped-def]
    def script(conn: socket.socket) -> None:
        read_packet(conn)
        conn.sendall(p.packet(p.OPTNEG, p.number(7) + p.number(0) + p.number(0)))

    milter = Milter(application(script).spec())
    with caplog.at_level(logging.WARNING, "vmail.milter"):
        reply = milter.connect("x", "192.0.2.1", 25, no_macros)
    assert reply == "451 4.7.1 Service unavailable - try again later"
    assert "protocol version 7 conflict with MTA protocol version 6" in caplog.text


def test_the_message_edits_skip_and_macro_lists(application) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[bytes, bytes]] = []

    def script(conn: socket.socket) -> None:
        # the application wants only {mail_addr} at MAIL, no replies to headers, and
        # the header texts as written (leading space kept)
        macros = p.number(p.STAGE_MAIL) + b"{mail_addr}\0"
        negotiate(conn, events=p.NOCONNECT | p.NOHELO | p.NR_HDR | p.HDR_LEADSPC, extra=macros)
        while True:
            command, data = read_packet(conn)
            seen.append((command, data))
            if command in (p.MAIL, p.EOH, p.DATA):
                conn.sendall(p.packet(p.CONTINUE))
            elif command == p.BODY:
                conn.sendall(p.packet(p.SKIP))
            elif command == p.BODYEOB:
                conn.sendall(
                    p.packet(p.ADDHEADER, b"X-Spam\0yes\0")
                    + p.packet(p.CHGHEADER, p.number(1) + b"Subject\0new\0")
                    + p.packet(p.REPLBODY, b"replaced\r\n")
                    + p.packet(p.ADDRCPT, b"<x@y>\0")
                    + p.packet(p.QUARANTINE, b"why\0")
                    + p.packet(p.CONTINUE)
                )
                return

    milter = Milter(application(script).spec())
    milter.connect("x", "192.0.2.1", 25, no_macros)
    assert milter.mail(["<a@b>"], no_macros) is None
    edits = MessageEdits(b"Received: x\r\nSubject:  two spaces\r\n\r\n" + b"a" * 70000 + b"\r\n")
    assert milter.data(no_macros) is None
    answer = milter.message(edits.visible_headers(), edits.visible_body(), no_macros, edits)
    assert answer == "H"  # quarantined
    events = [(command, data) for command, data in seen if command != p.MACRO]
    assert [command for command, _ in events] == [
        p.MAIL,
        p.DATA,
        p.HEADER,
        p.EOH,
        p.BODY,
        p.BODYEOB,
    ]
    macros = [data for command, data in seen if command == p.MACRO]
    assert p.MAIL + b"{mail_addr}\0a@b\0" in macros  # its own list, not j
    assert p.CONNECT in macros  # sent though the event is not (NOCONNECT), as Postfix
    assert events[2][1] == b"Subject\0  two spaces\0"  # leading space as written
    assert len(events[4][1]) == p.BODY_CHUNK  # the second chunk was skipped
    assert edits.content() == (
        b"Received: x\r\nSubject:new\r\nX-Spam:yes\r\n\r\nreplaced\r\n"  # no space added
    )
    assert edits.envelope.added == [("<x@y>", "")]
