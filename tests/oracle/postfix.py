"""A private Postfix 3.7 instance used as an oracle for vmail's router.

``PostfixInstance`` builds a complete, throw-away Postfix configuration in a
fresh directory, starts it with ``postfix -c DIR start`` and answers three
questions about recipient addresses:

``rcpt(addresses, client_ip=..., sasl_user=..., sender=..., helo=...)``
    Opens one SMTP session to the instance's ``smtpd`` (loopback only, on a
    free port picked at start), says ``EHLO``, impersonates the wanted client
    with ``XCLIENT ADDR=... NAME=... HELO=... [LOGIN=...]``, says ``EHLO``
    again, ``MAIL FROM``, one ``RCPT TO`` per address, ``RSET`` and ``QUIT``.
    Each RCPT reply is returned as ``Reply(code, enhanced, text)`` exactly as
    smtpd sent it (lines of a multi-line reply are joined with ``"\\n"``, the
    code and enhanced status code are taken off every line).

``verify(addresses, sender=...)``
    Runs ``sendmail -C DIR -bv -f SENDER -- ADDRESSES`` (Postfix's "verify
    only" mode: the message is queued and routed, every delivery agent is
    asked what it *would* do, nothing is delivered).  Postfix mails a
    "Mail Delivery Status Report" to the sender.  The instance's ``trace``
    service (the bounce daemon that writes those reports) is pointed at a
    dedicated ``holdcleanup`` cleanup service whose ``header_checks`` put the
    report on HOLD, so it never leaves the queue.  sendmail -bv ignores the
    message on standard input, so the probe is recognised by the queue ID
    that pickup(8) logs for it (``maillog_file`` of the instance); the report
    in the hold queue (``postqueue -j``) whose ``X-Postfix-Queue-ID`` is that
    ID is read with ``postcat -bh -q ID`` and deleted with
    ``postsuper -d ID hold``.  The harness
    parses its ``message/delivery-status`` part.  Per recipient block it
    returns a dict::

        recipient           Final-Recipient (address after virtual alias
                            expansion, and after local(8) alias expansion
                            for local recipients)
        original_recipient  Original-Recipient (the address given to -bv,
                            shown in canonical internal form: "joe" ->
                            "joe@$myorigin", "localhost!joe" ->
                            "joe@localhost", '"a b"@d' -> "a b@d"; the
                            queue file and the log's orig_to= keep the
                            address as given, unquoted, and duplicate
                            elimination uses that form)
        status              Action: "deliverable" | "undeliverable" |
                            "deferred" (anything else verbatim)
        dsn                 Status, e.g. "2.0.0", "5.1.1"
        text                Diagnostic-Code without the "X-Postfix; " type,
                            unfolded, e.g. "delivery via virtual: delivers
                            to maildir"
        agent               the transport named in "delivery via NAME:" if the
                            text has that form, else None
        transport, nexthop  what trivial-rewrite(8) resolves the final
                            recipient to (see ``resolve``), i.e. the
                            transport:nexthop the queue manager used
        source              "report", or "log" for the null sender: Postfix
                            sends no report to <> ("not sending
                            trace/success notification for single-bounce
                            message"), so the entries are rebuilt from the
                            delivery agents' log lines (to=, orig_to=, dsn=,
                            status=, and the text in parentheses, which lacks
                            the "delivery via NAME:" prefix; agent is None)
        address_class       "local" | "alias" | "virtual" | "relay" |
                            "default" (the resolver's address class)
        resolve_flags       list of resolver flags: "final", "routed",
                            "error", "fail"

    Blocks are in the order of the report, which is not necessarily the order
    of the addresses (the queue manager groups by transport).

``resolve(address, sender="")``
    Talks the trivial-rewrite protocol on the instance's ``private/rewrite``
    socket (request ``resolve``), exactly like qmgr(8)/smtpd(8) do, and
    returns ``Resolved(transport, nexthop, recipient, address_class, flags)``.
    Note: this is *before* virtual alias expansion (that is cleanup's job).

What the harness can observe
    * exact SMTP replies to RCPT for any client address / name / HELO, with
      or without a SASL login name (``permit_sasl_authenticated`` applies:
      ``smtpd_sasl_auth_enable = yes`` is in the base configuration and
      XCLIENT ``LOGIN=`` marks the session authenticated);
    * the final recipient set after virtual alias expansion (canonical,
      virtual alias, including catch-alls, ``@domain`` rewrites, recursion,
      duplicate elimination inside one -bv request), each final recipient's
      original recipient and what its delivery agent reports in verify mode;
    * transport and nexthop per final recipient through the resolver.

    * with ``rcpt(..., data=True)``, the end-of-DATA reply, which is where
      whole-message cleanup(8) errors appear (a virtual alias loop gets
      ``250 2.1.5 Ok`` at RCPT but ``451 4.6.0 Alias expansion error`` after
      DATA; ``verify`` raises ``MessageNotAcceptedError`` with cleanup's
      reason, e.g. "unreasonable virtual_alias_maps map nesting for a@b").

What it cannot observe
    * Anything that happens only at DATA time or on real delivery: header or
      body checks, milters, the actual mailbox path written by virtual(8)
      (verify mode says only "delivers to maildir" / "delivers to mailbox"),
      the effect of virtual_uid_maps/virtual_gid_maps, what a pipe command
      does (it is never run; the report names the command).
    * smtp(8)/lmtp(8) never reach a real host: DNS is disabled
      (``smtp_dns_support_level = disabled``, native lookups, no network), so
      the report text for remote recipients is a lookup or connect failure;
      use ``transport``/``nexthop`` from the resolver instead.
    * smtpd's cleanup is the ``holdcleanup`` service (so accepted DATA is
      held, never delivered); a scenario's own ``header_checks`` therefore do
      not apply to SMTP-submitted mail in this harness.
    * Duplicate elimination across *separate* SMTP transactions, queue
      behaviour over time, retries, rate limits.
    * For recipients handled by local(8), alias/.forward expansion happens in
      the delivery agent; the report shows the end result of that expansion
      ("delivers to file: ...", "delivers to command: ...", or the unknown
      user bounce) and the resolver result is for that final address.
    * Addresses given to ``verify`` are parsed by sendmail(1) as RFC 822
      address lists, so an argument containing a comma is several recipients.

Base configuration (every key can be overridden or removed with ``None`` via
``main_cf``): see ``base_main_cf``.  Paths in values may use
``$config_directory`` (Postfix expands it), so scenario definitions stay
location-independent.

The instance lives in a short directory under ``/tmp`` (``$VMAIL_ORACLE_TMP``
overrides): Postfix's UNIX-domain socket paths must stay below 108 bytes and
the daemons, running as ``postfix``, must be able to traverse every parent,
which pytest's 0700 ``tmp_path`` would not allow.  On exit the mail log is
copied to ``base_dir/maillog`` (if ``base_dir`` was given) and the instance
directory is removed unless ``$VMAIL_ORACLE_KEEP`` is set.
"""

from __future__ import annotations

import contextlib
import email
import email.message
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTMAP = "/usr/sbin/postmap"
POSTALIAS = "/usr/sbin/postalias"
POSTCAT = "/usr/sbin/postcat"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
SENDMAIL = "/usr/sbin/sendmail"
META_SOURCE = Path("/etc/postfix")

DEFAULT_MYHOSTNAME = "mail.example.test"
DEFAULT_TIMEOUT = 60.0
POLL_INTERVAL = 0.05
HOLD_TEXT = "vmail-oracle report"

# trivial-rewrite resolve reply flags (src/global/resolve_clnt.h).
_RESOLVE_FLAGS = {1: "final", 2: "routed", 4: "error", 8: "fail"}
_RESOLVE_CLASSES = {
    1 << 8: "local",
    1 << 9: "alias",
    1 << 10: "virtual",
    1 << 11: "relay",
    1 << 12: "default",
}

_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?: |$)")
_LOG_REPORT_PREFIX = "vmail-oracle-log-entries:"
_DELIVERY_VIA = re.compile(r"^delivery via ([^:\s]+):")

# master.cf of the private instance: no chroot anywhere (the instance has no
# chroot jail with /etc files), everything else as in Debian's master.cf.
# "{smtpd_endpoint}" is replaced by the port chosen at start.
_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{smtpd_endpoint} inet n - n - - smtpd
  -o cleanup_service_name=holdcleanup
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
holdcleanup unix n      -       n       -       0       cleanup
  -o header_checks=regexp:$config_directory/oracle_hold_checks
  -o syslog_name=postfix/holdcleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
  -o cleanup_service_name=holdcleanup
  -o internal_mail_filter_classes=bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/$service_name
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


class PostfixError(RuntimeError):
    """Raised when the private instance cannot be built, started or queried."""


class MessageNotAcceptedError(PostfixError):
    """cleanup(8) refused the whole -bv probe; the message is the reason."""


class Reply(NamedTuple):
    """One SMTP reply: numeric code, enhanced status code ("" if none), text."""

    code: int
    enhanced: str
    text: str


class Resolved(NamedTuple):
    """What trivial-rewrite(8) resolves an address to."""

    transport: str
    nexthop: str
    recipient: str
    address_class: str
    flags: list[str]


def postfix_available() -> bool:
    """True if the Postfix programs this harness needs are installed."""
    return (
        all(
            os.access(p, os.X_OK)
            for p in (POSTFIX, POSTCONF, POSTMAP, POSTCAT, POSTQUEUE, POSTSUPER, SENDMAIL)
        )
        and (META_SOURCE / "postfix-files").is_file()
    )


def base_main_cf(root: Path, myhostname: str = DEFAULT_MYHOSTNAME) -> dict[str, str]:
    """The main.cf every instance starts from, for an instance rooted at ``root``."""
    domain = myhostname.split(".", 1)[1] if "." in myhostname else myhostname
    return {
        "compatibility_level": "3.6",
        "config_directory": str(root / "etc"),
        "meta_directory": str(root / "etc"),
        "queue_directory": str(root / "queue"),
        "data_directory": str(root / "data"),
        "mail_owner": "postfix",
        "setgid_group": "postdrop",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "myhostname": myhostname,
        "mydomain": domain,
        "myorigin": "$myhostname",
        "mydestination": "$myhostname, localhost.$mydomain, localhost",
        "mynetworks": "127.0.0.0/8",
        "alias_maps": "hash:$config_directory/aliases",
        "alias_database": "hash:$config_directory/aliases",
        "maillog_file": str(root / "log" / "maillog"),
        "maillog_file_prefixes": str(root),
        "smtpd_authorized_xclient_hosts": "127.0.0.1",
        "smtpd_sasl_auth_enable": "yes",
        # Never touch the network: no DNS, short timeouts.
        "smtp_dns_support_level": "disabled",
        "smtp_host_lookup": "native",
        "lmtp_host_lookup": "native",
        "smtp_connect_timeout": "2s",
        "lmtp_connect_timeout": "2s",
        "smtpd_peername_lookup": "no",
        # Let one session carry many rejected RCPTs quickly.
        "smtpd_error_sleep_time": "0",
        "smtpd_soft_error_limit": "10000",
        "smtpd_hard_error_limit": "10000",
        "smtpd_junk_command_limit": "10000",
        "smtpd_client_connection_rate_limit": "0",
        # Keep reports and the queue small and quick.
        "biff": "no",
        "delay_warning_time": "0h",
        "queue_run_delay": "300s",
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _xtext(value: str) -> str:
    """RFC 3461 xtext encoding, as XCLIENT expects for attribute values."""
    out = []
    for ch in value:
        o = ord(ch)
        if ch in "+=" or o < 33 or o > 126:
            out.append(f"+{o:02X}")
        else:
            out.append(ch)
    return "".join(out)


def _unfold(value: str) -> str:
    """Undo Postfix's report line folding (a space became newline+indent)."""
    return re.sub(r"\r?\n[ \t]+", " ", value).strip()


def _strip_addr_type(value: str | None) -> str | None:
    """``"rfc822; a@b"`` -> ``"a@b"``."""
    if value is None:
        return None
    value = _unfold(value)
    if ";" in value:
        value = value.split(";", 1)[1]
    return value.strip()


def parse_reply(lines: Sequence[str]) -> Reply:
    """Turn the raw lines of one SMTP reply into a ``Reply``."""
    if not lines:
        raise PostfixError("empty SMTP reply")
    code = int(lines[0][:3])
    enhanced = ""
    texts: list[str] = []
    for i, line in enumerate(lines):
        text = line[4:]
        m = _ENHANCED.match(text)
        if m and (i == 0 or m.group(1) == enhanced):
            if i == 0:
                enhanced = m.group(1)
            text = text[m.end() :]
        texts.append(text)
    return Reply(code, enhanced, "\n".join(texts))


def parse_report(raw: str) -> list[dict[str, Any]]:
    """Parse a Postfix delivery status report into per-recipient dicts.

    Only the ``message/delivery-status`` part is used; the fields are
    described in the module docstring (without the resolver fields, which
    ``PostfixInstance.verify`` adds).
    """
    msg = email.message_from_string(raw)
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list) or len(blocks) < 1:
            raise PostfixError("delivery-status part without per-message fields")
        result: list[dict[str, Any]] = []
        for block in blocks[1:]:
            assert isinstance(block, email.message.Message)
            diag = block.get("Diagnostic-Code")
            text = _unfold(diag) if diag is not None else ""
            if text.lower().startswith("x-postfix;"):
                text = text.split(";", 1)[1].strip()
            m = _DELIVERY_VIA.match(text)
            result.append(
                {
                    "recipient": _strip_addr_type(block.get("Final-Recipient")),
                    "original_recipient": _strip_addr_type(block.get("Original-Recipient")),
                    "status": (block.get("Action") or "").strip(),
                    "dsn": (block.get("Status") or "").strip(),
                    "text": text,
                    "agent": m.group(1) if m else None,
                    "source": "report",
                }
            )
        return result
    raise PostfixError("no message/delivery-status part in report:\n" + raw)


class _SMTP:
    """Minimal line-oriented SMTP client that keeps every reply verbatim."""

    def __init__(self, port: int, timeout: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.transcript: list[str] = []

    def read(self) -> list[str]:
        lines: list[str] = []
        while True:
            raw = self.file.readline()
            if not raw:
                raise PostfixError(
                    "smtpd closed the connection; transcript:\n" + "\n".join(self.transcript)
                )
            line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
            self.transcript.append("S: " + line)
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def command(self, cmd: str) -> list[str]:
        self.transcript.append("C: " + cmd)
        self.sock.sendall(cmd.encode("utf-8", "surrogateescape") + b"\r\n")
        return self.read()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            self.sock.close()


class PostfixInstance:
    """A private Postfix instance; use as a context manager (see module doc)."""

    def __init__(
        self,
        base_dir: Path | str | None = None,
        main_cf: Mapping[str, str | None] | None = None,
        files: Mapping[str, str] | None = None,
        postmap: Iterable[str] = (),
        master_cf: str = "",
        myhostname: str = DEFAULT_MYHOSTNAME,
        timeout: float = DEFAULT_TIMEOUT,
        sqlite: Mapping[str, str] | None = None,
    ) -> None:
        """Describe an instance; nothing happens until ``start``/``__enter__``.

        ``main_cf`` overrides the base parameters (``None`` removes one).
        ``files`` are written into the config directory by name; ``aliases``
        is always created (``postmaster: root`` unless given) and compiled
        with postalias.  ``postmap`` names files to compile with postmap
        (``"virtual"`` or ``"cdb:virtual"``; the default type is hash).
        ``master_cf`` is appended verbatim to the generated master.cf.
        ``sqlite`` maps database file names to SQL scripts; each database is
        created in the config directory (see ``write_files``).  In ``files``,
        ``${config_directory}`` stands for the config directory (Postfix
        expands parameters in main.cf only, and a ``dbpath`` must be
        absolute: daemons run in the queue directory).
        """
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.main_cf_overrides = dict(main_cf or {})
        self.files = dict(files or {})
        self.postmap_files = list(postmap)
        self.master_cf_extra = master_cf
        self.sqlite = dict(sqlite or {})
        self.myhostname = myhostname
        self.timeout = timeout
        self.root: Path | None = None
        self.port: int | None = None
        self._running = False
        self.last_report: str | None = None
        self.last_transcript: list[str] = []
        self.last_data_reply: Reply | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ paths
    def _r(self) -> Path:
        if self.root is None:
            raise PostfixError("instance not built")
        return self.root

    @property
    def config_dir(self) -> Path:
        """The instance's config_directory."""
        return self._r() / "etc"

    @property
    def queue_dir(self) -> Path:
        """The instance's queue_directory."""
        return self._r() / "queue"

    @property
    def log_file(self) -> Path:
        """The instance's maillog_file (written by postlogd)."""
        return self._r() / "log" / "maillog"

    def log(self) -> str:
        """The instance's mail log so far."""
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, timeout: float | None = None) -> re.Match[str]:
        """Poll the mail log for a regex; postlogd writes asynchronously."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m:
                return m
            if time.monotonic() >= deadline:
                raise PostfixError(f"log never matched {pattern!r}")
            time.sleep(POLL_INTERVAL)

    # -------------------------------------------------------------- running
    def _run(
        self, argv: Sequence[str], *, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise PostfixError(
                f"{' '.join(argv)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}\nlog:\n{self.log()[-4000:]}"
            )
        return proc

    def main_cf(self) -> dict[str, str]:
        """The main.cf parameters this instance is (or will be) given."""
        params = base_main_cf(self._r(), self.myhostname)
        for key, value in self.main_cf_overrides.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return params

    def _build(self) -> None:
        tmp_base = os.environ.get("VMAIL_ORACLE_TMP", "/tmp")
        self.root = Path(tempfile.mkdtemp(prefix="vpf-", dir=tmp_base))
        self.root.chmod(0o755)
        etc = self.config_dir
        for sub in ("etc", "queue", "data", "log"):
            (self.root / sub).mkdir(mode=0o755)
        shutil.chown(self.root / "data", user="postfix")
        for name in ("postfix-files", "dynamicmaps.cf"):
            shutil.copy2(META_SOURCE / name, etc / name)
        for name in ("postfix-files.d", "dynamicmaps.cf.d"):
            if (META_SOURCE / name).is_dir():
                shutil.copytree(META_SOURCE / name, etc / name)
        (etc / "oracle_hold_checks").write_text(f"/^/ HOLD {HOLD_TEXT}\n")
        files = dict(self.files)
        files.setdefault("aliases", "postmaster: root\n")
        for name in [*files, *self.sqlite]:
            if "/" in name or name in ("main.cf", "master.cf"):
                raise PostfixError(f"bad file name {name!r}")
        write_files(etc, files, self.sqlite)
        self._write_main_cf()
        for spec in self.postmap_files:
            dbtype, _, name = spec.rpartition(":")
            target = f"{dbtype or 'hash'}:{etc / name}"
            self._run([POSTMAP, "-c", str(etc), target])
        self._run([POSTALIAS, "-c", str(etc), f"hash:{etc / 'aliases'}"])

    def _write_main_cf(self) -> None:
        lines = ["# generated by tests/oracle/postfix.py"]
        for key, value in self.main_cf().items():
            if "\n" in value:
                raise PostfixError(f"newline in main.cf value for {key}")
            lines.append(f"{key} = {value}")
        (self.config_dir / "main.cf").write_text("\n".join(lines) + "\n")

    def _write_master_cf(self) -> None:
        assert self.port is not None
        text = _MASTER_CF.format(smtpd_endpoint=f"127.0.0.1:{self.port}")
        if self.master_cf_extra:
            text += self.master_cf_extra.rstrip("\n") + "\n"
        (self.config_dir / "master.cf").write_text(text)

    def _master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _wait_for_smtpd(self, deadline: float) -> bool:
        """Poll until smtpd greets on our port; False if master died first."""
        assert self.port is not None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(5)
                    banner = s.recv(512).decode("ascii", "replace")
                    s.sendall(b"QUIT\r\n")
                    if banner.startswith("220 ") and self.myhostname in banner:
                        return True
            except OSError:
                pass
            if "fatal:" in self.log() and self._master_pid() is None:
                return False
            time.sleep(POLL_INTERVAL)
        return False

    def start(self) -> PostfixInstance:
        """Build the configuration, start the master and wait for smtpd."""
        if not postfix_available():
            raise PostfixError("Postfix is not installed")
        self._build()
        etc = str(self.config_dir)
        for attempt in range(5):
            self.port = _free_port()
            self._write_master_cf()
            if attempt == 0:
                self._run([POSTFIX, "-c", etc, "check"])
            self._run([POSTFIX, "-c", etc, "start"], check=False)
            self._running = True
            if self._wait_for_smtpd(time.monotonic() + self.timeout):
                return self
            log = self.log()
            self.stop()
            if "Address already in use" not in log:
                raise PostfixError(f"Postfix did not start; log:\n{log[-4000:]}")
        raise PostfixError("could not find a free port for smtpd")

    def stop(self) -> None:
        """Stop the master (``postfix stop``), wait for it to exit."""
        if not self._running or self.root is None:
            return
        self._running = False
        pid = self._master_pid()
        self._run([POSTFIX, "-c", str(self.config_dir), "stop"], check=False)
        deadline = time.monotonic() + self.timeout
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(POLL_INTERVAL)
        if pid is not None:
            # Our own master did not go away: abort it, then kill it.
            self._run([POSTFIX, "-c", str(self.config_dir), "abort"], check=False)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        """Keep the log next to the test's files and remove the instance dir."""
        if self.root is None:
            return
        if self.base_dir is not None and self.log_file.exists():
            with contextlib.suppress(OSError):
                self.base_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.log_file, self.base_dir / "maillog")
        if not os.environ.get("VMAIL_ORACLE_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostfixInstance:
        try:
            return self.start()
        except BaseException:
            self.stop()
            self.cleanup()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()

    # -------------------------------------------------------------- queries
    def postconf(self, *names: str) -> dict[str, str]:
        """Effective values (``postconf -c DIR -x NAME...``) of parameters."""
        out = self._run([POSTCONF, "-c", str(self.config_dir), "-x", *names]).stdout
        result: dict[str, str] = {}
        for line in out.splitlines():
            key, _, value = line.partition(" = ")
            result[key.strip()] = value
        return result

    def rcpt(
        self,
        addresses: Sequence[str],
        client_ip: str = "127.0.0.1",
        sasl_user: str | None = None,
        sender: str = "",
        helo: str = "client.example",
        client_name: str | None = None,
        data: bool = False,
    ) -> list[Reply]:
        """RCPT replies for ``addresses`` in one SMTP session (see module doc).

        ``client_name`` is the client's verified hostname; ``None`` means
        the client has none (XCLIENT ``NAME=[UNAVAILABLE]``, logged as
        ``unknown``).  The full transcript is left in ``last_transcript``.

        With ``data=True`` a small message is sent after the RCPTs and the
        end-of-DATA reply (or the DATA reply if that failed) is left in
        ``last_data_reply``; smtpd's cleanup puts accepted messages on hold
        and the harness deletes them, so nothing is delivered.  That is how
        problems cleanup(8) finds only for the whole message (virtual alias
        loops) become visible.
        """
        if self.port is None or not self._running:
            raise PostfixError("instance not running")
        smtp = _SMTP(self.port, self.timeout)
        try:
            expect(smtp.read(), 220, smtp)
            expect(smtp.command("EHLO oracle.invalid"), 250, smtp)
            attrs = [
                f"ADDR={_xtext(client_ip)}",
                f"NAME={_xtext(client_name) if client_name else '[UNAVAILABLE]'}",
                f"HELO={_xtext(helo)}",
            ]
            if sasl_user is not None:
                attrs.append(f"LOGIN={_xtext(sasl_user)}")
            expect(smtp.command("XCLIENT " + " ".join(attrs)), 220, smtp)
            expect(smtp.command(f"EHLO {helo}"), 250, smtp)
            smtp.command(f"MAIL FROM:<{sender}>")
            replies = []
            for address in addresses:
                arg = address if address.startswith("<") else f"<{address}>"
                replies.append(parse_reply(smtp.command(f"RCPT TO:{arg}")))
            self.last_data_reply = None
            if data:
                self.last_data_reply = self._send_data(smtp)
            smtp.command("RSET")
            smtp.command("QUIT")
            return replies
        finally:
            self.last_transcript = smtp.transcript
            smtp.close()

    def _send_data(self, smtp: _SMTP) -> Reply:
        reply = parse_reply(smtp.command("DATA"))
        if reply.code != 354:
            return reply
        body = "Subject: vmail oracle\r\n\r\nprobe\r\n."
        reply = parse_reply(smtp.command(body))
        m = re.search(r"queued as ([0-9A-Za-z]+)", reply.text)
        if reply.code == 250 and m:
            self._run(
                [POSTSUPER, "-c", str(self.config_dir), "-d", m.group(1), "hold"], check=False
            )
        return reply

    def resolve(self, address: str, sender: str = "") -> Resolved:
        """Ask trivial-rewrite how it resolves ``address`` (request ``resolve``)."""
        path = str(self.queue_dir / "private" / "rewrite")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout)
            s.connect(path)
            buf = _AttrReader(s)
            hello = buf.read_group()
            if hello.get("protocol") != "trivial_rewrite_protocol":
                raise PostfixError(f"unexpected rewrite service greeting {hello!r}")
            req = [("request", "resolve"), ("sender", sender), ("address", address)]
            s.sendall(b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in req) + b"\0")
            pairs = buf.read_pairs()
        values: dict[str, list[str]] = {}
        for key, value in pairs:
            values.setdefault(key, []).append(value)
        try:
            rflags = int(values["flags"][-1])
            transport = values["transport"][0]
            nexthop = values["nexthop"][0]
            recipient = values["recipient"][0]
        except (KeyError, IndexError, ValueError) as e:
            raise PostfixError(f"bad resolve reply {pairs!r}") from e
        klass = next((n for bit, n in _RESOLVE_CLASSES.items() if rflags & bit), "unknown")
        flags = [n for bit, n in _RESOLVE_FLAGS.items() if rflags & bit]
        return Resolved(transport, nexthop, recipient, klass, flags)

    def _held(self) -> list[str]:
        out = self._run([POSTQUEUE, "-c", str(self.config_dir), "-j"]).stdout
        ids = []
        for line in out.splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry.get("queue_name") == "hold":
                    ids.append(str(entry["queue_id"]))
        return ids

    def verify(self, addresses: Sequence[str], sender: str = "") -> list[dict[str, Any]]:
        """``sendmail -bv`` report for ``addresses`` (see module doc).

        Raises ``MessageNotAcceptedError`` when cleanup(8) refuses the probe as a
        whole (e.g. a virtual alias loop); the probe is then removed from
        the maildrop queue so that pickup does not retry it.
        """
        if not self._running:
            raise PostfixError("instance not running")
        with self._lock:
            offset = len(self.log())
            self._run(
                [SENDMAIL, "-C", str(self.config_dir), "-bv", "-f", sender, "--", *addresses],
                input="",
            )
            raw = self._wait_for_report(offset, sender)
        self.last_report = raw
        entries: list[dict[str, Any]]
        if raw.startswith(_LOG_REPORT_PREFIX):
            entries = json.loads(raw[len(_LOG_REPORT_PREFIX) :])
        else:
            entries = parse_report(raw)
        for entry in entries:
            if entry["recipient"]:
                res = self.resolve(entry["recipient"], sender)
                entry["transport"] = res.transport
                entry["nexthop"] = res.nexthop
                entry["address_class"] = res.address_class
                entry["resolve_flags"] = res.flags
        return entries

    @staticmethod
    def _log_entries(probe_id: str, log: str) -> str:
        """Report entries rebuilt from the delivery agents' log lines (JSON)."""
        line_re = re.compile(
            r"^.*postfix/[^\s\[]+\[\d+\]: "
            + probe_id
            + r": to=<(?P<to>[^>]*)>, (?:orig_to=<(?P<orig>[^>]*)>, )?relay=(?P<relay>[^,]*), "
            r".*?dsn=(?P<dsn>[0-9.]+), status=(?P<status>\w+) \((?P<text>.*)\)$",
            re.M,
        )
        entries = [
            {
                "recipient": m.group("to"),
                "original_recipient": m.group("orig") or m.group("to"),
                "status": m.group("status"),
                "dsn": m.group("dsn"),
                "text": m.group("text"),
                "agent": None,
                "source": "log",
            }
            for m in line_re.finditer(log)
        ]
        return json.dumps(entries)

    def _clear_maildrop(self) -> None:
        """Remove refused probes: pickup would retry them forever.

        Only ``verify`` puts files into this private instance's maildrop,
        under ``_lock``, so everything there is a probe of ours.  The file
        name is postdrop's, not the queue ID that pickup logged.
        """
        for path in (self.queue_dir / "maildrop").iterdir():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _wait_for_report(self, offset: int, sender: str) -> str:
        """Find the probe's queue ID in the log, then its report on hold.

        sendmail -bv ignores the message on standard input (it makes up its
        own headers), so the probe is recognised by the queue ID that
        pickup(8) logs for it; the report names that ID in its
        ``X-Postfix-Queue-ID`` field.
        """
        deadline = time.monotonic() + self.timeout
        etc = str(self.config_dir)
        pickup = re.compile(
            r"postfix/pickup\[\d+\]: ([0-9A-Za-z]+): uid=\d+ from=<" + re.escape(sender) + ">"
        )
        probe_id: str | None = None
        seen: set[str] = set()
        while time.monotonic() < deadline:
            new_log = self.log()[offset:]
            if probe_id is None:
                m = pickup.search(new_log)
                if m:
                    probe_id = m.group(1)
            if probe_id is not None:
                refused = re.search(
                    r"postfix/cleanup\[\d+\]: warning: "
                    + probe_id
                    + r": (.*) -- message not accepted, try again later",
                    new_log,
                )
                if refused:
                    self._clear_maildrop()
                    raise MessageNotAcceptedError(refused.group(1))
                if re.search(probe_id + r": not sending trace/success notification", new_log):
                    return _LOG_REPORT_PREFIX + self._log_entries(probe_id, new_log)
                for qid in self._held():
                    if qid in seen:
                        continue
                    proc = self._run([POSTCAT, "-c", etc, "-bh", "-q", qid], check=False)
                    if proc.returncode != 0:
                        continue  # still being written; look again next round
                    seen.add(qid)
                    if re.search(r"^X-Postfix-Queue-ID: " + probe_id + r"$", proc.stdout, re.M):
                        self._run([POSTSUPER, "-c", etc, "-d", qid, "hold"], check=False)
                        return proc.stdout
            time.sleep(POLL_INTERVAL)
        raise PostfixError(
            f"no delivery status report within {self.timeout}s (probe {probe_id}); log:\n"
            + self.log()[offset:][-4000:]
        )


CONFIG_DIR_PLACEHOLDER = "${config_directory}"


def write_files(directory: Path, files: Mapping[str, str], sqlite: Mapping[str, str]) -> None:
    """Write scenario files and SQLite databases into ``directory``.

    ``${config_directory}`` in a file's text becomes ``directory``; each
    ``sqlite`` entry is a database created by running its SQL script.  Used
    for the Postfix instance and, with the same data, for vmail's side of
    the differential tests.
    """
    for name, text in files.items():
        (directory / name).write_text(text.replace(CONFIG_DIR_PLACEHOLDER, str(directory)))
    for name, script in sqlite.items():
        path = directory / name
        path.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.executescript(script)
            db.commit()
        path.chmod(0o644)


class _AttrReader:
    """Reader for Postfix's null-terminated attribute protocol (attr_print0)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _field(self) -> str:
        while b"\0" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise PostfixError("rewrite service closed the connection")
            self.buf += chunk
        field, _, self.buf = self.buf.partition(b"\0")
        return field.decode("utf-8", "surrogateescape")

    def read_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        while True:
            key = self._field()
            if key == "":
                return pairs
            pairs.append((key, self._field()))

    def read_group(self) -> dict[str, str]:
        return dict(self.read_pairs())


def expect(lines: list[str], code: int, smtp: _SMTP) -> None:
    """Fail loudly if a set-up command did not get the expected reply code."""
    if not lines or not lines[0].startswith(str(code)):
        raise PostfixError(
            f"expected {code}, got {lines!r}; transcript:\n" + "\n".join(smtp.transcript)
        )


@contextlib.contextmanager
def postfix_instance(
    base_dir: Path | str | None = None, **kwargs: Any
) -> Iterator[PostfixInstance]:
    """Functional spelling of ``with PostfixInstance(...) as pf``."""
    with PostfixInstance(base_dir, **kwargs) as pf:
        yield pf
