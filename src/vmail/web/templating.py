"""Jinja2 templates (autoescaped) and the context every page gets.

:func:`render` is how a page handler answers::

    return render(request, "domains.html", {"domains": rows})

Every template sees ``principal`` (a :class:`~vmail.web.sessions.Principal` or None),
``csrf_token``, ``nav`` (the menu for that principal: superadmin-only entries are left
out when the request's admin, ``request.state.actor``, is known not to be a superadmin)
and the global ``csrf_field()``,
which a form puts inside itself::

    <form method="post" action="/domains">{{ csrf_field() }} ... </form>

htmx requests carry the token without a field: ``layout.html`` sets it on ``<body>`` with
``hx-headers:inherited``, so every ``hx-post``/``hx-delete`` sends ``X-CSRF-Token``.
No inline scripts or styles (the CSP forbids them): put code in ``static/``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import DictLoader, Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from vmail.web.sessions import session_of

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# (label, path) of the admin menu; pages not built yet answer 404.
ADMIN_NAV: tuple[tuple[str, str], ...] = (
    ("Dashboard", "/"),
    ("Domains", "/domains"),
    ("Mailboxes", "/mailboxes"),
    ("Aliases", "/aliases"),
    ("Alias domains", "/alias-domains"),
    ("Admins", "/admins"),
    ("Log", "/log"),
    ("Queue", "/queue"),
    ("Route", "/route"),
    ("API tokens", "/tokens"),
    ("Second factor", "/account/totp"),
)
SUPERADMIN_ONLY = frozenset({"/admins"})
USER_NAV = (("Account", "/account"),)


def admin_nav(request: Request) -> tuple[tuple[str, str], ...]:
    """The admin menu; without the superadmin-only entries for a domain admin."""
    actor = getattr(request.state, "actor", None)
    if actor is None or actor.is_superadmin:
        return ADMIN_NAV
    return tuple(entry for entry in ADMIN_NAV if entry[1] not in SUPERADMIN_ONLY)


def _page_context(request: Request) -> dict[str, Any]:
    session = session_of(request)
    principal = session.principal if session else None
    if principal is None:
        nav: tuple[tuple[str, str], ...] = ()
    else:
        nav = admin_nav(request) if principal.kind == "admin" else USER_NAV
    return {
        "principal": principal,
        "csrf_token": session.csrf_token if session else "",
        "nav": nav,
        "path": request.url.path,
    }


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden ``csrf_token`` input a form must carry (any unsafe method)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        escape(context.get("csrf_token", ""))
    )


def when(value: datetime | None, format: str = "%Y-%m-%d %H:%M", never: str = "") -> str:
    """The ``when`` filter: a date and time, or ``never`` for none (a filter, not a macro:
    list pages call it on every row)."""
    return value.strftime(format) if value else never


def yesno(value: object) -> str:
    """The ``yesno`` filter."""
    return "yes" if value else "no"


def make_templates() -> Jinja2Templates:
    """Every template read and compiled now, while the app is built: ``vmail serve``
    builds it before dropping root, and the package may not be readable afterwards (a
    checkout under a 0700 home directory)."""
    sources = {
        path.relative_to(TEMPLATE_DIR).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(TEMPLATE_DIR.rglob("*.html"))
    }
    env = Environment(loader=DictLoader(sources), autoescape=True, cache_size=-1)
    env.globals["csrf_field"] = csrf_field
    env.filters["when"] = when
    env.filters["yesno"] = yesno
    for name in sources:
        env.get_template(name)
    return Jinja2Templates(env=env, context_processors=[_page_context])


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The page ``name`` rendered in the layout, for this request's principal."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


__all__ = [
    "ADMIN_NAV",
    "STATIC_DIR",
    "SUPERADMIN_ONLY",
    "TEMPLATE_DIR",
    "USER_NAV",
    "admin_nav",
    "make_templates",
    "render",
]
