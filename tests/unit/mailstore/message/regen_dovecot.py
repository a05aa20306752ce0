"""Re-record Dovecot's answers for the corpus (run by hand as root; not a test).

Needs ``dovecot-imapd``. Each ``fixtures/*.eml`` goes alone into a scratch Maildir
and ``/usr/lib/dovecot/imap`` (run as ``nobody`` with a private config) answers
``FETCH 1 (ENVELOPE BODY BODYSTRUCTURE RFC822.SIZE)`` (saved as ``.dovecot``) and the
``BODY.PEEK[...]`` list of :data:`dovecot.SECTIONS` (saved as ``.sections``).

    .venv/bin/python -m tests.unit.mailstore.message.regen_dovecot /tmp/scratch
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .dovecot import MESSAGES, SECTIONS

ITEMS = {
    ".dovecot": b"(ENVELOPE BODY BODYSTRUCTURE RFC822.SIZE)",
    ".sections": b"(" + b" ".join(b"BODY.PEEK[%b]" % s for s in SECTIONS) + b")",
}

_AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def answer(scratch: Path, message: Path, items: bytes) -> bytes:
    """Dovecot's ``* 1 FETCH`` answer for ``message`` alone in a Maildir."""
    maildir = scratch / "mail"
    shutil.rmtree(maildir, ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    shutil.copy(message, maildir / "cur" / "1000.M1P1.host:2,")
    conf = scratch / "dovecot.conf"
    conf.write_text(
        f"base_dir = {scratch}/run\nlog_path = {scratch}/log\n"
        f"mail_location = maildir:{maildir}\nssl = no\nprotocols = imap\n"
    )
    subprocess.run(["chown", "-R", "nobody", str(scratch)], check=True)
    out = subprocess.run(
        [*_AS_NOBODY, "/usr/lib/dovecot/imap", "-c", str(conf)],
        input=b"a SELECT INBOX\r\nb FETCH 1 " + items + b"\r\nc LOGOUT\r\n",
        capture_output=True,
        env={"USER": "nobody", "HOME": str(scratch), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        check=True,
    ).stdout
    start = out.index(b"* 1 FETCH")
    return out[start : out.index(b"\r\nb OK", start) + 2]


def main(scratch: str) -> None:
    """Record every answer."""
    base = Path(scratch)
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o777)
    for message in MESSAGES:
        for suffix, items in ITEMS.items():
            message.with_suffix(suffix).write_bytes(answer(base, message, items))


if __name__ == "__main__":
    main(sys.argv[1])
