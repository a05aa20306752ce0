"""The admin web UI and REST API (issue 6), served by ``vmail serve`` (command ``webd``).

Pieces, and where to extend them:

* :func:`vmail.web.app.create_app` — the FastAPI app on a
  :class:`~vmail.web.context.WebContext` (AdminService, mailbox Authenticator, MainConfig,
  session secret, login throttle, clock); handlers reach it with the ``Context``
  dependency or ``request.app.state.context``.
* **Pages**: a router per module in :mod:`vmail.web.pages` (listed in ``pages.ROUTERS``);
  templates in ``templates/`` extend ``layout.html``; answer with
  :func:`vmail.web.templating.render`.
* **API**: a router per module in :mod:`vmail.web.api` (``api.ROUTERS``), mounted under
  ``/api/v1``; errors are ``{"error": "..."}``.
* **Who is asking**: the dependencies in :mod:`vmail.web.deps` — ``CurrentAdmin`` (an
  :class:`~vmail.admin.Actor`, re-checked every request), ``CurrentUser`` (a mailbox
  address), ``CurrentPrincipal``. No session: redirect to /login (pages) or 401 (API).
* **CSRF**: every unsafe request with a session cookie needs the token — forms put
  ``{{ csrf_field() }}`` inside; htmx sends ``X-CSRF-Token`` (set on ``<body>`` by the
  layout); scripts read it from the same attribute.
* **Errors**: raise ``HTTPException`` or let an ``AdminError`` through
  (:mod:`vmail.web.errors` maps them); never a 500 for bad input.
* **Serving**: :class:`vmail.web.server.WebServer` (uvicorn in the running loop),
  composed by :mod:`vmail.servers.app`.
"""

from __future__ import annotations

from vmail.web.app import create_app
from vmail.web.context import WebContext, load_secret, login_throttle

__all__ = ["WebContext", "create_app", "load_secret", "login_throttle"]
