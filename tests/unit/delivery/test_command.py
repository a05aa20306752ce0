"""Running external commands: argv vs shell, input, output capture, limits, statuses."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.delivery.command_helpers import AS_ROOT, nobody_uid, open_dir
from vmail.config import MainConfig
from vmail.delivery.command import (
    OUTPUT_LIMIT,
    Command,
    CommandOutcome,
    clean_output,
    command_failure,
    export_environment,
    run_command,
)
from vmail.delivery.request import Status

__all__ = ["open_dir"]


def run(argv: list[str], data: bytes = b"", **kw: object) -> CommandOutcome:
    return run_command(Command(argv=tuple(argv), **kw), [data])  # type: ignore[arg-type]


def test_stdin_is_streamed_and_output_captured() -> None:
    chunks = [b"line %d\n" % i for i in range(20000)]
    outcome = run_command(Command(argv=("/bin/sh", "-c", "wc -l; echo err >&2")), chunks)
    assert outcome.exit_code == 0
    assert outcome.output == "20000 err "
    assert command_failure(outcome, "/bin/sh") is None


def test_argv_never_reaches_a_shell(open_dir: Path) -> None:
    evil = '$(touch pwned); `touch pwned2` | rm -rf / ; "x"'
    outcome = run(["/bin/echo", evil], cwd=str(open_dir))
    assert outcome.output == evil + " "
    assert not (open_dir / "pwned").exists()
    assert not (open_dir / "pwned2").exists()


def test_command_line_without_shell_characters_runs_directly() -> None:
    command = Command(command_line="/bin/echo a  b")
    assert command.exec_argv() == ["/bin/echo", "a", "b"]
    assert run_command(command, []).output == "a b "


def test_command_line_with_shell_characters_uses_sh() -> None:
    command = Command(command_line="echo $((1+2)) | cat")
    assert command.exec_argv() == ["/bin/sh", "-c", "echo $((1+2)) | cat"]
    assert run_command(command, []).output == "3 "


def test_local_command_shell() -> None:
    command = Command(command_line="echo hi", shell="/bin/sh -e -c")
    assert command.exec_argv() == ["/bin/sh", "-e", "-c", "echo hi"]


def test_needs_argv_or_command_line() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Command()
    with pytest.raises(ValueError, match="exactly one"):
        Command(argv=("x",), command_line="x")


def test_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("SECRET", "leak")
    monkeypatch.delenv("LANG", raising=False)
    outcome = run(["/usr/bin/env"], export=("TZ", "LANG", "FIXED=yes"), env={"SENDER": "a@b"})
    lines = sorted(outcome.output.split())
    assert lines == ["FIXED=yes", "PATH=/usr/bin:/bin", "SENDER=a@b", "TZ=UTC"]


def test_export_environment_default() -> None:
    assert export_environment(MainConfig.from_text("")) == ("TZ", "MAIL_CONFIG", "LANG")


def test_output_limited_and_cleaned() -> None:
    outcome = run(["/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; exit 1"])
    assert len(outcome.output) == OUTPUT_LIMIT
    assert clean_output(b"a\tb\nc\rd\x01e\xff") == "a b c_d_e_"
    assert clean_output("é".encode()) == "é"


def test_time_limit_kills_process_group(open_dir: Path) -> None:
    marker = open_dir / "late"
    cmd = f"(sleep 2; touch {marker}) & sleep 30"
    started = time.monotonic()
    outcome = run(["/bin/sh", "-c", cmd], time_limit=0.5)
    assert time.monotonic() - started < 5
    assert outcome.timed_out
    time.sleep(2.5)
    assert not marker.exists(), "the background child survived"
    result = command_failure(outcome, "/bin/sh")
    assert result is not None
    assert (result.status, result.dsn, result.text) == (
        Status.BOUNCED,
        "5.3.0",
        'Command time limit exceeded: "/bin/sh"',
    )


def test_time_limit_while_writing_input() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 65536

    outcome = run_command(Command(argv=("/bin/sleep", "30"), time_limit=0.5), endless())
    assert outcome.timed_out


def test_command_that_stops_reading_is_judged_by_exit_status() -> None:
    outcome = run_command(Command(argv=("/bin/true",)), (b"x" * 65536 for _ in range(100)))
    assert outcome.exit_code == 0
    assert outcome.write_error is None
    assert command_failure(outcome, "/bin/true") is None


def test_signal_defers() -> None:
    outcome = run(["/bin/sh", "-c", "echo dying; kill -9 $$"])
    assert outcome.signal == 9
    result = command_failure(outcome, "/bin/sh")
    assert result is not None
    assert (result.status, result.dsn, result.text) == (
        Status.DEFERRED,
        "4.3.0",
        'Command died with signal 9: "/bin/sh". Command output: dying ',
    )


@pytest.mark.parametrize(
    ("script_text", "status", "dsn", "text"),
    [
        ("exit 67", Status.BOUNCED, "5.1.1", "user unknown"),
        (
            "echo no such user; exit 67",
            Status.BOUNCED,
            "5.1.1",
            "user unknown. Command output: no such user ",
        ),
        ("exit 75", Status.DEFERRED, "4.3.0", "temporary failure"),
        ("exit 1", Status.BOUNCED, "5.3.0", 'Command died with status 1: "CMD"'),
        (
            "echo oops; exit 3",
            Status.BOUNCED,
            "5.3.0",
            'Command died with status 3: "CMD". Command output: oops ',
        ),
        ("echo 4.2.2 mailbox full; exit 1", Status.DEFERRED, "4.2.2", "mailbox full "),
        ("echo 5.7.1   go away; exit 75", Status.BOUNCED, "5.7.1", "go away "),
        (
            "echo 4.2.2x not a code; exit 75",
            Status.DEFERRED,
            "4.3.0",
            "temporary failure. Command output: 4.2.2x not a code ",
        ),
    ],
)
def test_exit_status_mapping(script_text: str, status: Status, dsn: str, text: str) -> None:
    outcome = run(["/bin/sh", "-c", script_text])
    result = command_failure(outcome, "CMD")
    assert result is not None
    assert (result.status, result.dsn, result.text) == (status, dsn, text)


def test_exec_failure_is_a_temporary_failure() -> None:
    outcome = run(["/nonexistent/cmd"])
    result = command_failure(outcome, "/nonexistent/cmd")
    assert result is not None
    assert (result.status, result.dsn) == (Status.DEFERRED, "4.3.0")
    assert result.text == (
        "temporary failure. Command output: pipe: fatal: pipe_command: "
        "execvp /nonexistent/cmd: No such file or directory "
    )


def test_bad_directory_is_a_temporary_failure(tmp_path: Path) -> None:
    outcome = run(["/bin/true"], cwd=str(tmp_path / "missing"))
    assert outcome.exit_code == 75
    assert "cannot change directory" in outcome.output


def test_read_error_of_the_message() -> None:
    def failing() -> Iterator[bytes]:
        yield b"Subject: x\r\n"
        raise OSError(errno.EIO, "Input/output error")

    outcome = run_command(Command(argv=("/bin/cat",)), failing())
    assert outcome.exit_code == 0
    result = command_failure(outcome, "/bin/cat")
    assert result is not None
    assert (result.status, result.dsn, result.text) == (
        Status.BOUNCED,
        "5.3.0",
        'Command failed: error reading message: Input/output error: "/bin/cat"',
    )


@pytest.mark.skipif(not AS_ROOT, reason="privilege drop needs root")
def test_runs_as_the_given_user() -> None:
    uid = nobody_uid()
    outcome = run(["/bin/sh", "-c", "id -u; id -g; id -G"], uid=uid, gid=65534)
    assert outcome.output.split() == [str(uid), "65534", "65534"]


def test_not_root_runs_as_current_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    outcome = run(["/usr/bin/id", "-u"], uid=12345, gid=12345)
    assert outcome.output.split() == [str(os.getuid())]
