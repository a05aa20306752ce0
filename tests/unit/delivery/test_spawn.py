"""The privileged spawner: commands as other users from an unprivileged vmail.

The privilege tests need root (CI runs as root): they start a real helper, fork a child
that drops to ``nobody`` and from there run real commands as uid 12345 (no passwd entry
needed). Without root they are skipped, unless ``CI`` is set: then they fail.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import pwd
import signal
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.unit.delivery.command_helpers import AS_ROOT, open_dir
from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.delivery.command import (
    Command,
    CommandOutcome,
    command_failure,
    install_spawner,
    run_command,
    spawner_fds,
)
from vmail.delivery.pipe import PipeAgent
from vmail.delivery.request import DeliveryRequest, MessageInfo, Status
from vmail.delivery.spawn import Spawner, SpawnError
from vmail.delivery.spawn_protocol import (
    ProtocolError,
    SpawnRequest,
    decode,
    encode,
    parse_request,
    receive,
    send,
)

__all__ = ["open_dir"]

NOBODY = 65534
OTHER = 12345


@pytest.fixture
def root() -> None:
    if not AS_ROOT:
        if os.environ.get("CI"):
            pytest.fail("the spawner tests must run as root in CI")
        pytest.skip("needs root")


@pytest.fixture
def spawner(root: None) -> Iterator[Spawner]:
    with Spawner().start() as started:
        yield started
    install_spawner(None)


def as_nobody(fn: Callable[[], Any], uid: int = NOBODY) -> Any:
    """Run ``fn`` in a forked child that dropped root (to nobody); its JSON result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            result = json.dumps({"value": fn()})
            with os.fdopen(write_end, "w") as out:
                out.write(result)
            code = 0
        except BaseException as e:  # report it to the test
            with os.fdopen(write_end, "w") as out:
                out.write(json.dumps({"error": repr(e)}))
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    reply = json.loads(data)
    assert "error" not in reply, reply["error"]
    assert os.waitstatus_to_exitcode(status) == 0
    return reply["value"]


def outcome_json(outcome: CommandOutcome) -> dict[str, Any]:
    failure = command_failure(outcome, "cmd")
    return {
        "exit": outcome.exit_code,
        "signal": outcome.signal,
        "timed_out": outcome.timed_out,
        "output": outcome.output,
        "dsn": failure.dsn if failure else None,
        "status": failure.status.value if failure else None,
        "text": failure.text if failure else None,
    }


def gone(pid: int) -> bool:
    """The process no longer exists (or is a zombie nobody waits for)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return False


def request(argv: list[str], **kw: Any) -> SpawnRequest:
    fields: dict[str, Any] = {
        "argv": tuple(argv),
        "uid": OTHER,
        "gid": OTHER,
        "env": {"PATH": "/usr/bin:/bin"},
        "cwd": None,
        "time_limit": 30.0,
    }
    fields.update(kw)
    return SpawnRequest(**fields)


# -- from an unprivileged process ---------------------------------------------------------


def test_unprivileged_vmail_runs_command_as_other_user(spawner: Spawner, open_dir: Path) -> None:
    chunks = [b"x" * 1000 + b"\n"] * 3000  # more than any pipe buffer: really streamed

    def body() -> dict[str, Any]:
        install_spawner(spawner)
        command = Command(
            argv=("/bin/sh", "-c", "id -u; id -g; id -G; pwd; wc -c; echo $HOME-$VMAIL_X"),
            uid=OTHER,
            gid=OTHER + 1,
            env={"VMAIL_X": "y"},
            cwd=str(open_dir),
        )
        return {"me": os.getuid(), **outcome_json(run_command(command, chunks))}

    result = as_nobody(body)
    assert result["me"] == NOBODY
    assert result["exit"] == 0
    assert result["output"] == f"{OTHER} {OTHER + 1} {OTHER + 1} {open_dir} 3003000 -y "
    assert result["dsn"] is None


def test_pipe_agent_runs_user_nobody_after_root_is_dropped(
    spawner: Spawner, open_dir: Path
) -> None:
    cmd = open_dir / "cmd"
    cmd.write_text('#!/bin/sh\n(id -u; id -g; cat) > "$(dirname "$0")/out"\n')
    cmd.chmod(0o755)
    mail_owner = OTHER + 100

    def body() -> list[str]:
        install_spawner(spawner)
        master = MasterConfig.from_text(f"svc unix - n n - - pipe user=nobody argv={cmd}")
        config = MainConfig.from_text("queue_directory = /nonexistent\n")
        agent = PipeAgent(config, master.services[0])
        message = MessageInfo("4ABC", "s@x.org", size=20)
        req = DeliveryRequest("4ABC", "s@x.org", "u@x.org", "", "svc", "x.org", message=message)
        [result] = agent.deliver_batch([req], lambda: [b"Subject: hi\r\n\r\nbody\r\n"])
        return [result.status.value, result.dsn, result.text]

    assert as_nobody(body, uid=mail_owner) == [
        Status.SENT.value,
        "2.0.0",
        "delivered via svc service",
    ]
    nobody = pwd.getpwnam("nobody")
    lines = (open_dir / "out").read_text().splitlines()
    assert lines == [str(nobody.pw_uid), str(nobody.pw_gid), "Subject: hi", "", "body"]


def test_forked_delivery_process_keeps_the_spawner(spawner: Spawner) -> None:
    """``vmail serve`` delivers in a process forked after root is dropped; that process
    blanks the master's sockets but keeps :func:`spawner_fds`."""
    from vmail.servers.delivery import detach_child

    parent = os.getpid()

    def body() -> dict[str, Any]:
        install_spawner(spawner)
        detach_child(parent, keep=spawner_fds())
        command = Command(argv=("/usr/bin/id", "-u"), uid=OTHER, gid=OTHER)
        return outcome_json(run_command(command, []))

    assert spawner_fds() == ()
    result = as_nobody(body)
    assert (result["exit"], result["output"]) == (0, f"{OTHER} ")


def test_exit_status_reaches_the_failure_table(spawner: Spawner) -> None:
    def body() -> dict[str, Any]:
        install_spawner(spawner)
        command = Command(
            argv=("/bin/sh", "-c", "echo no such user; exit 67"), uid=OTHER, gid=OTHER
        )
        return outcome_json(run_command(command, [b"hello\n"]))

    result = as_nobody(body)
    assert result["exit"] == 67
    assert (result["dsn"], result["status"]) == ("5.1.1", Status.BOUNCED.value)
    assert result["text"] == "user unknown. Command output: no such user "


def test_signal_is_reported(spawner: Spawner) -> None:
    def body() -> dict[str, Any]:
        install_spawner(spawner)
        command = Command(argv=("/bin/sh", "-c", "kill -TERM $$"), uid=OTHER, gid=OTHER)
        return outcome_json(run_command(command, []))

    result = as_nobody(body)
    assert result["signal"] == signal.SIGTERM
    assert result["dsn"] == "4.3.0"


def test_time_limit_kills_the_process_group(spawner: Spawner, open_dir: Path) -> None:
    marker = open_dir / "late"

    def body() -> dict[str, Any]:
        install_spawner(spawner)
        script = f"(sleep 2; touch {marker}) & sleep 30"
        command = Command(argv=("/bin/sh", "-c", script), uid=OTHER, gid=OTHER, time_limit=0.5)
        started = time.monotonic()
        return {**outcome_json(run_command(command, [])), "took": time.monotonic() - started}

    result = as_nobody(body)
    assert result["timed_out"] is True, result
    assert result["dsn"] == "5.3.0"
    assert result["took"] < 5
    time.sleep(2.5)
    assert not marker.exists()  # the background child died with the group


def test_helper_enforces_the_time_limit_itself(spawner: Spawner) -> None:
    started = time.monotonic()
    with spawner.spawn(request(["/bin/sleep", "30"], time_limit=0.3)) as proc:
        proc.stdin.close()
        assert proc.wait(timeout=10) == -signal.SIGKILL
    assert proc.timed_out is True
    assert time.monotonic() - started < 5


def test_exec_failures_read_as_without_spawner(spawner: Spawner) -> None:
    def body() -> list[dict[str, Any]]:
        install_spawner(spawner)
        missing = Command(argv=("/nonexistent/cmd",), uid=OTHER, gid=OTHER)
        no_dir = Command(argv=("/bin/true",), uid=OTHER, gid=OTHER, cwd="/nonexistent/dir")
        return [outcome_json(run_command(c, [])) for c in (missing, no_dir)]

    missing, no_dir = as_nobody(body)
    assert missing["dsn"] == "4.3.0"
    assert missing["output"] == (
        "pipe: fatal: pipe_command: execvp /nonexistent/cmd: No such file or directory "
    )
    assert no_dir["output"] == (
        'pipe: fatal: cannot change directory to "/nonexistent/dir": No such file or directory '
    )


def test_environment_is_exactly_what_was_asked(spawner: Spawner) -> None:
    os.environ["VMAIL_SECRET_TEST"] = "leak"
    try:
        with spawner.spawn(request(["/usr/bin/env"], env={"A": "1", "PATH": "/bin"})) as proc:
            proc.stdin.close()
            output = proc.stdout.read()
            assert proc.wait(timeout=10) == 0
    finally:
        del os.environ["VMAIL_SECRET_TEST"]
    assert sorted(output.decode().split()) == ["A=1", "PATH=/bin"]


def test_concurrent_calls_from_threads(spawner: Spawner) -> None:
    def body() -> list[str]:
        install_spawner(spawner)

        def one(i: int) -> str:
            command = Command(argv=("/bin/sh", "-c", "id -u; cat"), uid=OTHER + i, gid=OTHER)
            return run_command(command, [f"message {i}\n".encode()] * 100).output

        with ThreadPoolExecutor(12) as pool:
            return list(pool.map(one, range(40)))

    outputs = as_nobody(body)
    for i, output in enumerate(outputs):
        assert output == f"{OTHER + i} " + f"message {i} " * 100


def test_uid_or_gid_zero_is_refused(spawner: Spawner) -> None:
    for fields in ({"uid": 0}, {"gid": 0}, {"uid": True}):
        with pytest.raises(SpawnError, match="never root"):
            spawner.spawn(request(["/usr/bin/id"], **fields))

    with pytest.raises(SpawnError, match="refused: message too large"):
        spawner.spawn(request(["/bin/echo", "x" * (1 << 20)]))

    def body() -> dict[str, Any]:
        install_spawner(spawner)
        return outcome_json(run_command(Command(argv=("/usr/bin/id",), uid=0, gid=0), []))

    result = as_nobody(body)
    assert result["dsn"] == "4.3.0"
    assert "refused" in result["output"]


def test_concurrency_limit(root: None) -> None:
    with Spawner(max_children=2).start() as small:
        running = [small.spawn(request(["/bin/sleep", "30"])) for _ in range(2)]
        with pytest.raises(SpawnError, match="too many commands running"):
            small.spawn(request(["/bin/true"]))
        for proc in running:
            proc.kill()
            assert proc.wait(timeout=10) == -signal.SIGKILL
            proc.close()
        with small.spawn(request(["/bin/true"])) as proc:
            assert proc.wait(timeout=10) == 0


def test_exit_and_kill_request_seen_together(spawner: Spawner) -> None:
    """The command ends (its own time limit) just as vmail asks to kill it."""
    assert spawner.pid is not None
    proc = spawner.spawn(request(["/bin/sleep", "30"]))
    os.kill(spawner.pid, signal.SIGSTOP)  # both events wait for one select()
    try:
        os.kill(proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not gone(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()
    finally:
        os.kill(spawner.pid, signal.SIGCONT)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc.close()
    with spawner.spawn(request(["/bin/echo", "alive"])) as after:
        assert after.stdout.read() == b"alive\n"


def test_closing_the_channel_kills_the_command(spawner: Spawner) -> None:
    proc = spawner.spawn(request(["/bin/sleep", "30"]))
    proc.close()
    assert wait_gone(proc.pid)


def test_malformed_requests_get_errors_and_the_helper_survives(spawner: Spawner) -> None:
    control = spawner._control
    assert control is not None

    def raw(data: bytes, extra_fds: int = 2) -> dict[str, Any]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = [theirs.fileno()] + [os.open(os.devnull, os.O_RDWR) for _ in range(extra_fds)]
        try:
            socket.send_fds(control, [data], fds)
        finally:
            theirs.close()
            for fd in fds[1:]:
                os.close(fd)
        mine.settimeout(10)
        with mine:
            reply, _ = receive(mine)
        return decode(reply)

    good = request(["/bin/true"]).to_json()
    cases: list[tuple[bytes, int, str]] = [
        (b"junk", 2, "length"),
        (encode({"argv": 1}) + b"x", 2, "length"),
        (b"\0\0\0\x03abc", 2, "JSON"),
        (encode({**good, "argv": []}), 2, "argv"),
        (encode({**good, "argv": ["/bin/true", 3]}), 2, "argv"),
        (encode({**good, "env": {"A": 1}}), 2, "env"),
        (encode({**good, "time_limit": -1}), 2, "time_limit"),
        (encode({**good, "shell": True}), 2, "shell"),
        (encode(good), 1, "descriptors"),
        (encode(good), 3, "descriptors"),
    ]
    for data, extra, complaint in cases:
        assert complaint in raw(data, extra)["error"]
    control.send(encode(good))  # no descriptors at all: nowhere to answer, dropped
    with spawner.spawn(request(["/bin/echo", "alive"])) as proc:
        assert proc.stdout.read() == b"alive\n"
        assert proc.wait(timeout=10) == 0


def test_helper_keeps_no_inherited_descriptors(root: None) -> None:
    def descriptors(pid: int) -> dict[int, str]:
        fd_dir = Path(f"/proc/{pid}/fd")
        return {int(fd.name): os.readlink(fd) for fd in fd_dir.iterdir()}

    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with Spawner().start() as fresh:
            assert fresh.pid is not None
            with fresh.spawn(request(["/bin/true"])) as proc:  # the helper is settled
                assert proc.wait(timeout=10) == 0
            deadline = time.monotonic() + 10  # and has closed that command's channel
            while len(links := descriptors(fresh.pid)) > 5 and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        listener.close()
    assert links[0] == links[1] == os.devnull
    del links[0], links[1], links[2]  # stderr stays, for a fatal error
    kinds = sorted(link.split(":")[0] for link in links.values())
    assert kinds == ["anon_inode", "socket"]  # its selector and the control socket


def test_dead_helper_is_a_temporary_failure(root: None) -> None:
    doomed = Spawner().start()
    assert doomed.pid is not None
    os.kill(doomed.pid, signal.SIGKILL)
    os.waitpid(doomed.pid, 0)
    doomed.pid = None

    def body() -> dict[str, Any]:
        install_spawner(doomed)
        return outcome_json(run_command(Command(argv=("/bin/true",), uid=OTHER, gid=OTHER), []))

    try:
        result = as_nobody(body)
    finally:
        doomed.close()
    assert (result["dsn"], result["status"]) == ("4.3.0", Status.DEFERRED.value)
    assert "privileged spawner" in result["output"]


def test_helper_dying_mid_command_is_a_temporary_failure(root: None, open_dir: Path) -> None:
    doomed = Spawner().start()
    helper = doomed.pid
    assert helper is not None
    marker = open_dir / "running"

    def body() -> dict[str, Any]:
        install_spawner(doomed)
        script = f"touch {marker}; exec sleep 1"
        command = Command(argv=("/bin/sh", "-c", script), uid=OTHER, gid=OTHER)
        return outcome_json(run_command(command, []))

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(as_nobody, body)
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(helper, signal.SIGKILL)
        result = future.result(timeout=30)
    doomed.close()
    assert (result["dsn"], result["status"]) == ("4.3.0", Status.DEFERRED.value)
    assert "privileged spawner died while the command ran" in result["output"]


def test_helper_survives_signals_and_commands_get_default_dispositions(
    spawner: Spawner,
) -> None:
    assert spawner.pid is not None
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(spawner.pid, signum)
    time.sleep(0.1)
    script = "grep -E '^Sig(Ign|Blk)' /proc/self/status"
    with spawner.spawn(request(["/bin/sh", "-c", script])) as proc:
        output = proc.stdout.read().decode()
        assert proc.wait(timeout=10) == 0
    assert output.split() == ["SigBlk:", "0" * 16, "SigIgn:", "0" * 16]


def test_close_stops_the_helper_and_its_commands(root: None) -> None:
    closing = Spawner().start()
    helper = closing.pid
    assert helper is not None
    proc = closing.spawn(request(["/bin/sleep", "30"]))
    closing.close()
    assert gone(helper)
    assert wait_gone(proc.pid)
    proc.close()
    with pytest.raises(SpawnError, match="not running"):
        closing.spawn(request(["/bin/true"]))


def test_parent_exit_stops_the_helper(root: None) -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: start a helper and a command, then vanish
        try:
            os.close(read_end)
            started = Spawner().start()
            proc = started.spawn(request(["/bin/sleep", "30"]))
            os.write(write_end, json.dumps([started.pid, proc.pid]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        helper, command = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert wait_gone(helper)
    assert wait_gone(command)


# -- protocol -------------------------------------------------------------------------------


def test_request_round_trip() -> None:
    sent = request(["/bin/echo", "a b"], cwd="/tmp", time_limit=2)
    assert parse_request(decode(encode(sent.to_json()))) == sent


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"uid": 0}, "never root"),
        ({"gid": -1}, "never root"),
        ({"uid": "12"}, "never root"),
        ({"argv": "/bin/sh"}, "argv"),
        ({"argv": [""]}, "is empty"),
        ({"argv": ["/bin/x\0y"]}, "NUL"),
        ({"env": {"A=B": "x"}}, "environment"),
        ({"env": []}, "env"),
        ({"cwd": "relative"}, "absolute"),
        ({"time_limit": float("inf")}, "time_limit"),
        ({"time_limit": True}, "time_limit"),
    ],
)
def test_bad_requests_are_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        parse_request({**request(["/bin/true"]).to_json(), **change})


def test_framing_errors() -> None:
    with pytest.raises(ProtocolError, match="not a JSON object"):
        decode(encode([1]))  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="too large"):
        encode({"x": "y" * (1 << 20)})
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with left, right:
        send(left, {"a": 1})
        data, fds = receive(right)
        assert (decode(data), fds) == ({"a": 1}, [])


def test_reads_only_the_files_named_at_start(root: None, tmp_path: Path) -> None:
    """A reload after root was dropped reads TLS keys through the helper: the files named
    when it started and no other, with the errors of open()."""
    secret = tmp_path / "key.pem"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY-----\nx\n")
    secret.chmod(0o600)
    other = tmp_path / "other"
    other.write_bytes(b"not yours")
    missing = tmp_path / "gone.pem"
    with Spawner(readable=[str(secret), str(missing)]).start() as helper:

        def read(path: Path) -> object:
            try:
                return base64.b64encode(helper.read_file(str(path))).decode()
            except OSError as e:
                return [type(e).__name__, e.errno, str(e)]

        assert as_nobody(lambda: read(secret)) == base64.b64encode(secret.read_bytes()).decode()
        refused = as_nobody(lambda: read(other))
        assert refused[0] == "SpawnError"
        assert "not a file the spawner reads for vmail" in refused[2]
        assert as_nobody(lambda: read(missing))[:2] == ["FileNotFoundError", errno.ENOENT]
