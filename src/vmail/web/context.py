"""What the web application runs on: :class:`WebContext`, built once per configuration.

``vmail serve`` builds it with :func:`build_context`; tests build it directly. Handlers
reach it as ``request.app.state.context`` (or through the dependency
:func:`vmail.web.deps.web_context`).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from vmail.admin import AdminService
from vmail.auth.service import Authenticator
from vmail.auth.throttle import DEFAULT_IP_POLICY, DEFAULT_USER_POLICY, Throttle
from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.queue.spool import Spool
from vmail.route import Router

SECRET_BYTES = 32
Clock = Callable[[], float]


@dataclass
class WebContext:
    """The services behind the web UI and the API, and the session settings.

    ``admin`` and ``authenticator`` are None when no directory database is configured
    (then nobody can log in). ``clock`` (wall-clock seconds) times sessions; tests move it.
    ``spool`` (the queue pages and API, the dashboard's queue sizes and deliveries) and
    ``router`` (the route explainer) are None when not given: those pages answer 503.
    ``wake`` asks the running server to run the queue now, deferred mail included (what
    SIGUSR1 does); None when there is no server to ask.
    """

    config: MainConfig
    admin: AdminService | None
    authenticator: Authenticator | None
    secret: bytes
    session_timeout: float = 3600.0
    throttle: Throttle = field(default_factory=Throttle)
    clock: Clock = time.time
    spool: Spool | None = None
    router: Router | None = None
    wake: Callable[[], None] | None = None


def login_throttle(config: MainConfig) -> Throttle:
    """The web login's failure counters, from ``web_login_*`` (delays as the auth service)."""
    lockout = float(config.get_time("web_login_lockout_time"))
    user = replace(
        DEFAULT_USER_POLICY,
        lockout_failures=config.get_int("web_login_user_failures"),
        lockout_time=lockout,
    )
    ip = replace(
        DEFAULT_IP_POLICY,
        lockout_failures=config.get_int("web_login_client_failures"),
        lockout_time=lockout,
    )
    return Throttle(
        user_policy=user, ip_policy=ip, exempt_ips=config.get_list("web_login_exempt_clients")
    )


def load_secret(path: Path, owner: tuple[int, int] | None = None) -> bytes:
    """The session-signing key in ``path``, created (0600, random) if the file is missing.

    ``owner`` (uid, gid): who the file is given to when root creates it. A file that is
    empty or unreadable is a :class:`ConfigError` (never silently replaced: that would
    log everybody out, and hide a mistake).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as e:
        raise ConfigError(f"web_secret_file: cannot create {path}: {e.strerror}") from None
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES) + "\n")
        if owner is not None:
            os.chown(path, *owner)
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"web_secret_file: cannot read {path}: {e.strerror}") from None
    if len(text) < 16:
        raise ConfigError(f"web_secret_file: {path} holds no key (at least 16 characters)")
    return text.encode()


__all__ = ["WebContext", "load_secret", "login_throttle"]
