"""The static files (``web/static/``: htmx, CSS, icon) served from memory under ``/static/``.

They are read when the application is built, like the templates: ``vmail serve`` builds
it before dropping root, and the package may not be readable afterwards. Each file is
answered with its type, a strong ETag (304 to ``If-None-Match``) and an hour of caching.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

CACHE_CONTROL = "public, max-age=3600"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def load_assets(directory: Path) -> dict[str, Asset]:
    """Every file below ``directory`` by its relative path (dot files and VENDORED notes
    left out)."""
    assets = {}
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if not path.is_file() or path.name.startswith(".") or path.suffix == "":
            continue
        body = path.read_bytes()
        media_type = TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "text/plain"
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        assets[name] = Asset(body, media_type, etag)
    return assets


class StaticAssets:
    """An ASGI app answering GET/HEAD ``/<name>`` from a mapping of assets."""

    def __init__(self, assets: Mapping[str, Asset]) -> None:
        self.assets = dict(assets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = self.answer(request.method, request.path_params.get("name", ""), request)
        await response(scope, receive, send)

    def answer(self, method: str, name: str, request: Request) -> Response:
        if method not in ("GET", "HEAD"):
            return PlainTextResponse("method not allowed", 405, headers={"Allow": "GET, HEAD"})
        asset = self.assets.get(name)
        if asset is None:
            return PlainTextResponse("not found", 404)
        headers = {"ETag": asset.etag, "Cache-Control": CACHE_CONTROL}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = b"" if method == "HEAD" else asset.body
        headers["Content-Length"] = str(len(asset.body))
        return Response(body, media_type=asset.media_type, headers=headers)


def static_route(directory: Path) -> Route:
    """The ``/static/{name}`` route of the files in ``directory``."""
    return Route(
        "/static/{name:path}",
        StaticAssets(load_assets(directory)),
        methods=["GET", "HEAD"],
        name="static",
        include_in_schema=False,
    )


__all__ = ["Asset", "StaticAssets", "load_assets", "static_route"]
