"""Static files served from memory: types, ETags, HEAD, 404, and no disk access later."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from tests.unit.web.conftest import run_coroutine
from vmail.web.assets import load_assets, static_route
from vmail.web.templating import STATIC_DIR


class _Client:
    """Requests to the static route of ``directory``, in process (ASGI)."""

    def __init__(self, directory: Path) -> None:
        self.app = Starlette(routes=[static_route(directory)])

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

        return run_coroutine(send())

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str) -> httpx.Response:
        return self.request("HEAD", path)

    def post(self, path: str) -> httpx.Response:
        return self.request("POST", path)


def _client(directory: Path) -> _Client:
    return _Client(directory)


def test_the_shipped_files_are_served_with_their_types() -> None:
    client = _client(STATIC_DIR)
    for name, kind in (("htmx.min.js", "text/javascript"), ("vmail.css", "text/css"),
                       ("favicon.svg", "image/svg+xml")):  # fmt: skip
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"].startswith(kind)
        assert answer.content == (STATIC_DIR / name).read_bytes()
        assert answer.headers["cache-control"] == "public, max-age=3600"
    assert client.get("/static/VENDORED").status_code == 404  # notes are not assets


def test_etag_head_404_and_methods(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body{}")
    client = _client(tmp_path)
    first = client.get("/static/a.css")
    etag = first.headers["etag"]
    again = client.get("/static/a.css", headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    head = client.head("/static/a.css")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "6")
    assert client.get("/static/../a.css").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404
    assert client.post("/static/a.css").status_code == 405


def test_files_are_read_once_when_the_app_is_built(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("1")
    client = _client(tmp_path)
    (tmp_path / "a.js").unlink()  # as unreadable as a 0700 home after root is dropped
    assert client.get("/static/a.js").text == "1"
    assert set(load_assets(tmp_path)) == set()
