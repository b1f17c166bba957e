"""The interactive API documentation, Swagger UI at ``/docs`` and ReDoc at ``/redoc``, offline.

Both pages load their scripts, styles and icon from ``/static/vendor/`` on this server (the
pinned npm packages of ``shugu.webassets``), never from a CDN, so they work on a network without
the internet and the security headers allow nothing but this origin. The files' URLs carry the
package version, so browsers may keep them for a year without asking again.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from shugu.domain.errors import ShuguError
from shugu.webassets import REDOC, SWAGGER_UI, VENDOR_DIR, NpmAsset, is_installed

STATIC_PREFIX = "/static/vendor"
#: A year, and never revalidated: a new version of a package is a new URL.
IMMUTABLE = "public, max-age=31536000, immutable"


class DocsAssetsMissing(ShuguError):
    """The documentation pages' scripts were never fetched into this installation."""

    code = "docs_assets_missing"
    http_status = 503


class VendorFiles(StaticFiles):
    """Static files with a far-future cache lifetime (their paths are versioned)."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = IMMUTABLE
        return response


def _require(asset: NpmAsset) -> None:
    if not is_installed(asset):
        raise DocsAssetsMissing(
            f"the API documentation needs {asset.name}@{asset.version}, which this installation "
            "lacks: run `make install` (or `python -m shugu.webassets`) where npm can reach its "
            "registry. The API itself works without it; its schema is at /openapi.json"
        )


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs``, ``/redoc`` and their assets; the app must be made with
    ``docs_url=None, redoc_url=None`` so that FastAPI's CDN pages are not added too."""
    app.mount(STATIC_PREFIX, VendorFiles(directory=VENDOR_DIR, check_dir=False), name="vendor")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        _require(SWAGGER_UI)
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} · API",
            swagger_js_url=SWAGGER_UI.url("swagger-ui-bundle.js", STATIC_PREFIX),
            swagger_css_url=SWAGGER_UI.url("swagger-ui.css", STATIC_PREFIX),
            swagger_favicon_url=SWAGGER_UI.url("favicon-32x32.png", STATIC_PREFIX),
            # Swagger UI would otherwise send the schema to swagger.io's online validator.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        _require(REDOC)
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} · API",
            redoc_js_url=REDOC.url("bundles/redoc.standalone.js", STATIC_PREFIX),
            redoc_favicon_url=SWAGGER_UI.url("favicon-32x32.png", STATIC_PREFIX),
            with_google_fonts=False,
        )
