"""The two servers the SMTP bench compares, each built fresh in a temporary directory.

:class:`VmailServer` runs ``vmail init`` (SQLite directory), adds the benchmark mailboxes
with the CLI and starts ``vmail serve`` on 127.0.0.1 port 0. :class:`PostfixServer` builds a
private Postfix instance (own config, queue, data and Maildir base; virtual(8) delivery with
a hash virtual_mailbox_maps, as the peer kit's ``setup_postfix.sh``) on a free loopback port;
it never touches the system instance. Both deliver to ``<base>/example.com/uNNNN/{new,cur}``
with fsync on (each server's default).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from smtp_bench_measure import DOMAIN, users

POSTFIX = Path("/usr/sbin/postfix")
POSTMAP = Path("/usr/sbin/postmap")
VMAIL = [sys.executable, "-m", "vmail"]
VIRTUAL_ID = 5000
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
PASSWORD = "bench-password"


def _wait(predicate: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _terminate(pid: int, exited: Callable[[], bool]) -> None:
    """SIGTERM one PID we started; SIGKILL that PID only if it is still alive after a while."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        _wait(exited, f"pid {pid} to exit", STOP_TIMEOUT)
    except RuntimeError:
        os.kill(pid, signal.SIGKILL)


class VmailServer:
    """``vmail serve`` on a fresh ``vmail init`` configuration with N mailboxes."""

    name = "vmail"

    def __init__(self, root: Path, mailboxes: int) -> None:
        self.root = root
        self.config_dir, self.data_dir = root / "etc", root / "data"
        self.log_file, self.ports_file = root / "serve.log", root / "ports.json"
        self.mailboxes = mailboxes
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def vmail(self, *args: str, stdin: str | None = None) -> None:
        done = subprocess.run(
            [*VMAIL, "-c", str(self.config_dir), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"vmail {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    @property
    def main_cf(self) -> Path:
        return self.config_dir / "main.cf"

    def setup(self) -> None:
        self.vmail(
            "init", str(self.config_dir), "--data-dir", str(self.data_dir), "--hostname", "mx.test"
        )
        master_cf = self.config_dir / "master.cf"
        listeners = re.sub(
            r"^(2525|5587|4465)(?=\s)", "127.0.0.1:0", master_cf.read_text(), flags=re.M
        )
        master_cf.write_text(listeners)
        with open(self.config_dir / "main.cf", "a") as main_cf:
            main_cf.write("\n# smtp_bench\nsmtpd_client_connection_count_limit = 0\n")
        self.vmail("domain", "add", DOMAIN)
        for user in users(self.mailboxes):  # one at a time: SQLite takes one writer
            self.vmail("mailbox", "add", f"{user}@{DOMAIN}", "--password-file", "-", stdin=PASSWORD)

    def start(self) -> None:
        command = [*VMAIL, "-c", str(self.config_dir), "serve", "--no-client-lookup"]
        env = dict(os.environ)
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [*command, "--ports-file", str(self.ports_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        proc = self.proc

        def started() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"vmail serve exited {proc.returncode}:\n{self.log_tail()}")
            return self.ports_file.exists()

        _wait(started, "vmail serve to listen")
        ports: dict[str, int] = json.loads(self.ports_file.read_text())
        self.port = ports["127.0.0.1:0"]

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid]

    def maildir(self, user: str) -> Path:
        return self.data_dir / "mail" / DOMAIN / user

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        _terminate(proc.pid, lambda: proc.poll() is not None)
        proc.wait()


POSTFIX_MAIN_CF = """\
# private smtp_bench instance (peer kit's setup_postfix.sh, virtual mode)
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-smtp-bench
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
myhostname = peer.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no
readme_directory = no
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {root}/vmail
virtual_mailbox_maps = hash:{root}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{uid}
virtual_minimum_uid = 100
virtual_transport = virtual
"""

POSTFIX_MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (Postfix cannot listen on port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostfixServer:
    """A private Postfix 3.7 instance under ``root`` (config, queue, data, Maildirs, log)."""

    name = "postfix"

    def __init__(self, root: Path, mailboxes: int) -> None:
        self.root, self.mailboxes = root, mailboxes
        self.etc = root / "etc"
        self.port = 0
        self.master_pid = 0

    @property
    def main_cf(self) -> Path:
        return self.etc / "main.cf"

    @staticmethod
    def available() -> bool:
        return POSTFIX.exists() and POSTMAP.exists() and os.geteuid() == 0

    def _postfix(self, *args: str) -> None:
        done = subprocess.run(
            [str(POSTFIX), "-c", str(self.etc), *args], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def setup(self) -> None:
        for sub in ("etc", "queue", "data", "vmail"):
            (self.root / sub).mkdir(parents=True)
        shutil.chown(self.root / "data", "postfix")
        base = self.root / "vmail"
        (base / DOMAIN).mkdir()
        for path in (base, base / DOMAIN):
            os.chown(path, VIRTUAL_ID, VIRTUAL_ID)
        self.port = free_port()
        values = {"root": str(self.root), "domain": DOMAIN, "uid": str(VIRTUAL_ID)}
        (self.etc / "main.cf").write_text(POSTFIX_MAIN_CF.format(**values))
        (self.etc / "master.cf").write_text(POSTFIX_MASTER_CF.format(port=self.port))
        (self.etc / "vmailbox").write_text(
            "".join(f"{user}@{DOMAIN} {DOMAIN}/{user}/\n" for user in users(self.mailboxes))
        )
        subprocess.run(
            [str(POSTMAP), "-c", str(self.etc), f"hash:{self.etc / 'vmailbox'}"],
            check=True,
            timeout=60,
        )
        self._postfix("check")

    def start(self) -> None:
        self._postfix("start")
        pid_file = self.root / "queue" / "pid" / "master.pid"
        _wait(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "postfix master")
        self.master_pid = int(pid_file.read_text().strip())
        _wait(self._listening, f"postfix smtpd on port {self.port}")

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.recv(512)
            return True
        except OSError:
            return False

    def pids(self) -> list[int]:
        return [self.master_pid]

    def maildir(self, user: str) -> Path:
        return self.root / "vmail" / DOMAIN / user

    def stop(self) -> None:
        if self.master_pid:
            pid = self.master_pid
            _terminate(pid, lambda: not Path(f"/proc/{pid}").exists())
            self.master_pid = 0
