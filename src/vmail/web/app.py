"""The web application: :func:`create_app` builds the FastAPI app on a :class:`WebContext`.

Layout: pages (:mod:`vmail.web.pages`) at ``/``, the REST API (:mod:`vmail.web.api`)
under ``/api/v1/`` with its OpenAPI document at ``/api/v1/openapi.json`` (no docs UI:
it would need inline scripts), static files (``static/``, shipped in the package) under
``/static/``. :class:`~vmail.web.middleware.WebMiddleware` wraps everything (sessions,
security headers, 500s); :func:`~vmail.web.deps.check_csrf` guards every route.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from vmail import __version__
from vmail.web import api, pages
from vmail.web.assets import static_route
from vmail.web.context import WebContext
from vmail.web.deps import check_csrf
from vmail.web.errors import install_error_handlers
from vmail.web.middleware import WebMiddleware
from vmail.web.sessions import SessionCodec
from vmail.web.templating import STATIC_DIR, make_templates


def create_app(context: WebContext) -> FastAPI:
    """The ASGI application for ``context`` (one per configuration snapshot)."""
    app = FastAPI(
        title="vmail",
        version=__version__,
        openapi_url=f"{api.PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_csrf)],
    )
    app.state.context = context
    app.state.templates = make_templates()
    codec = SessionCodec(context.secret, context.session_timeout, context.clock)
    app.add_middleware(WebMiddleware, codec=codec)
    install_error_handlers(app)
    for router in pages.ROUTERS:
        app.include_router(router, include_in_schema=False)  # HTML pages: not the API
    for router in api.ROUTERS:
        app.include_router(router, prefix=api.PREFIX)
    app.router.routes.append(static_route(STATIC_DIR))
    return app


__all__ = ["create_app"]
