"""Raw-socket IMAP transcripts and a fixed Maildir++ tree for the vmail-vs-Dovecot comparison.

:func:`write_tree` writes one account's Maildir++ tree by hand (files with flags in
``new/``, so that both servers see them ``\\Recent`` — Dovecot does not for files already
in ``cur/`` and the uidlist, vmail's fresh index does; ``dovecot-uidlist`` with fixed
UIDVALIDITYs, ``dovecot-keywords``, ``subscriptions``, fixed mtimes for INTERNALDATE), so
that both servers start from the same bytes. :func:`transcript` plays a script (chunks
sent as they are: pipelined commands, synchronising literals after a ``+`` continuation,
IDLE/DONE, :class:`Deliver` steps) and returns every
response line (literals inline) with the ``secs`` timings removed; the replies to a chunk
of several pipelined commands are sorted.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

READ_TIMEOUT = 5.0
BASE_TIME = 1795000000  # 2026-11-18, the INTERNALDATE of the first message
UIDVALIDITY = {"": 1700000001, "A": 1700000002, "A.B": 1700000003, "Sent": 1700000004}
GUID = "0123456789abcdef0123456789abcdef"
KEYWORDS = ["$Forwarded", "Urgent", "$Junk"]
# How many of KEYWORDS each folder's dovecot-keywords lists: Dovecot shows only keywords a
# message of the folder has (its index learns them from the file names), vmail all listed.
KEYWORDS_USED = {"": 2, "A": 0, "A.B": 3, "Sent": 0}
SUBSCRIPTIONS = ["INBOX", "A", "A.B", "Sent", "Gone"]
# Folders with no message and no uidlist (UIDVALIDITY chosen by the server: normalised).
EMPTY_FOLDERS = ["Trash", "Empty", "Caf&AOk-", "A.C"]

PLAIN = (
    b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: plain %d\r\n"
    b"Date: Fri, 27 Nov 2026 10:0%d:00 +0000\r\nMessage-ID: <plain%d@example.org>\r\n"
    b"\r\nhello %d world\r\n"
)
MULTIPART = (
    b"From: =?utf-8?q?Ren=C3=A9?= <rene@example.org>\r\nTo: bob@example.com, carol@example.com\r\n"
    b"Cc: Team: dave@example.net;\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\n"
    b"Date: Fri, 27 Nov 2026 11:00:00 +0100\r\nIn-Reply-To: <plain1@example.org>\r\n"
    b"References: <plain1@example.org>\r\nMessage-ID: <multi@example.org>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    b"preamble\r\n--XX\r\nContent-Type: multipart/mixed; boundary=YY\r\n\r\n"
    b"--YY\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 au lait\r\n"
    b"--YY\r\nContent-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n"
    b"From: carol@example.com\r\nSubject: inner\r\nDate: Thu, 26 Nov 2026 09:00:00 -0500\r\n"
    b"Content-Type: text/html\r\n\r\n<p>hi</p>\r\n--YY--\r\n"
    b'--XX\r\nContent-Type: application/octet-stream; name="a.bin"\r\n'
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--XX--\r\n"
)
REPLY = (
    b"From: bob@example.com\r\nTo: Alice <alice@example.org>\r\nSubject: Re: plain 1\r\n"
    b"Date: Sat, 28 Nov 2026 08:00:00 +0000\r\nMessage-ID: <reply@example.org>\r\n"
    b"In-Reply-To: <plain1@example.org>\r\nReferences: <plain1@example.org>\r\n"
    b"X-Priority: 1\r\n\r\n" + b"a longer body line\r\n" * 40
)
# (folder, body, maildir flag letters incl. keyword letters): UIDs 1.. in order.
MESSAGES: list[tuple[str, bytes, str]] = [
    ("", PLAIN % (1, 1, 1, 1), "S"),
    ("", MULTIPART, "FS"),
    ("", PLAIN % (2, 2, 2, 2), "ab"),
    ("", REPLY, "RS"),
    ("", PLAIN % (3, 3, 3, 3), ""),
    ("", PLAIN % (4, 4, 4, 4), "DST"),
    ("A", PLAIN % (5, 5, 5, 5), "S"),
    ("A", REPLY, ""),
    ("A.B", MULTIPART, "abc"),
]


def _folder_dir(root: Path, folder: str) -> Path:
    return root if folder == "" else root / f".{folder}"


def write_tree(root: Path) -> None:
    """One account's Maildir++ tree at ``root`` (created; must not exist)."""
    uids: dict[str, list[str]] = {}
    for folder in [*UIDVALIDITY, *EMPTY_FOLDERS]:
        for sub in ("cur", "new", "tmp"):
            (_folder_dir(root, folder) / sub).mkdir(parents=True, exist_ok=True)
        if folder:
            (_folder_dir(root, folder) / "maildirfolder").touch()
    for n, (folder, body, letters) in enumerate(MESSAGES):
        base = f"{BASE_TIME + n * 3600}.M{n}P1.diff"
        path = _folder_dir(root, folder) / "new" / f"{base}:2,{letters}"
        path.write_bytes(body)
        os.utime(path, (BASE_TIME + n * 3600, BASE_TIME + n * 3600))
        uids.setdefault(folder, []).append(base)
    for folder, validity in UIDVALIDITY.items():
        bases = uids.get(folder, [])
        lines = [f"3 V{validity} N{len(bases) + 1} G{GUID}\n"]
        lines += [f"{uid} :{base}\n" for uid, base in enumerate(bases, 1)]
        (_folder_dir(root, folder) / "dovecot-uidlist").write_text("".join(lines))
        (_folder_dir(root, folder) / "dovecot-keywords").write_text(
            "".join(f"{i} {name}\n" for i, name in enumerate(KEYWORDS[: KEYWORDS_USED[folder]]))
        )
    (root / "subscriptions").write_text("".join(f"{name}\n" for name in SUBSCRIPTIONS))


def install_tree(root: Path, owner: tuple[int, int] | None) -> None:
    """Replace whatever is at ``root`` with a fresh tree, owned by ``owner`` if given."""
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    write_tree(root)
    if owner:
        for path in [root.parent, root, *root.rglob("*")]:
            os.chown(path, *owner)


_TAG = re.compile(rb"^(t\d+) ", re.M)
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_TIMING = re.compile(r" \(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)\.$")


class Literal(bytes):
    """Literal data in a script: sent only if the server asked for it with ``+``."""


@dataclass(frozen=True)
class Deliver:
    """A script step: a message appears in ``new/`` of ``folder`` (as a delivery agent
    would put it), then lines are read until one matches ``until`` (an IDLE wake-up)."""

    name: str
    body: bytes
    folder: str = ""
    until: str | None = None

    def into(self, root: Path, owner: tuple[int, int] | None) -> None:
        """Write the message under the account's tree ``root``."""
        path = _folder_dir(root, self.folder) / "new" / f"{BASE_TIME + 86400}.{self.name}.diff"
        path.write_bytes(self.body)
        os.utime(path, (BASE_TIME + 86400, BASE_TIME + 86400))
        if owner:
            os.chown(path, *owner)


Step = str | bytes | Deliver


class _Reader:
    """Response lines from a socket, a ``{n}`` literal kept inline with its line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buffer += data

    def line(self) -> bytes:
        out = b""
        while True:
            while b"\r\n" not in self.buffer:
                self._fill()
            head, _, self.buffer = self.buffer.partition(b"\r\n")
            out += head + b"\r\n"
            literal = _LITERAL.search(out)
            if not literal:
                return out[:-2]
            size = int(literal.group(1))
            while len(self.buffer) < size:
                self._fill()
            out += self.buffer[:size]
            self.buffer = self.buffer[size:]


def transcript(
    port: int, script: Sequence[Step], deliver: Callable[[Deliver], None] = lambda _: None
) -> list[str]:
    """Play ``script`` (``\\n`` means CRLF in str chunks) and return the response lines.

    A :class:`Deliver` step calls ``deliver``. A :class:`Literal` chunk is skipped unless the last line read was a continuation
    request (a server may refuse a synchronising literal at once). After each chunk, lines are read until every tag sent so far has its tagged response
    or the server asks for a continuation (``+``); a silence of :data:`READ_TIMEOUT` or
    a closed connection is recorded as a line too.
    """
    out: list[str] = []
    pending: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        reader = _Reader(sock)
        reader.line()  # the greeting: server-specific text
        asked = False
        for chunk in script:
            if isinstance(chunk, Deliver):
                deliver(chunk)
                if chunk.until is not None:
                    out += _until(reader, chunk.until)
                continue
            if isinstance(chunk, Literal) and not asked:
                continue
            data = chunk.replace("\n", "\r\n").encode() if isinstance(chunk, str) else chunk
            sock.sendall(data)
            tags = _TAG.findall(data)
            pending += tags
            start = len(out)
            try:
                while pending:
                    line = reader.line()
                    out.append(_TIMING.sub(".", line.decode("utf-8", "replace")))
                    asked = line.startswith(b"+")
                    if asked:
                        break
                    tag = line.split(b" ", 1)[0]
                    if tag in pending:
                        pending.remove(tag)
            except TimeoutError:
                out.append("<silence>")
                pending.clear()
            except (EOFError, ConnectionError):
                out.append("<closed>")
                break
            if len(tags) > 1:  # Dovecot runs pipelined commands in parallel: any order
                out[start:] = sorted(out[start:])
    return out


def _until(reader: _Reader, pattern: str) -> list[str]:
    """Lines up to the first matching ``pattern`` (a silence ends the wait)."""
    out: list[str] = []
    try:
        while True:
            line = reader.line().decode("utf-8", "replace")
            out.append(line)
            if re.fullmatch(pattern, line):
                return out
    except TimeoutError:
        return [*out, "<silence>"]
