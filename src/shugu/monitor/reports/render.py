"""Entry points: an inspection round, or a day of rounds, as HTML, PDF or XLSX bytes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final, Literal, get_args

from shugu.monitor.model import RoundRecord
from shugu.monitor.reports.as_html import html_day, html_round
from shugu.monitor.reports.as_pdf import pdf_day, pdf_round
from shugu.monitor.reports.as_xlsx import xlsx_day, xlsx_round
from shugu.monitor.reports.catalog import check_lang
from shugu.monitor.reports.view import day_view, round_view

Format = Literal["html", "pdf", "xlsx"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

#: The media type to send each format with.
MEDIA_TYPES: dict[Format, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _check_format(fmt: str) -> Format:
    for known in FORMATS:
        if fmt == known:
            return known
    raise ValueError(f"report format must be one of html, pdf, xlsx; got {fmt!r}")


def render_round(record: RoundRecord, fmt: Format, lang: Literal["zh", "en"] = "zh") -> bytes:
    """One round's report: the round's facts, its counts, and its checks failing first.

    Raises ValueError for an unknown format or language.
    """
    kind = _check_format(fmt)
    language = check_lang(lang)
    view = round_view(record, language)
    if kind == "html":
        return html_round(view, language)
    if kind == "pdf":
        return pdf_round(view, language)
    return xlsx_round(view, language)


def render_day(
    records: Sequence[RoundRecord],
    day: date,
    enterprise_name: str,
    fmt: Format,
    lang: Literal["zh", "en"] = "zh",
) -> bytes:
    """One enterprise's day of rounds (``day`` in China time): which checks failed how often,
    a table of the rounds, then each round in full.

    Raises ValueError for an unknown format or language, a round that ran on another day, or
    rounds of more than one enterprise.
    """
    kind = _check_format(fmt)
    language = check_lang(lang)
    view = day_view(records, day, enterprise_name, language)
    if kind == "html":
        return html_day(view, language)
    if kind == "pdf":
        return pdf_day(view, language)
    return xlsx_day(view, language)
