"""The web processes of ``vmail serve``: forked after the drop of root, serving the
``webd`` listeners the master bound, restarted when they die, reloaded and restarted
with the configuration, stopped with the server; ``web_processes = 0`` serves in the
master."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ServerProcess, make_config, vmail_here

PLAIN_WEB = """\
127.0.0.1:0 inet n - n - - webd
  -o syslog_name=vmail/webplain
"""
SECOND_WEB = """\
127.0.0.1:0 inet n - n - - webd
  -o syslog_name=vmail/websecond
"""
STARTED = r"web process (\d+) started"
SERVED = r"vmail/web\[(\d+)\]: 127\.0\.0\.1 \"GET /login\""


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    main = getattr(request, "param", None)
    started = ServerProcess(make_config(tmp_path, main, master=PLAIN_WEB)).start()
    try:
        yield started
    finally:
        if started.proc is not None and started.proc.poll() is None:
            started.stop()


def web_pids(server: ServerProcess) -> list[int]:
    return [int(pid) for pid in re.findall(STARTED, server.log)]


def served_by(server: ServerProcess) -> set[int]:
    return {int(pid) for pid in re.findall(SERVED, server.log)}


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(") ")[2][0] != "Z"


def answers(server: ServerProcess, service: str = "webplain") -> int:
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port(service)}", timeout=10) as c:
        return c.get("/login").status_code


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_two_web_processes_serve_and_a_dead_one_is_replaced(server: ServerProcess) -> None:
    wait_for(lambda: len(web_pids(server)) == 2)
    first, second = web_pids(server)
    server.wait_log(rf"\[{second}\]: web process started")
    for _ in range(20):
        assert answers(server) == 200
    time.sleep(0.2)
    assert served_by(server)
    assert served_by(server) <= {first, second}  # never the master
    os.kill(first, signal.SIGKILL)
    server.wait_log(rf"web process {first} killed by signal SIGKILL; restarting")
    for _ in range(10):  # the other one serves meanwhile
        assert answers(server) == 200
    wait_for(lambda: len(web_pids(server)) == 3)
    replacement = web_pids(server)[2]
    server.wait_log(rf"\[{replacement}\]: web process started")
    assert answers(server) == 200
    server.stop()
    assert not alive(second)
    assert not alive(replacement)


def test_reload_with_a_new_webd_listener_restarts_them(server: ServerProcess) -> None:
    wait_for(lambda: len(web_pids(server)) == 2)
    old = web_pids(server)
    server.signal(signal.SIGHUP)  # nothing changed: the same processes reload
    wait_for(lambda: server.log.count("reload -- version") == 1)
    time.sleep(0.5)
    assert web_pids(server) == old
    assert all(alive(pid) for pid in old)
    with open(server.config_dir / "master.cf", "a") as f:
        f.write(SECOND_WEB)
    server.signal(signal.SIGHUP)
    wait_for(lambda: len(web_pids(server)) == 4)
    wait_for(lambda: not any(alive(pid) for pid in old))
    # the unprivileged master cannot rewrite the test's ports file: the log has the port
    added = re.findall(r"listening: \S+ webd 127\.0\.0\.1:(\d+)", server.log)[-1]
    server.ports["websecond"] = int(added)
    for service in ("webplain", "websecond"):
        assert answers(server, service) == 200


@pytest.mark.parametrize("server", [{"web_processes": "0"}], indirect=True)
def test_web_processes_0_serves_in_the_master(server: ServerProcess) -> None:
    assert answers(server) == 200
    time.sleep(0.2)
    assert web_pids(server) == []
    assert server.proc is not None
    assert served_by(server) == {server.proc.pid}


def test_the_web_processes_die_with_a_killed_master(server: ServerProcess) -> None:
    wait_for(lambda: len(web_pids(server)) == 2)
    pids = web_pids(server)
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    wait_for(lambda: not any(alive(pid) for pid in pids))
    server.kill()  # the delivery process too


def failed_login(server: ServerProcess) -> str:
    """A wrong password on a connection of its own (so either process may take it)."""
    url = f"http://127.0.0.1:{server.port('webplain')}"
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"username": "nobody@example.com", "password": "wrong", "csrf_token": token[1]}
        return client.post("/login", data=form).text


@pytest.mark.parametrize("server", [{"web_login_user_failures": "3"}], indirect=True)
def test_the_login_lockout_counts_across_the_processes(server: ServerProcess) -> None:
    wait_for(lambda: len(web_pids(server)) == 2)
    for pid in web_pids(server):
        server.wait_log(rf"\[{pid}\]: web process started")
    for _ in range(3):
        assert "Too many failed logins" not in failed_login(server)
    for _ in range(6):  # locked in whichever process takes the connection
        assert "Too many failed logins" in failed_login(server)


def test_a_reload_reaches_the_web_processes(server: ServerProcess) -> None:
    server.add_mailbox("bob@example.com")
    made = vmail_here(server.config_dir, "token", "add", "t", "--superadmin", "--json")
    bearer = {"Authorization": f"Bearer {json.loads(made)['secret']}"}

    def transport() -> str:  # a connection of its own: either process may answer
        url = f"http://127.0.0.1:{server.port('webplain')}"
        with httpx.Client(base_url=url, timeout=30, headers=bearer) as client:
            answer = client.get("/api/v1/route", params={"address": "bob@example.com"})
            assert answer.status_code == 200, answer.text
            return str(answer.json()["recipients"][0]["deliveries"][0]["transport"])

    wait_for(lambda: server.log.count("]: web process started") == 2)
    assert transport() == "virtual"
    with open(server.config_dir / "main.cf", "a") as f:
        f.write("transport_maps = inline:{ example.com=lmtp:unix:/nowhere }\n")
    server.signal(signal.SIGHUP)
    wait_for(lambda: server.log.count("web process reloaded") == 2)
    for _ in range(6):
        assert transport() == "lmtp"
