"""The API documentation works without the internet: every file its pages load is shugu's own.

Before, ``/docs`` and ``/redoc`` loaded Swagger UI and ReDoc from a CDN (and ReDoc its fonts
from Google): offline the pages stayed blank, and ``/`` redirects to ``/docs``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from shugu import webassets
from shugu.api.docs_pages import IMMUTABLE, STATIC_PREFIX
from tests.api.conftest import World

_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


class _Loads(HTMLParser):
    """Every URL a page makes the browser load: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        if name is not None and found.get(name):
            self.urls.append(str(found[name]))


def loads_of(html: str) -> list[str]:
    parser = _Loads()
    parser.feed(html)
    return parser.urls


@pytest.fixture(autouse=True)
def _assets_fetched() -> None:
    missing = [a.name for a in webassets.ASSETS if not webassets.is_installed(a)]
    assert not missing, f"{missing} not fetched: run `make install` (python -m shugu.webassets)"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_file_a_docs_page_loads_is_served_here(world: World, page: str) -> None:
    answer = world.client.get(page)
    assert answer.status_code == 200
    assert "shugu 数谷" in answer.text
    urls = loads_of(answer.text)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        # Same origin: a path on this server, not another host nor a protocol-relative URL.
        assert url.startswith(f"{STATIC_PREFIX}/") and "//" not in url, url
        asset = world.client.get(url)
        assert asset.status_code == 200, url
        suffix = Path(url).suffix
        assert asset.headers["content-type"].startswith(_TYPES[suffix]), (url, asset.headers)
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 0


def test_swagger_ui_is_not_told_to_use_an_online_validator(world: World) -> None:
    assert '"validatorUrl": null' in world.client.get("/docs").text


def test_the_root_leads_to_the_console_and_the_docs_stay_at_their_address(world: World) -> None:
    answer = world.client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    assert world.client.get("/docs").status_code == 200


def test_outside_the_vendor_folder_nothing_is_served(world: World) -> None:
    for path in (
        f"{STATIC_PREFIX}/../webassets.py",
        f"{STATIC_PREFIX}/%2e%2e/webassets.py",
        f"{STATIC_PREFIX}/swagger-ui-dist-0.0.0/swagger-ui-bundle.js",
    ):
        assert world.client.get(path).status_code == 404, path


def test_docs_without_their_assets_say_how_to_get_them(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(webassets, "VENDOR_DIR", tmp_path)
    for page in ("/docs", "/redoc"):
        answer = world.client.get(page)
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["code"] == "docs_assets_missing"
        assert "make install" in error["message"]
