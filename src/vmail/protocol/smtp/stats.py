"""Per-session command counts, for smtpd's ``disconnect from`` log line.

Postfix ends each session with ``disconnect from NAME[ADDR] ehlo=1 mail=1 rcpt=2/3
data=1 quit=1 commands=6/7``: per command, the successes, and after a slash the
attempts when some failed; commands in the order of Postfix's command table; unknown
commands as ``unknown``; then the totals, ``commands=0/0`` when there were none. A
command counts as a success when its final reply is not 4xx/5xx (``354`` and ``334``
are not final: DATA and AUTH count by the reply that ends them).
"""

from __future__ import annotations

ORDER = (
    "helo",
    "ehlo",
    "lhlo",
    "xclient",
    "xforward",
    "starttls",
    "auth",
    "mail",
    "rcpt",
    "data",
    "bdat",
    "rset",
    "noop",
    "vrfy",
    "etrn",
    "quit",
    "unknown",
)
_RANK = {name: rank for rank, name in enumerate(ORDER)}


class CommandStats:
    """Attempts and successes per command name (lower case, as logged)."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}  # name -> [successes, attempts]

    def attempt(self, name: str) -> None:
        counts = self._counts.get(name)
        if counts is None:
            self._counts[name] = [0, 1]
        else:
            counts[1] += 1

    def succeeded(self, name: str) -> None:
        self._counts[name][0] += 1

    def __str__(self) -> str:
        words = [
            _count(name, *self._counts[name])
            for name in sorted(self._counts, key=lambda n: _RANK.get(n, len(ORDER)))
        ]
        ok = sum(c[0] for c in self._counts.values())
        total = sum(c[1] for c in self._counts.values())
        words.append(f"commands={ok}/{total}" if ok != total or not total else f"commands={ok}")
        return " ".join(words)


def _count(name: str, ok: int, total: int) -> str:
    return f"{name}={ok}" if ok == total else f"{name}={ok}/{total}"


__all__ = ["ORDER", "CommandStats"]
