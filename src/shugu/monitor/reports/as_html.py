"""Inspection reports as one self-contained HTML page (inline CSS, prints on A4)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import jinja2

from shugu.monitor.reports.catalog import Lang, text
from shugu.monitor.reports.view import DayView, RoundView

_HTML_LANG: dict[Lang, str] = {"zh": "zh-CN", "en": "en"}


@cache
def _environment() -> jinja2.Environment:
    # Autoescape on for every template whatever its file name: device, plan and enterprise names
    # are typed in by users and end up in the page. StrictUndefined turns a misspelt field into an
    # error in the tests instead of a silently empty cell in a printed report.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("shugu.monitor.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _translator(lang: Lang) -> Callable[..., str]:
    def t(key: str, **fields: object) -> str:
        return text(key, lang, **fields)

    return t


def html_round(view: RoundView, lang: Lang) -> bytes:
    template = _environment().get_template("round.html.j2")
    page = template.render(
        r=view,
        t=_translator(lang),
        html_lang=_HTML_LANG[lang],
        page_title=f"{text('title_round', lang)} · {view.plan} · {view.at_text}",
    )
    return page.encode("utf-8")


def html_day(view: DayView, lang: Lang) -> bytes:
    template = _environment().get_template("day.html.j2")
    page = template.render(
        d=view,
        t=_translator(lang),
        html_lang=_HTML_LANG[lang],
        page_title=f"{text('title_day', lang)} · {view.enterprise} · {view.day_text}",
    )
    return page.encode("utf-8")
