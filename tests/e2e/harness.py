"""A real ``vmail serve`` process for end-to-end tests.

:func:`make_config` runs ``vmail init`` into a temporary directory (SQLite directory,
self-signed certificate), points every listener at ``127.0.0.1:0`` and applies extra
main.cf settings. :class:`ServerProcess` starts ``vmail serve`` on it, waits for the
ports file, and offers SMTP clients, the directory CLI, the log and the mail store.
When the tests run as root (CI), the data directory is given to ``nobody`` so that the
server, which drops root after binding, can write it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pwd
import re
import signal
import smtplib
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from vmail.cli.main import main

VMAIL = [sys.executable, "-m", "vmail"]
HOSTNAME = "mx.test"
PASSWORD = "correct horse battery"
START_TIMEOUT = 30.0


def vmail(config_dir: Path, *args: str, input: str | None = None) -> str:
    """Run a vmail subcommand in a subprocess; its stdout (fails the test on an error)."""
    done = subprocess.run(
        [*VMAIL, "-c", str(config_dir), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"vmail {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def vmail_here(config_dir: Path, *args: str) -> str:
    """Run a vmail subcommand in this process (no interpreter start-up); its stdout."""
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("vmail")
    saved = logger.handlers[:], logger.level
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["-c", str(config_dir), *args])
    finally:
        logger.handlers[:], logger.level = saved[0], saved[1]
    if code != 0:
        raise AssertionError(f"vmail {' '.join(args)} failed:\n{out.getvalue()}{err.getvalue()}")
    return out.getvalue()


def _run_as() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def make_config(tmp_path: Path, main: dict[str, str] | None = None, master: str = "") -> Path:
    """A configuration directory for one test (``vmail init`` + listeners on port 0)."""
    config_dir = tmp_path / "etc"
    data_dir = tmp_path / "data"
    owner = _run_as()
    ids = ["--uid", str(owner[0]), "--gid", str(owner[1])] if owner else []
    vmail(
        config_dir,
        "init",
        str(config_dir),
        "--data-dir",
        str(data_dir),
        "--hostname",
        HOSTNAME,
        *ids,
    )
    master_cf = config_dir / "master.cf"
    text = re.sub(
        r"^(2525|5587|4465|1143|1993|1110|1995|8443)(?=\s)",
        "127.0.0.1:0",
        master_cf.read_text(),
        flags=re.M,
    )
    master_cf.write_text(text + master)
    settings = {"mynetworks": "127.0.0.0/8", "smtpd_client_connection_count_limit": "0"}
    settings.update(main or {})
    with open(config_dir / "main.cf", "a") as f:
        f.write("\n# test settings\n")
        for name, value in settings.items():
            f.write(f"{name} = {value}\n")
    if owner:
        for path in [data_dir, *data_dir.rglob("*")]:
            os.chown(path, *owner)
        for path in [tmp_path, *tmp_path.parents]:  # pytest's directories are 0700
            if path == Path(path.anchor) or path == Path("/tmp"):
                break
            path.chmod(path.stat().st_mode | 0o111)
    return config_dir


class ServerProcess:
    """``vmail serve`` running on a configuration directory."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.data_dir = config_dir.parent / "data"
        self.ports_file = config_dir.parent / "ports.json"
        self.log_file = config_dir.parent / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}

    def start(self) -> ServerProcess:
        self.ports_file.unlink(missing_ok=True)
        command = [*VMAIL, "-c", str(self.config_dir), "serve", "--no-client-lookup"]
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [*command, "--ports-file", str(self.ports_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # kill() reaches the delivery process too
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ports_file.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"vmail serve exited {self.proc.returncode}:\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"vmail serve did not start:\n{self.log}")
            time.sleep(0.05)
        self.ports = json.loads(self.ports_file.read_text())
        return self

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def port(self, service: str = "smtp") -> int:
        names = {"smtp": "127.0.0.1:0"}
        return self.ports[names.get(service, service)]

    def smtp(self, service: str = "smtp", timeout: float = 30) -> smtplib.SMTP:
        """A client connected to the listener (``smtp``, ``submission``, ``submissions``)."""
        if service == "submissions":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return smtplib.SMTP_SSL(
                "127.0.0.1", self.port(service), timeout=timeout, context=context
            )
        return smtplib.SMTP("127.0.0.1", self.port(service), timeout=timeout)

    def vmail(self, *args: str, input: str | None = None) -> str:
        return vmail(self.config_dir, *args, input=input)

    def add_mailbox(self, address: str, password: str = PASSWORD) -> None:
        domain = address.rpartition("@")[2]
        if domain not in vmail_here(self.config_dir, "domain", "list"):
            vmail_here(self.config_dir, "domain", "add", domain)
        secret = self.config_dir.parent / "password"
        secret.write_text(password + "\n")
        vmail_here(self.config_dir, "mailbox", "add", address, "--password-file", str(secret))

    def maildir(self, address: str) -> Path:
        local, _, domain = address.partition("@")
        return self.data_dir / "mail" / domain / local

    def messages(self, address: str) -> list[bytes]:
        new = self.maildir(address) / "new"
        return [p.read_bytes() for p in sorted(new.iterdir())] if new.is_dir() else []

    def wait_for(self, address: str, count: int = 1, timeout: float = 20) -> list[bytes]:
        """The messages in the mailbox once there are ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(address)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{address}: {len(found)} of {count} messages\n{self.log}")
            time.sleep(0.05)

    def wait_log(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"log never matched {pattern!r}:\n{self.log}")
            time.sleep(0.05)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"vmail serve did not stop on SIGTERM:\n{self.log}") from None

    def kill(self) -> None:
        """SIGKILL to every process of the server at once (a crash, not a shutdown)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def running(config_dir: Path) -> Iterator[ServerProcess]:
    """Start a server; stop it when the test ends."""
    server = ServerProcess(config_dir).start()
    try:
        yield server
    finally:
        server.stop()
