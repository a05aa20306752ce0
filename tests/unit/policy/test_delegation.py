"""check_policy_service: the delegation protocol against a small policy server."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.routing_helpers import BASE, INSIDE
from vmail.config import MainConfig
from vmail.policy.delegation import query_policy
from vmail.route import Router

Answer = Callable[[dict[str, str]], bytes]


class Server:
    """A policy server on 127.0.0.1 (or a UNIX socket) answering with ``answer``."""

    def __init__(self, answer: Answer, unix: Path | None = None) -> None:
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                attrs: dict[str, str] = {}
                for raw in self.rfile:
                    line = raw.decode().rstrip("\n")
                    if not line:
                        break
                    name, _, value = line.partition("=")
                    attrs[name] = value
                outer.requests.append(attrs)
                self.wfile.write(answer(attrs))

        if unix is None:
            self.server: socketserver.BaseServer = socketserver.ThreadingTCPServer(
                ("127.0.0.1", 0), Handler
            )
            self.endpoint = f"inet:127.0.0.1:{self.server.server_address[1]}"
        else:
            self.server = socketserver.ThreadingUnixStreamServer(str(unix), Handler)
            self.endpoint = f"unix:{unix.name}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def policy_server() -> Iterator[Server]:
    def answer(attrs: dict[str, str]) -> bytes:
        rcpt = attrs.get("recipient", "")
        if rcpt.startswith("grey@"):
            return b"action=DEFER_IF_PERMIT Greylisted\n\n"
        if rcpt.startswith("no@"):
            return b"action=REJECT not here\n\n"
        return b"action=DUNNO\n\n"

    server = Server(answer)
    yield server
    server.close()


def _router(tmp_path: Path, endpoint: str, extra: str = "") -> Router:
    main_cf = f"smtpd_recipient_restrictions = check_policy_service {endpoint}, permit\n"
    (tmp_path / "main.cf").write_text(BASE + main_cf + extra)
    return Router(MainConfig.load(tmp_path))


def test_actions_and_attributes(tmp_path: Path, policy_server: Server) -> None:
    # the replies Postfix 3.7.11 gave for the same answers of a policy server
    policy = _router(tmp_path, policy_server.endpoint).policy

    def reply(rcpt: str) -> str:
        return str(policy.check_recipient(INSIDE, "s@example.org", rcpt, accepted=2))

    assert reply("root@mail.example.net") == "250 2.1.5 Ok"
    assert reply("grey@mail.example.net") == (
        "450 4.7.1 <grey@mail.example.net>: Recipient address rejected: Greylisted"
    )
    assert reply("no@mail.example.net") == (
        "554 5.7.1 <no@mail.example.net>: Recipient address rejected: not here"
    )
    first = policy_server.requests[0]
    assert first["request"] == "smtpd_access_policy"
    assert first["protocol_state"] == "RCPT"
    assert (first["sender"], first["recipient"]) == ("s@example.org", "root@mail.example.net")
    assert (first["client_address"], first["client_name"]) == ("127.0.0.1", "localhost")
    assert first["recipient_count"] == "2"


def test_an_unreachable_service_gives_the_default_action(tmp_path: Path) -> None:
    policy = _router(
        tmp_path, f"inet:127.0.0.1:{_closed_port()}", "smtpd_policy_service_try_limit = 1\n"
    ).policy
    assert str(policy.check_recipient(INSIDE, "s@example.org", "a@mail.example.net")) == (
        "451 4.3.5 <a@mail.example.net>: Recipient address rejected: Server configuration problem"
    )


def test_a_unix_socket_under_the_queue_directory(tmp_path: Path) -> None:
    server = Server(lambda attrs: b"action=550 5.7.9 custom\n\n", tmp_path / "policy.sock")
    try:
        policy = _router(tmp_path, server.endpoint, f"queue_directory = {tmp_path}\n").policy
        reply = policy.check_recipient(INSIDE, "s@example.org", "a@mail.example.net")
        assert str(reply) == "550 5.7.9 <a@mail.example.net>: Recipient address rejected: custom"
    finally:
        server.close()


def test_a_broken_answer_counts_as_no_answer(tmp_path: Path) -> None:
    config = MainConfig.from_text("smtpd_policy_service_try_limit = 1\n")
    server = Server(lambda attrs: b"nonsense\n\n")
    try:
        action = query_policy(config, server.endpoint, {"request": "smtpd_access_policy"})
    finally:
        server.close()
    assert action == "451 4.3.5 Server configuration problem"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]  # nothing listens there once closed
    return port


def test_per_server_settings_in_braces(tmp_path: Path) -> None:
    # SMTPD_POLICY_README: "{ name = value }" keeps spaces and commas in a value
    endpoint = (
        f"{{ inet:127.0.0.1:{_closed_port()}, try_limit=1,"
        " { default_action = 451 4.3.5 See http://www.example.com/support1 } }"
    )
    policy = _router(tmp_path, endpoint).policy
    assert str(policy.check_recipient(INSIDE, "s@example.org", "a@mail.example.net")) == (
        "451 4.3.5 <a@mail.example.net>: Recipient address rejected:"
        " See http://www.example.com/support1"
    )


def test_policy_context_is_sent(tmp_path: Path, policy_server: Server) -> None:
    endpoint = f"{{ {policy_server.endpoint}, policy_context=submission }}"
    policy = _router(tmp_path, endpoint).policy
    policy.check_recipient(INSIDE, "s@example.org", "a@mail.example.net")
    assert policy_server.requests[0]["policy_context"] == "submission"


def test_an_unknown_setting_is_a_configuration_error(tmp_path: Path) -> None:
    policy = _router(tmp_path, f"{{ inet:127.0.0.1:{_closed_port()}, colour=blue }}").policy
    reply = policy.check_recipient(INSIDE, "s@example.org", "a@mail.example.net")
    assert str(reply).startswith("451 4.3.5 ")


class KeepingServer:
    """A policy server that answers any number of queries per connection (as postgrey
    and policyd-spf do) and counts its connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.queries = 0
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                for raw in self.rfile:
                    if raw == b"\n":
                        outer.queries += 1
                        self.wfile.write(b"action=DUNNO\n\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"inet:127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ask_times(endpoint: str, times: int, settings: str = "") -> list[str]:
    config = MainConfig.from_text(settings)
    return [
        query_policy(config, endpoint, {"request": "smtpd_access_policy"}) for _ in range(times)
    ]


def test_connections_are_kept_and_reused() -> None:
    """As Postfix's smtpd: one connection for many queries, a new one after
    smtpd_policy_service_request_limit queries or smtpd_policy_service_max_idle."""
    server = KeepingServer()
    try:
        assert _ask_times(server.endpoint, 3) == ["DUNNO"] * 3
        assert (server.connections, server.queries) == (1, 3)
        _ask_times(server.endpoint, 4, "smtpd_policy_service_request_limit = 2\n")
        assert server.connections == 3  # the kept one (then full), and one more
        idle = "smtpd_policy_service_max_idle = 1s\n"
        _ask_times(server.endpoint, 1, idle)
        time.sleep(1.2)
        _ask_times(server.endpoint, 1, idle)
        assert server.connections == 4  # the idle one was closed, a new one opened
    finally:
        server.close()


def test_a_kept_connection_the_service_closed_is_replaced(
    policy_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # this server answers one query per connection, then closes it: the kept connection
    # is dead at the next query, which quietly goes to a new one
    assert _ask_times(policy_server.endpoint, 3) == ["DUNNO"] * 3
    assert len(policy_server.requests) == 3
    assert not [r for r in caplog.records if "problem talking" in r.getMessage()]
