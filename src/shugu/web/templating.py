"""Rendering the console's pages: one Jinja2 environment, the page context every template gets,
and the formatting filters (times in Asia/Shanghai, numbers, "3 min ago") in the user's language.

Every template gets ``_`` (the user's translator: ``_("Devices")``, with placeholders ``_("{n} min
ago", n=3)``), ``err`` (an error code in the user's language), ``user``, ``nav``, ``lang``, ``csrf``
and ``asset`` (the URL of a pinned front-end file). Templates never use ``style`` attributes (the
console's content security policy refuses them); classes in ``static/web/console.css`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shugu import __version__
from shugu.web.i18n import N_, Translator
from shugu.web.nav import account_menu_for, current, nav_for
from shugu.web.session import PageUser
from shugu.webassets import ECHARTS, HTMX

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"
STATIC_PREFIX: Final = "/static/web"
VENDOR_PREFIX: Final = "/static/vendor"
LOCAL_TZ: Final = ZoneInfo("Asia/Shanghai")

_ASSETS: Final = {
    "echarts": ECHARTS.url("dist/echarts.min.js", VENDOR_PREFIX),
    "htmx": HTMX.url("dist/htmx.min.js", VENDOR_PREFIX),
}


def asset(name: str) -> str:
    """A pinned vendor file by short name, or one of the console's own files by path; the
    console's own carry the version so that a new release is a new URL."""
    if name in _ASSETS:
        return _ASSETS[name]
    return f"{STATIC_PREFIX}/{name}?v={__version__}"


def to_local(ts: datetime | int | float | None) -> datetime | None:
    """A timestamp (datetime, or ms since the epoch) in the district's time zone."""
    if ts is None:
        return None
    if isinstance(ts, int | float):
        if not math.isfinite(ts):
            return None
        ts = datetime.fromtimestamp(ts / 1000, UTC)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(LOCAL_TZ)


def fmt_time(ts: datetime | int | float | None, seconds: bool = True) -> str:
    local = to_local(ts)
    if local is None:
        return "—"
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def fmt_num(value: float | int | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def ms_of(ts: datetime | int | float | None) -> int | None:
    """Milliseconds since the epoch, for ``data-ts`` attributes the script turns into "ago"."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return int(ts.timestamp() * 1000)
    return int(ts)


#: Messages the console's script shows, handed to it translated in every page.
JS_MESSAGES: Final = (
    N_("just now"),
    N_("{n} s ago"),
    N_("{n} min ago"),
    N_("{n} h ago"),
    N_("{n} d ago"),
    N_("Copied"),
    N_("Request failed"),
    N_("Connection lost; reconnecting…"),
)


def js_messages(tr: Translator) -> dict[str, str]:
    return {message: tr(message) for message in JS_MESSAGES}


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset
    env.globals["js_messages"] = js_messages
    env.filters["time"] = fmt_time
    env.filters["num"] = fmt_num
    env.filters["ms"] = ms_of
    return env


ENV: Final = _environment()


def page_address(request: Request) -> str:
    """Where the language switch returns to: this page, or for a page answered to a form's
    POST the page the form was on (the browser's ``Referer``, when it is of this site), since
    a GET of the POST's address would not be a page."""
    if request.method == "GET":
        query = request.url.query
        return request.url.path + ("?" + query if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + ("?" + referer.query if referer.query else "")
    return "/"


def page_context(request: Request, user: PageUser | None, tr: Translator) -> dict[str, Any]:
    path = request.url.path
    nav = nav_for(user) if user is not None else []
    return {
        "_": tr,
        "err": tr.error,
        "lang": tr.lang,
        "other_lang": tr.other_lang,
        "user": user,
        "nav": nav,
        "nav_current": current(nav, path),
        "account_menu": account_menu_for(user) if user is not None else (),
        "path": path,
        "here": page_address(request),
        "csrf": user.csrf if user is not None else "",
    }


def render_text(template: str, context: Mapping[str, Any]) -> str:
    return ENV.get_template(template).render(**context)


def render(
    request: Request,
    user: PageUser | None,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    tr: Translator | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A whole page (or an htmx fragment: a template that does not extend ``base.html``)."""
    translator = tr or (user.tr if user is not None else Translator(""))
    full = page_context(request, user, translator)
    if context:
        full.update(context)
    return HTMLResponse(
        render_text(template, full),
        status_code=status_code,
        headers=dict(headers) if headers else None,
    )
