"""A private, real Dovecot 2.3 (IMAP + POP3) on a Maildir++ tree, for compatibility tests.

:class:`Dovecot` writes its own configuration, base_dir and logs under a work directory,
authenticates users from a passwd-file (plain passwords) and serves
``maildir:<root>/%d/%n`` on 127.0.0.1 with free ports chosen by the OS. Mail processes run
as an unprivileged user: ``nobody`` when the tests run as root (as ``vmail serve`` does,
so both can write the same tree), else the current user. Folders get vmail's default
``special_use`` attributes; ``autocreate`` names get ``auto = subscribe``. Use it as a
context manager: the instance is stopped, and waited for, when the block ends.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

DOVECOT = "/usr/sbin/dovecot"
START_TIMEOUT = 20.0
SPECIAL_USE = {
    "Drafts": "\\Drafts",
    "Sent": "\\Sent",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}


def available() -> bool:
    """Whether a Dovecot binary is installed."""
    return os.path.exists(DOVECOT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _users() -> tuple[pwd.struct_passwd, str, str]:
    """The mail user, and Dovecot's login and internal users."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me, me.pw_name, me.pw_name
    nobody = pwd.getpwnam("nobody")
    names = {entry.pw_name for entry in pwd.getpwall()}
    login = "dovenull" if "dovenull" in names else "nobody"
    internal = "dovecot" if "dovecot" in names else "nobody"
    return nobody, login, internal


class Dovecot:
    """A private Dovecot serving ``maildir:<mail_root>/%d/%n`` to ``users`` (address → password).

    Its configuration, passwd-file, sockets and log live in a fresh directory under the
    system's temporary directory (readable by Dovecot's unprivileged auth process whatever
    the test's own directories allow), removed at :meth:`stop` unless the block failed.
    """

    def __init__(
        self, mail_root: Path, users: dict[str, str], autocreate: Sequence[str] = ()
    ) -> None:
        self.autocreate = tuple(autocreate)
        self.work_dir = Path(tempfile.mkdtemp(prefix="vmail-dovecot-"))
        self.work_dir.chmod(0o755)
        self.mail_root = mail_root
        self.users = users
        self.imap_port = 0
        self.pop3_port = 0
        self.config_file = self.work_dir / "dovecot.conf"
        self.log_file = self.work_dir / "dovecot.log"
        self.base_dir = self.work_dir / "run"
        self._master_pid: int | None = None

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _mailboxes(self) -> str:
        """``mailbox`` blocks: vmail's default special-use folders, ``auto = subscribe``."""
        names = dict.fromkeys([*SPECIAL_USE, *self.autocreate])
        blocks = []
        for name in names:
            lines = [f"  mailbox {name} {{"]
            if name in SPECIAL_USE:
                lines.append(f"    special_use = {SPECIAL_USE[name]}")
            if name in self.autocreate:
                lines.append("    auto = subscribe")
            blocks.append("\n".join([*lines, "  }\n"]))
        return "".join(blocks)

    def _write_config(self) -> None:
        mail_user, login_user, internal_user = _users()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.base_dir, self.work_dir / "state"):
            directory.mkdir(exist_ok=True)
        passwd = self.work_dir / "passwd"
        passwd.write_text(
            "".join(
                f"{user}:{{PLAIN}}{secret}:{mail_user.pw_uid}:{mail_user.pw_gid}::"
                f"{self.work_dir}::\n"
                for user, secret in self.users.items()
            )
        )
        self.imap_port, self.pop3_port = _free_port(), _free_port()
        self.config_file.write_text(
            f"""
base_dir = {self.base_dir}
state_dir = {self.work_dir / "state"}
instance_name = vmail-test-{os.getpid()}-{self.imap_port}
log_path = {self.log_file}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{self.mail_root}/%d/%n
mail_fsync = always
maildir_very_dirty_syncs = no
mailbox_list_index = no
namespace inbox {{
  inbox = yes
  separator = .
{self._mailboxes()}}}
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
"""
        )

    def start(self) -> Dovecot:
        self._write_config()
        output = self.work_dir / "dovecot.out"
        with open(output, "wb") as out:  # the daemon keeps it open: no pipe to wait for
            code = subprocess.call(
                [DOVECOT, "-c", str(self.config_file)], stdout=out, stderr=out, timeout=30
            )
        if code != 0:
            self.stop(keep=True)
            raise AssertionError(f"dovecot did not start:\n{output.read_text()}{self.log}")
        pid_file = self.base_dir / "master.pid"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if pid_file.exists() and pid_file.read_text().strip():
                self._master_pid = int(pid_file.read_text())
                if self._listening():
                    return self
            if time.monotonic() > deadline:
                self.stop(keep=True)
                raise AssertionError(f"dovecot is not listening:\n{self.log}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        for port in (self.imap_port, self.pop3_port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        return True

    def stop(self, keep: bool = False) -> None:
        """SIGTERM to the master; wait for it; remove the work directory unless ``keep``."""
        pid, self._master_pid = self._master_pid, None
        if pid is not None:
            self._terminate(pid)
        if not keep:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    @staticmethod
    def _terminate(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)

    def imap(self, user: str) -> imaplib.IMAP4:
        """An imaplib client logged in as ``user``."""
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        client.login(user, self.users[user])
        return client

    def pop3(self, user: str) -> poplib.POP3:
        """A poplib client logged in as ``user``."""
        client = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        client.user(user)
        client.pass_(self.users[user])
        return client

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop(keep=kind is not None)
        if kind is not None:
            print(f"dovecot: configuration and log kept in {self.work_dir}", file=sys.stderr)
