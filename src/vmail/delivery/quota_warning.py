"""Quota warnings: run a command when a delivery takes usage across a threshold.

``mail_quota_warning`` holds ``PERCENT=COMMAND`` entries, like Dovecot's
``quota_warning = storage=PERCENT%% COMMAND``. The list is split as every vmail list is
(commas and whitespace), so a command with arguments is written in braces —
``{ 95=/usr/local/bin/quota-warning 95 %u }`` — or simply follows its ``PERCENT=`` item:
items up to the next ``PERCENT=`` are its arguments. ``%u`` is the recipient address,
``%n`` its local part, ``%d`` its domain and ``%%`` a percent sign.

As in Dovecot, a warning fires when the delivery takes the byte usage from below
``PERCENT`` of the limit to at or above it, and only the first such entry runs (list
the highest threshold first). The command runs without a shell, as the mail owner when
vmail runs as root, with ``/dev/null`` as input, a minimal environment and a time limit;
it runs in the background (Dovecot hands it to its script service without waiting), and
its outcome is logged.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from vmail.core.errors import ConfigError
from vmail.delivery.paths import Owner

log = logging.getLogger("vmail.delivery.quota_warning")

TIMEOUT = 60.0  # seconds a warning command may run
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"}
_ENTRY = re.compile(r"(\d+(?:\.\d+)?)%?=(.*)", re.DOTALL)
_VARIABLE = re.compile(r"%(.?)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class QuotaWarning:
    """One ``PERCENT=COMMAND`` entry: the threshold and the command's argv template."""

    percent: float
    argv: tuple[str, ...]

    def threshold(self, limit: int) -> int:
        """The usage in bytes at which this warning fires for ``limit``."""
        return int(limit * self.percent / 100)


def parse_warnings(items: Sequence[str]) -> tuple[QuotaWarning, ...]:
    """The entries of ``mail_quota_warning``; ConfigError for a malformed one."""
    entries: list[tuple[float, list[str]]] = []
    for item in items:
        match = _ENTRY.fullmatch(item.strip())
        if match is None:
            if not entries:
                raise ConfigError(f"mail_quota_warning: {item!r} is not PERCENT=COMMAND")
            entries[-1][1].append(item)
            continue
        try:
            words = shlex.split(match.group(2))
        except ValueError as e:
            raise ConfigError(f"mail_quota_warning: {item!r}: {e}") from None
        entries.append((float(match.group(1)), words))
    warnings = []
    for percent, argv in entries:
        if not argv:
            raise ConfigError(f"mail_quota_warning: {percent:g}= has no command")
        warnings.append(QuotaWarning(percent, tuple(argv)))
    return tuple(warnings)


def crossed(
    warnings: Sequence[QuotaWarning], limit: int | None, before: int, after: int
) -> QuotaWarning | None:
    """The first warning whose threshold lies in ``(before, after]``, if any."""
    if not limit:
        return None
    for warning in warnings:
        threshold = warning.threshold(limit)
        if before < threshold <= after:
            return warning
    return None


def expand(argv: Sequence[str], recipient: str) -> list[str]:
    """``argv`` with ``%u``, ``%n``, ``%d`` and ``%%`` replaced; other ``%x`` kept."""
    local, _, domain = recipient.rpartition("@") if "@" in recipient else (recipient, "", "")
    values = {"u": recipient, "n": local, "d": domain, "%": "%"}

    def one(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return [_VARIABLE.sub(one, word) for word in argv]


def run_warning(
    warning: QuotaWarning,
    recipient: str,
    owner: Owner | None,
    *,
    queue_id: str = "",
    timeout: float = TIMEOUT,
) -> threading.Thread:
    """Start ``warning``'s command for ``recipient`` in the background; returns its thread."""
    argv = expand(warning.argv, recipient)
    prefix = f"{queue_id}: " if queue_id else ""
    what = f"{prefix}to=<{recipient}>, quota warning {warning.percent:g}%: {shlex.join(argv)}"
    thread = threading.Thread(
        target=_run, args=(argv, owner, timeout, what), name="quota-warning", daemon=True
    )
    thread.start()
    return thread


def _run(argv: list[str], owner: Owner | None, timeout: float, what: str) -> None:
    try:
        done = subprocess.run(  # argv from the administrator, no shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=ENVIRONMENT,
            cwd="/",
            timeout=timeout,
            check=False,
            user=owner.uid if owner else None,
            group=owner.gid if owner else None,
            extra_groups=[] if owner else None,
        )
    except subprocess.TimeoutExpired:
        log.warning("%s: killed after %gs", what, timeout)
        return
    except OSError as e:
        log.warning("%s: cannot run: %s", what, e.strerror or e)
        return
    if done.returncode == 0:
        log.info("%s: done", what)
    else:
        output = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        detail = f": {output.splitlines()[-1][:200]}" if output else ""
        log.warning("%s: exit status %d%s", what, done.returncode, detail)


__all__ = ["QuotaWarning", "crossed", "expand", "parse_warnings", "run_warning"]
