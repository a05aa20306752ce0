"""The two mail-access servers the IMAP and POP3 benches compare, built fresh under one root.

:class:`VmailAccess` runs ``vmail init`` (SQLite directory), adds the benchmark mailboxes
and starts ``vmail serve`` with IMAP, IMAPS, POP3 and POP3S on 127.0.0.1 port 0.
:class:`DovecotAccess` builds a private Dovecot 2.3 (own base_dir, state_dir, log and
config under the root; ``ssl = yes`` with vmail's certificate; a passwd-file passdb and
userdb) on free loopback ports; its mail processes run as the virtual uid, never as root.

Both sides store the *same* ``{SHA512-CRYPT}`` hash per user (vmail's directory row is
rewritten with it after ``vmail mailbox add``) and both cache verified credentials: vmail's
authenticator has its built-in cache (60 s, 10,000 entries); Dovecot gets
``auth_cache_size = 10M`` and ``auth_cache_ttl = 60s`` to match.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from smtp_bench_servers import VIRTUAL_ID, _terminate, _wait, free_port

from vmail.auth.passwords import hash_password
from vmail.cli.main import main as vmail_main

DOMAIN = "example.com"
PASSWORD = "bench-password"
SCHEME = "SHA512-CRYPT"
OWNER = (VIRTUAL_ID, VIRTUAL_ID)
DOVECOT = Path("/usr/sbin/dovecot")
VMAIL = [sys.executable, "-m", "vmail"]
LABELS = ("imap", "imaps", "pop3", "pop3s")
VMAIL_PORTS = {"1143": "imap", "1993": "imaps", "1110": "pop3", "1995": "pop3s"}


def login_users(count: int) -> list[str]:
    """Addresses of the small mailboxes used for logins and IDLE."""
    return [f"u{i:04d}@{DOMAIN}" for i in range(1, count + 1)]


class VmailAccess:
    """``vmail serve`` with its four mail-access listeners on a fresh configuration."""

    name = "vmail"

    def __init__(self, root: Path, users: list[str]) -> None:
        self.root, self.users = root, users
        self.config_dir, self.data_dir = root / "etc", root / "data"
        self.log_file, self.ports_file = root / "serve.log", root / "ports.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}
        self.hashes: dict[str, str] = {}

    def _cli(self, *args: str) -> None:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = vmail_main(["-c", str(self.config_dir), *args])
        if code != 0:
            raise RuntimeError(f"vmail {' '.join(args)} failed:\n{out.getvalue()}{err.getvalue()}")

    def setup(self) -> None:
        self.root.mkdir(parents=True)
        owner = ["--uid", str(OWNER[0]), "--gid", str(OWNER[1])]
        self._cli("init", str(self.config_dir), "--data-dir", str(self.data_dir), *owner)
        master_cf = self.config_dir / "master.cf"
        text = master_cf.read_text()
        text = re.sub(r"^(2525|5587|4465)\s.*\n(  .*\n)*", "", text, flags=re.M)  # no SMTP
        text = re.sub(r"^(1143|1993|1110|1995)(?=\s)", "127.0.0.1:0", text, flags=re.M)
        master_cf.write_text(text)
        with open(self.config_dir / "main.cf", "a") as main_cf:
            main_cf.write(
                "\n# mail-access bench: room for the IDLE sessions\n"
                "imapd_client_limit = 20000\npop3d_client_limit = 20000\n"
                "mail_max_userip_connections = 20000\n"
            )
        self._cli("domain", "add", DOMAIN)
        secret = self.root / "password"
        secret.write_text(PASSWORD + "\n")
        for user in self.users:
            self._cli("mailbox", "add", user, "--password-file", str(secret))
        self.hashes = {user: hash_password(PASSWORD, SCHEME) for user in self.users}
        with sqlite3.connect(self.data_dir / "vmail.db") as db:
            db.executemany(
                "UPDATE mailbox SET password = ? WHERE username = ?",
                [(hashed, user) for user, hashed in self.hashes.items()],
            )
        for user in self.users:
            self.maildir(user).parent.mkdir(parents=True, exist_ok=True)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            if "spool" not in path.parts:
                os.chown(path, *OWNER)

    def start(self) -> None:
        self.ports_file.unlink(missing_ok=True)
        command = [*VMAIL, "-c", str(self.config_dir), "serve", "--no-client-lookup"]
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [*command, "--ports-file", str(self.ports_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self.proc

        def started() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"vmail serve exited {proc.returncode}:\n{self.log_tail()}")
            return self.ports_file.exists()

        _wait(started, "vmail serve to listen")
        ports: dict[str, int] = json.loads(self.ports_file.read_text())
        ports.setdefault("imap", ports.get("127.0.0.1:0", 0))  # the first listener's label
        self.ports = {label: ports[label] for label in LABELS}

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid]

    def maildir(self, user: str) -> Path:
        local, _, domain = user.partition("@")
        return self.data_dir / "mail" / domain / local

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        _terminate(proc.pid, lambda: proc.poll() is not None)
        proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


DOVECOT_CONF = """\
# private mail-access bench instance (peer kit's setup_dovecot.sh, plus TLS and an auth cache)
base_dir = {root}/run
state_dir = {root}/state
instance_name = vmail-bench-dovecot
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 60s
auth_cache_negative_ttl = 0
first_valid_uid = 100
mail_location = maildir:~
mail_fsync = optimized
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme={scheme} username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
protocol imap {{
  mail_max_userip_connections = 20000
}}
protocol pop3 {{
  mail_max_userip_connections = 20000
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
  }}
  process_limit = 12000
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
  }}
}}
service imap {{
  process_limit = 12000
}}
service anvil {{
  client_limit = 15000
}}
service auth {{
  client_limit = 15000
}}
service stats {{
  client_limit = 15000
}}
"""


class DovecotAccess:
    """A private Dovecot 2.3 under ``root``, serving Maildirs at ``root/mail/<domain>/<local>``."""

    name = "dovecot"

    def __init__(self, root: Path, hashes: dict[str, str], cert: Path, key: Path) -> None:
        self.root, self.hashes, self.cert, self.key = root, hashes, cert, key
        self.ports: dict[str, int] = {}
        self.master_pid = 0

    @staticmethod
    def available() -> bool:
        return DOVECOT.exists() and os.geteuid() == 0

    def maildir(self, user: str) -> Path:
        local, _, domain = user.partition("@")
        return self.root / "mail" / domain / local

    def setup(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True)
        os.chown(self.root / "mail", *OWNER)
        lines = [
            f"{user}:{hashed}:{OWNER[0]}:{OWNER[1]}::{self.maildir(user)}::\n"
            for user, hashed in self.hashes.items()
        ]
        (self.root / "users").write_text("".join(lines))
        self.ports = {label: free_port() for label in LABELS}
        (self.root / "dovecot.conf").write_text(
            DOVECOT_CONF.format(
                root=self.root, cert=self.cert, key=self.key, scheme=SCHEME, **self.ports
            )
        )
        for user in self.hashes:
            self.maildir(user).parent.mkdir(parents=True, exist_ok=True)
            os.chown(self.maildir(user).parent, *OWNER)

    def start(self) -> None:
        subprocess.run(
            [str(DOVECOT), "-c", str(self.root / "dovecot.conf")], check=True, timeout=60
        )
        pid_file = self.root / "run" / "master.pid"
        _wait(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "dovecot master")
        self.master_pid = int(pid_file.read_text().strip())
        time.sleep(0.5)

    def pids(self) -> list[int]:
        return [self.master_pid]

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "dovecot.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.master_pid:
            pid = self.master_pid
            _terminate(pid, lambda: not Path(f"/proc/{pid}").exists())
            self.master_pid = 0

    def restart(self) -> None:
        self.stop()
        self.start()
