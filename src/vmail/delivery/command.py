"""Run an external delivery command the way Postfix's pipe_command() does.

* **What runs.** pipe(8) gives an argument vector, executed directly: no shell ever sees
  the addresses in it. local(8) gives a command line (``|command`` in aliases(5)): it is
  split on blanks and executed directly when it holds only the characters of
  ``command_expansion_filter``'s default set, otherwise it runs as ``/bin/sh -c
  command`` (or under ``local_command_shell``), as Postfix's exec_command() decides.
* **Who runs it.** When vmail runs as root the child switches to the given uid/gid (no
  supplementary groups) before ``exec``. After ``vmail serve`` dropped root, the
  privileged spawner installed with :func:`install_spawner` (:mod:`.spawn`) starts it
  as that uid/gid instead, while vmail still streams the input and reads the output; a
  spawner that is gone makes it a temporary failure (``4.3.0``). Without either it runs
  as the current user. It starts its own session (process group) so that it can be
  killed with its offspring.
* **Environment.** Only the variables named in ``export_environment`` are kept
  (``NAME=value`` entries set a value), ``PATH`` is reset to ``/usr/bin:/bin``, then
  the caller's variables (local(8)'s ``SENDER``, ``RECIPIENT``...) are set.
* **Input and output.** The message streams into standard input while standard output
  and error are drained; the first :data:`OUTPUT_LIMIT` bytes are kept, tabs and
  newlines become spaces and other unprintable characters ``_``. A command that stops
  reading early (``EPIPE``) is judged by its exit status alone.
* **Time limit.** Past ``time_limit`` seconds the whole process group gets SIGKILL.

:func:`command_failure` turns an outcome into Postfix's status and text: time limit
(``5.3.0 Command time limit exceeded``), signal (``4.3.0 Command died with signal N``),
an enhanced status code at the start of the output, the ``<sysexits.h>`` table
(:mod:`.sysexits`), or ``Command died with status N``; each followed by ``. Command
output: ...`` when there was output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from vmail.config import MainConfig
from vmail.delivery.request import DeliveryResult, failed
from vmail.delivery.spawn import Spawned, Spawner, SpawnError, SpawnRequest
from vmail.delivery.status import errno_dsn
from vmail.delivery.sysexits import EX_TEMPFAIL, exit_detail, is_sysexits_code

OUTPUT_LIMIT = 4096
"""Bytes of command output kept for the status text (Postfix's VSTREAM_BUFSIZE)."""

DEFAULT_PATH = "/usr/bin:/bin"
DEFAULT_EXPORT = ("TZ", "MAIL_CONFIG", "LANG")
SHELL = "/bin/sh"
_DIRECT_CHARS = frozenset(
    "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t"
)
_DSN = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?=\s|\Z)")
_IO_SIZE = 1 << 16


@dataclass(frozen=True)
class Command:
    """One external command to run.

    Exactly one of ``argv`` (executed directly) and ``command_line`` (local(8)'s
    ``|command``) is given. ``name`` is what status texts call it: ``argv[0]`` or the
    command line. ``uid``/``gid`` apply only when running as root.
    """

    argv: tuple[str, ...] = ()
    command_line: str = ""
    shell: str = ""  # local_command_shell: the shell and its options
    uid: int | None = None
    gid: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    export: Sequence[str] = DEFAULT_EXPORT
    cwd: str | None = None
    time_limit: float = 1000.0
    process_name: str = "pipe"

    def __post_init__(self) -> None:
        if bool(self.argv) == bool(self.command_line):
            raise ValueError("Command needs exactly one of argv and command_line")

    @property
    def name(self) -> str:
        return self.argv[0] if self.argv else self.command_line

    def exec_argv(self) -> list[str]:
        """The argument vector to execute (shell or not, as exec_command() decides)."""
        if self.argv:
            return list(self.argv)
        if self.shell:
            return [*shlex.split(self.shell), self.command_line]
        if all(c in _DIRECT_CHARS for c in self.command_line) and self.command_line.split():
            return self.command_line.split()
        return [SHELL, "-c", self.command_line]

    def environment(self, inherited: Mapping[str, str] | None = None) -> dict[str, str]:
        """The command's environment: exported names, PATH, then ``env``."""
        source = os.environ if inherited is None else inherited
        out: dict[str, str] = {}
        for item in self.export:
            name, eq, value = item.partition("=")
            if eq:
                out[name] = value
            elif name in source:
                out[name] = source[name]
        out["PATH"] = DEFAULT_PATH
        out.update(self.env)
        return out


@dataclass(frozen=True)
class CommandOutcome:
    """How the command ended.

    ``exit_code`` is None when it was killed by ``signal``. ``read_error`` is a failure
    reading the message (the queue file); ``write_error`` one writing to the command
    other than ``EPIPE``.
    """

    exit_code: int | None
    signal: int | None = None
    timed_out: bool = False
    output: str = ""
    read_error: OSError | None = None
    write_error: OSError | None = None


def export_environment(config: MainConfig) -> tuple[str, ...]:
    """``export_environment`` (Postfix's default when the schema does not declare it)."""
    if config.is_known("export_environment"):
        return tuple(config.get_list("export_environment"))
    return DEFAULT_EXPORT


def clean_output(data: bytes) -> str:
    """Command output as Postfix shows it: tabs/newlines → space, unprintable → ``_``."""
    text = data.decode("utf-8", "replace")
    return "".join(
        " " if c in "\t\n" else (c if c.isprintable() and c != "\ufffd" else "_") for c in text
    )


_spawner: Spawner | None = None


def install_spawner(spawner: Spawner | None) -> None:
    """Start commands with another uid through ``spawner`` (None: directly, as before).

    ``vmail serve`` installs its privileged spawner before it drops root; commands with
    a ``uid`` then run through it whenever vmail is no longer root.
    """
    global _spawner
    _spawner = spawner


def spawner_fds() -> tuple[int, ...]:
    """The descriptors a process forked from vmail must keep open to use the installed
    spawner (the delivery process keeps them when it drops the master's sockets)."""
    spawner = _spawner
    fd = spawner.fileno() if spawner is not None else -1
    return (fd,) if fd >= 0 else ()


def run_command(command: Command, stdin: Iterable[bytes]) -> CommandOutcome:
    """Run ``command`` with ``stdin`` (byte chunks) as its input; never raises OSError."""
    argv = command.exec_argv()
    deadline = time.monotonic() + command.time_limit
    try:
        proc = _start(command, argv)
    except OSError as e:
        return _spawn_failure(command, argv, e)
    with proc:
        pumped = _pump(proc, iter(stdin), deadline)
        timed_out = pumped.timed_out
        try:
            if timed_out:
                _kill(proc)
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(proc)
                proc.wait()
        except SpawnError as e:  # the helper died: the outcome is unknown, try later
            return _spawn_failure(command, argv, e)
    status = proc.returncode
    assert status is not None
    return CommandOutcome(
        exit_code=status if status >= 0 else None,
        signal=-status if status < 0 else None,
        timed_out=timed_out or (isinstance(proc, Spawned) and proc.timed_out),
        output=clean_output(pumped.output),
        read_error=pumped.read_error,
        write_error=pumped.write_error,
    )


def _start(command: Command, argv: list[str]) -> subprocess.Popen[bytes] | Spawned:
    """Start the command: directly, or through the spawner to switch user without root."""
    as_root = os.geteuid() == 0 and command.uid is not None
    spawner = _spawner
    if spawner is not None and command.uid is not None and not as_root:
        return spawner.spawn(
            SpawnRequest(
                argv=tuple(argv),
                uid=command.uid,
                gid=command.gid if command.gid is not None else command.uid,
                env=command.environment(),
                cwd=os.path.abspath(command.cwd) if command.cwd is not None else None,
                time_limit=command.time_limit,
            )
        )
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=command.environment(),
        cwd=command.cwd,
        start_new_session=True,
        close_fds=True,
        user=command.uid if as_root else None,
        group=command.gid if as_root else None,
        extra_groups=[] if as_root else None,
    )


def _spawn_failure(command: Command, argv: list[str], e: OSError) -> CommandOutcome:
    """What Postfix's child would report before exiting with EX_TEMPFAIL."""
    reason = e.strerror or str(e)
    if isinstance(e, SpawnError):
        what = str(e)
    elif command.cwd is not None and e.filename in (command.cwd, os.path.abspath(command.cwd)):
        what = f'cannot change directory to "{command.cwd}": {reason}'
    else:
        what = f"pipe_command: execvp {argv[0]}: {reason}"
    return CommandOutcome(EX_TEMPFAIL, output=f"{command.process_name}: fatal: {what} ")


@dataclass
class _Pumped:
    output: bytes = b""
    timed_out: bool = False
    read_error: OSError | None = None
    write_error: OSError | None = None


def _pump(
    proc: subprocess.Popen[bytes] | Spawned, chunks: Iterator[bytes], deadline: float
) -> _Pumped:
    """Feed the message in and drain the output until both are done or time runs out."""
    assert proc.stdin is not None
    assert proc.stdout is not None
    result = _Pumped()
    captured = bytearray()
    in_fd, out_fd = proc.stdin.fileno(), proc.stdout.fileno()
    os.set_blocking(in_fd, False)
    os.set_blocking(out_fd, False)
    pending = b""
    with selectors.DefaultSelector() as sel:
        sel.register(out_fd, selectors.EVENT_READ)
        sel.register(in_fd, selectors.EVENT_WRITE)
        input_open = True

        def close_input() -> None:
            nonlocal input_open, pending
            if input_open:
                sel.unregister(in_fd)
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # type: ignore[union-attr]
                input_open, pending = False, b""

        while sel.get_map():
            if input_open and not pending:
                try:
                    pending = next(chunks, b"") or b""
                except OSError as e:
                    result.read_error = e
                    close_input()
                    continue
                if not pending:
                    close_input()
                    continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out = True
                break
            for key, _events in sel.select(remaining):
                if key.fd == out_fd:
                    try:
                        data = os.read(out_fd, _IO_SIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        sel.unregister(out_fd)
                    elif len(captured) < OUTPUT_LIMIT:
                        captured += data[: OUTPUT_LIMIT - len(captured)]
                elif input_open:
                    try:
                        written = os.write(in_fd, pending[:_IO_SIZE])
                        pending = pending[written:]
                    except BlockingIOError:
                        pass
                    except BrokenPipeError:
                        close_input()
                    except OSError as e:
                        result.write_error = e
                        close_input()
        close_input()
    result.output = bytes(captured)
    return result


def _kill(proc: subprocess.Popen[bytes] | Spawned) -> None:
    """SIGKILL the command's process group (it and its offspring)."""
    if isinstance(proc, Spawned):
        proc.kill()  # the helper kills the group: vmail may not signal that user
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):
            proc.kill()


def command_failure(outcome: CommandOutcome, name: str) -> DeliveryResult | None:
    """The bounce or deferral for ``outcome``, or None when the command succeeded."""
    output = outcome.output
    said = f". Command output: {output}" if output else ""
    if outcome.timed_out:
        return failed("5.3.0", f'Command time limit exceeded: "{name}"{said}')
    if outcome.signal is not None:
        return failed("4.3.0", f'Command died with signal {outcome.signal}: "{name}"{said}')
    code = outcome.exit_code or 0
    if code != 0:
        match = _DSN.match(output)
        if match:
            return failed(match.group(0), output[match.end() :].lstrip())
        detail = exit_detail(code)
        if is_sysexits_code(code):
            return failed(detail.dsn, f"{detail.text}{said}")
        return failed(detail.dsn, f'Command died with status {code}: "{name}"{said}')
    if outcome.read_error is not None:
        error = outcome.read_error
        dsn = "4.3.0" if error.errno in (errno.EAGAIN, errno.ESTALE) else "5.3.0"
        reason = error.strerror or str(error)
        return failed(dsn, f'Command failed: error reading message: {reason}: "{name}"')
    if outcome.write_error is not None:
        error = outcome.write_error
        reason = error.strerror or str(error)
        return failed(
            errno_dsn(error.errno, "5.3.0"),
            f'Command failed: error writing message: {reason}: "{name}"',
        )
    return None


__all__ = [
    "OUTPUT_LIMIT",
    "Command",
    "CommandOutcome",
    "clean_output",
    "command_failure",
    "export_environment",
    "install_spawner",
    "run_command",
    "spawner_fds",
]
