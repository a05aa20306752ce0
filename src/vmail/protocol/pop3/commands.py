"""POP3 command lines: verb and argument, and Dovecot's message-number and size parsing."""

from __future__ import annotations

from dataclasses import dataclass

from vmail.protocol.pop3.replies import err

MAX_NUMBER = (1 << 32) - 1


@dataclass(frozen=True)
class Command:
    """One client line: the upper-cased verb and the rest with leading spaces removed."""

    verb: str
    args: str


def parse(line: bytes) -> Command:
    """Split a client line (CRLF or LF already stripped or not); never raises.

    Bytes that are not ASCII are kept as U+FFFD-free surrogates via latin-1, so a verb with
    junk never matches a command and arguments round-trip for the SASL code.
    """
    text = line.rstrip(b"\r\n").decode("latin-1")
    verb, _, args = text.partition(" ")
    return Command(verb.upper() if verb.isascii() else verb, args.lstrip(" "))


def _number(args: str, then_space: bool, label: str) -> tuple[int, str] | bytes:
    """Dovecot's ``get_msgnum``/``get_size``: digits, then a space or the end."""
    end = 0
    while end < len(args) and "0" <= args[end] <= "9":
        end += 1
    if end == 0:
        return err(f"Invalid {label.lower()}: {args}")
    digits, rest = args[:end], args[end:]
    if end > 10 or int(digits) > MAX_NUMBER:
        return err(f"{label} too large: {rest}")
    if rest[:1] != (" " if then_space else ""):
        return err(f"Noise after {label.lower()}: {rest}")
    return int(digits), rest.lstrip(" ")


def message_number(args: str, count: int, *, then_space: bool = False) -> tuple[int, str] | bytes:
    """``(index, rest)`` for a 1-based message number in ``args`` (index is 0-based), or the
    ``-ERR`` reply Dovecot gives: invalid, too large, noise after it, no such message."""
    parsed = _number(args, then_space, "Message number")
    if isinstance(parsed, bytes):
        return parsed
    number, rest = parsed
    if number == 0 or number > count:
        return err(f"There's no message {number}.")
    return number - 1, rest


def size(args: str) -> int | bytes:
    """The line count of ``TOP n lines``, or the ``-ERR`` reply."""
    parsed = _number(args, False, "Size")
    return parsed if isinstance(parsed, bytes) else parsed[0]
