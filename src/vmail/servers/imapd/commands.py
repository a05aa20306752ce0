"""IMAP command dispatch: state checks, the greeting, CAPABILITY, and what every command shares.

:func:`execute` parses one framed command, checks it is allowed in the session's state
(RFC 3501 section 3: ``BAD`` when it is not), runs its handler, reports pending
mailbox changes (:func:`report_changes`) and sends the tagged completion. Handlers live
by topic: :mod:`.session_commands` (login, TLS, ID, ENABLE…), :mod:`.folder_commands`
(SELECT, LIST, STATUS, APPEND…) and :mod:`.message_commands` (FETCH, STORE, SEARCH…).
A handler returns a :class:`Done` — the tagged status, optional response code and text —
and may raise :class:`No` or :class:`Bad` to end early. Blocking store work runs in
worker threads; the event loop only frames, dispatches and writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmail.mailstore.access_errors import (
    AlreadyExistsError,
    FolderOperationError,
    MessageGoneError,
    NoSuchFolderError,
)
from vmail.mailstore.errors import InvalidNameError, LockTimeoutError, MailstoreError
from vmail.protocol.imap import types as t
from vmail.protocol.imap.framing import CommandLine
from vmail.protocol.imap.lexer import EIGHT_BIT, MISSING_PAREN
from vmail.protocol.imap.parser import parse_command
from vmail.servers.imapd.connection import State
from vmail.servers.imapd.dovecot_texts import (
    command_name,
    invalid_name,
    refused_operation,
    syntax_error,
)

if TYPE_CHECKING:
    from vmail.servers.imapd.connection import ImapConnection

log = logging.getLogger("vmail.imapd")


@dataclass(frozen=True)
class Done:
    """The tagged completion of a command."""

    status: str = "OK"
    text: str = "Completed"
    code: str | None = None


class No(Exception):  # noqa: N818 - named after the IMAP response it becomes
    """End the command with ``NO [code] text``."""

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


class Bad(Exception):  # noqa: N818
    """End the command with ``BAD text``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


INTERNAL_ERROR = "Internal error occurred. Refer to server log for more information."

Handler = Callable[["ImapConnection", Any], Awaitable[Done]]

ANY = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})
AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})

_HANDLERS: dict[type[t.Command], tuple[frozenset[str], Handler]] = {}


def handler(command: type[t.Command], states: frozenset[str]) -> Callable[[Handler], Handler]:
    """Register the function below as the handler of ``command`` in ``states``."""

    def register(func: Handler) -> Handler:
        _HANDLERS[command] = (states, func)
        return func

    return register


LOGIN_SYNTAX_ERROR = "Error in IMAP command received by server."
"""Dovecot's imap-login answer to any command it cannot parse or run before login."""

# Commands during which EXPUNGE responses may not be sent (RFC 3501 7.4.1).
_NO_EXPUNGE = (t.Fetch, t.Store, t.Search, t.Sort, t.Thread)


async def execute(conn: ImapConnection, line: CommandLine) -> None:
    """Parse and run one command, then send the updates and the tagged response."""
    _load_handlers()
    command = parse_command(line, utf8="UTF8=ACCEPT" in conn.enabled)
    if conn.state == State.NOT_AUTHENTICATED and (
        isinstance(command, t.ParseError) or type(command) not in _HANDLERS
    ):  # Dovecot's imap-login gives no details
        await conn.bad(command.tag, LOGIN_SYNTAX_ERROR)
        return
    if isinstance(command, t.ParseError):
        if conn.selected is not None and _closes_first(line, command.text):
            close_selected_and_say(conn)
        if command.status == "NO":  # an unknown charset: Dovecot lists none
            conn.stream.write(f"{command.tag} NO [BADCHARSET] Unknown charset\r\n".encode())
            return
        await conn.bad(command.tag, syntax_error(command_name(line), command.text))
        return
    entry = _HANDLERS.get(type(command))
    if entry is None:
        await conn.bad(command.tag, syntax_error(command_name(line), "unknown command"))
        return
    states, func = entry
    if conn.state not in states:
        if states == NOT_AUTHENTICATED and conn.state != State.NOT_AUTHENTICATED:
            # Dovecot's post-login command set has no LOGIN, AUTHENTICATE or STARTTLS.
            text = syntax_error(command_name(line), "unknown command")
        else:
            text = _state_error(conn.state, states)
        await conn.bad(command.tag, text)
        return
    started = time.monotonic()
    try:
        done = await func(conn, command)
    except No as e:
        done = Done("NO", e.text, e.code)
    except Bad as e:
        await report_changes(conn, allow_expunge=not isinstance(command, _NO_EXPUNGE))
        await conn.bad(command.tag, _named(e.text, command))
        return
    except MailstoreError as e:
        done = _store_failure(e)
    conn.bad_commands = 0
    if conn.state == State.LOGOUT:
        _tagged(conn, command.tag, done, started)
        return
    uid = bool(getattr(command, "uid", False))
    await report_changes(
        conn, allow_expunge=not isinstance(command, _NO_EXPUNGE) or uid, uid_command=uid
    )
    _tagged(conn, command.tag, done, started)


async def refuse_literal(conn: ImapConnection, line: CommandLine, size: int) -> bool:
    """Answer now a command whose synchronising literal (``size`` bytes) Dovecot refuses
    before its ``+ OK``: an APPEND with a bad argument, to a missing mailbox or of an
    empty message. True when answered (the literal is then never read)."""
    if conn.state not in AUTHENTICATED or command_name(line) != "APPEND":
        return False
    from vmail.servers.imapd.folder_commands import append_refusal

    command = parse_command(line, utf8="UTF8=ACCEPT" in conn.enabled)
    if isinstance(command, t.ParseError):
        await conn.bad(command.tag, syntax_error("APPEND", command.text))
        return True
    if not isinstance(command, t.Append):
        return False
    done = await append_refusal(conn, command, size)
    if done is None:
        return False
    _tagged(conn, command.tag, done, time.monotonic())
    return True


def _tagged(conn: ImapConnection, tag: str, done: Done, started: float) -> None:
    if not done.status:
        return  # the handler answered itself (STARTTLS, COMPRESS)
    code = f"[{done.code}] " if done.code else ""
    text = done.text
    if done.status == "OK" and text.endswith("completed"):
        text += f" ({time.monotonic() - started:.3f} + 0.000 secs)."
    conn.stream.write(f"{tag} {done.status} {code}{text}\r\n".encode())


def _named(text: str, command: t.Command) -> str:
    """Dovecot names the command in its errors: ``Error in IMAP command UID FETCH: ...``."""
    prefix = "Error in IMAP command: "
    if not text.startswith(prefix):
        return text
    name = ("UID " if getattr(command, "uid", False) else "") + type(command).__name__.upper()
    return f"Error in IMAP command {name}: {text[len(prefix) :]}"


def _state_error(state: str, allowed: frozenset[str]) -> str:
    if state != State.NOT_AUTHENTICATED and allowed == SELECTED:
        return "No mailbox selected."
    return LOGIN_SYNTAX_ERROR


def _store_failure(error: MailstoreError) -> Done:
    if isinstance(error, NoSuchFolderError):
        return Done("NO", _sentence(error), "NONEXISTENT")
    if isinstance(error, AlreadyExistsError):
        return Done("NO", "Mailbox already exists", "ALREADYEXISTS")  # Dovecot's text
    if isinstance(error, InvalidNameError):
        return Done("NO", invalid_name(str(error)), "CANNOT")
    if isinstance(error, FolderOperationError):
        text, code = refused_operation(str(error))
        return Done("NO", text, code)
    if isinstance(error, MessageGoneError):
        return Done("NO", "Some of the requested messages no longer exist.", "EXPUNGEISSUED")
    if isinstance(error, LockTimeoutError):
        return Done("NO", "Timeout while waiting for a lock, try again.", "INUSE")
    log.warning("mail store error: %s", error)
    return Done("NO", INTERNAL_ERROR, "SERVERBUG")


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:]


# -- capabilities ----------------------------------------------------------------------

_BASE = ("IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE", "LITERAL+")
_AFTER_LOGIN = (
    "SORT",
    "SORT=DISPLAY",
    "THREAD=REFERENCES",
    "THREAD=REFS",
    "THREAD=ORDEREDSUBJECT",
    "MULTIAPPEND",
    "UNSELECT",
    "CHILDREN",
    "NAMESPACE",
    "UIDPLUS",
    "LIST-EXTENDED",
    "I18NLEVEL=1",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "ESORT",
    "SEARCHRES",
    "WITHIN",
    "LIST-STATUS",
    "BINARY",
    "MOVE",
    "STATUS=SIZE",
    "SPECIAL-USE",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
)


def capabilities(conn: ImapConnection) -> list[str]:
    """What this session may use now (changes with TLS, login and COMPRESS)."""
    settings = conn.settings
    caps = list(_BASE)
    if conn.state == State.NOT_AUTHENTICATED:
        if settings.tls_context is not None and not conn.stream.tls:
            caps.append("STARTTLS")
        if settings.tls_auth_only and not conn.stream.secure:
            caps.append("LOGINDISABLED")
        else:
            caps += ["AUTH=PLAIN", "AUTH=LOGIN"]
    else:
        caps += _AFTER_LOGIN
        caps.append(f"APPENDLIMIT={settings.append_limit}")
        if not conn.stream.compressed:
            caps.append("COMPRESS=DEFLATE")
    hidden = settings.hidden_capabilities
    return [c for c in caps if c.upper() not in hidden]


def greeting(conn: ImapConnection) -> bytes:
    caps = " ".join(capabilities(conn))
    return f"* OK [CAPABILITY {caps}] {conn.settings.banner}\r\n".encode()


# -- the selected mailbox's updates ------------------------------------------------------


async def report_changes(
    conn: ImapConnection, *, allow_expunge: bool = True, uid_command: bool = False
) -> None:
    """Sync the selected folder and send what changed (EXISTS, EXPUNGE, FETCH FLAGS…)."""
    selected = conn.selected
    if selected is None:
        return
    await selected.refresh(conn, allow_expunge=allow_expunge, uid_command=uid_command)


def _closes_first(line: CommandLine, text: str) -> bool:
    """Dovecot's SELECT/EXAMINE closes the selected mailbox before it looks at the
    arguments: a BAD one still closes it, unless the line did not even tokenise."""
    name = command_name(line)
    if name not in ("SELECT", "EXAMINE"):
        return False
    return syntax_error(name, text).partition(": ")[2] not in _LEXICAL


_LEXICAL = frozenset({MISSING_PAREN, EIGHT_BIT, "Missing '\"'", "Unexpected ')'"})


def close_selected_and_say(conn: ImapConnection) -> None:
    """Close the selected mailbox for a new SELECT, with ``* OK [CLOSED]`` (RFC 7162
    3.2.11: required of a QRESYNC server, and Dovecot always sends it)."""
    close_selected(conn)
    conn.stream.write(b"* OK [CLOSED] Previous mailbox closed.\r\n")


def close_selected(conn: ImapConnection) -> None:
    """Forget the selected folder (UNSELECT, CLOSE, SELECT of another, logout)."""
    selected = conn.selected
    conn.selected = None
    if selected is not None:
        selected.close()
    if conn.state == State.SELECTED:
        conn.state = State.AUTHENTICATED


async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
    """Run blocking store work off the event loop."""
    return await asyncio.to_thread(func, *args)


_loaded = False


def _load_handlers() -> None:
    global _loaded
    if not _loaded:
        from vmail.servers.imapd import (  # noqa: F401 - registration side effect
            folder_commands,
            message_commands,
            session_commands,
        )

        _loaded = True


__all__ = [
    "INTERNAL_ERROR",
    "Bad",
    "Done",
    "No",
    "capabilities",
    "close_selected",
    "execute",
    "greeting",
    "handler",
    "in_thread",
    "report_changes",
]
