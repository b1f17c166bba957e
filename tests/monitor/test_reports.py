"""Inspection reports: what each format shows, in which order, and that user text stays text."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.workbook.child import INVALID_TITLE_REGEX  # type: ignore[import-untyped]
from pypdf import PdfReader

from shugu.monitor.model import CheckOutcome, CheckResult, RoundRecord
from shugu.monitor.reports import CATALOG, render_day, render_round, text
from shugu.monitor.reports.as_xlsx import HEADER_ROW, sheet_name
from shugu.monitor.reports.view import format_value, round_view

ENTERPRISE = "数谷云计算中心有限公司"
HOSTILE = "<script>alert('x')</script>机柜"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
DAY = date(2026, 3, 5)
#: 2026-03-05 08:00 in China is 00:00 UTC.
AT_0800 = int(datetime(2026, 3, 5, 0, 0, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


def check(
    device_id: int,
    device: str,
    zh: str,
    en: str,
    value: float | None,
    outcome: CheckOutcome,
    *,
    unit: str = "°C",
    limit: str = "18–27",
    observed_at_ms: int | None = AT_0800 - 30_000,
) -> CheckResult:
    return CheckResult(
        device_id=device_id,
        device_name=device,
        check_zh=zh,
        check_en=en,
        subject=f"m{device_id}",
        unit=unit,
        value=value,
        limit=limit,
        outcome=outcome,
        observed_at_ms=None if value is None else observed_at_ms,
    )


def mixed_results() -> tuple[CheckResult, ...]:
    """Passing first in input order, so the report has to reorder them."""
    return (
        check(1, "机柜 A-01", "进风温度", "Inlet temperature", 23.44, CheckOutcome.passed),
        check(
            2,
            "精密空调 CRAH-1",
            "送风静压",
            "Supply air pressure",
            8.0,
            CheckOutcome.passed,
            unit="Pa",
            limit="≥ 5",
        ),
        check(
            3,
            "精密空调 CRAH-2",
            "冷冻水供水温度",
            "Chilled water supply",
            None,
            CheckOutcome.no_data,
            limit="≤ 7",
        ),
        check(4, HOSTILE, "进风温度", "Inlet temperature", 29.96, CheckOutcome.failed),
        check(
            5,
            "机柜 A-10",
            "进风相对湿度",
            "Inlet relative humidity",
            71.25,
            CheckOutcome.failed,
            unit="%RH",
            limit="≤ 70",
        ),
        check(
            6,
            "机柜 A-2",
            "进风相对湿度",
            "Inlet relative humidity",
            72.0,
            CheckOutcome.failed,
            unit="%RH",
            limit="≤ 70",
        ),
        check(7, FORMULA, "流量", "Flow", 12.25, CheckOutcome.passed, unit="m³/h", limit="≤ 20"),
    )


def make_round(
    at_ms: int = AT_0800,
    results: tuple[CheckResult, ...] | None = None,
    *,
    round_id: int = 1,
    plan: str = "数据机房日常巡检",
    trigger: str = "manual",
    by: str | None = "zhangsan",
    enterprise_id: int = 9,
) -> RoundRecord:
    return RoundRecord(
        id=round_id,
        plan_id=3,
        plan_name=plan,
        enterprise_id=enterprise_id,
        enterprise_name=ENTERPRISE,
        at_ms=at_ms,
        trigger=trigger,
        by=by,
        results=mixed_results() if results is None else results,
    )


def six_rounds() -> list[RoundRecord]:
    """Rounds at 00:00, 04:00 … 20:00 China time; the humidity of A-10 fails only at 08:00 and
    16:00, the hostile device's inlet fails in every round."""
    midnight = AT_0800 - 8 * HOUR
    rounds = []
    for k in range(6):
        at = midnight + 4 * k * HOUR
        humid = k in (2, 4)
        results = (
            check(
                4,
                HOSTILE,
                "进风温度",
                "Inlet temperature",
                30.0,
                CheckOutcome.failed,
                observed_at_ms=at,
            ),
            check(
                5,
                "机柜 A-10",
                "进风相对湿度",
                "Inlet relative humidity",
                75.0 if humid else 50.0,
                CheckOutcome.failed if humid else CheckOutcome.passed,
                unit="%RH",
                observed_at_ms=at,
            ),
            check(
                1,
                "机柜 A-01",
                "进风温度",
                "Inlet temperature",
                22.0,
                CheckOutcome.passed,
                observed_at_ms=at,
            ),
        )
        rounds.append(make_round(at, results, round_id=100 + k, trigger="schedule", by=None))
    return rounds


def positions(haystack: str, *needles: str) -> list[int]:
    found = [haystack.find(n) for n in needles]
    assert all(i >= 0 for i in found), list(zip(needles, found, strict=True))
    return found


def pdf_text(data: bytes) -> tuple[int, list[str]]:
    """Page count and each page's text, with runs of white space made one space (the page total
    is a separate PDF form, which the extractor puts on a line of its own)."""
    reader = PdfReader(io.BytesIO(data))
    texts = [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]
    return len(reader.pages), texts


# --- catalog and formatting -------------------------------------------------------------------


def test_catalog_has_both_languages_for_every_message() -> None:
    for key, entry in CATALOG.items():
        assert entry.get("zh") and entry.get("en"), key
    assert text("title_round", "zh") == "巡检报告"
    assert text("title_round", "en") == "Inspection report"
    assert text("page", "en", page=2, pages=5) == "Page 2 of 5"


def test_unknown_language_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="zh, en"):
        text("title_round", "fr")
    with pytest.raises(ValueError):
        render_round(make_round(), "html", "de")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="html, pdf, xlsx"):
        render_round(make_round(), "docx")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (23.44, "°C", "23.4 °C"),
        (12.25, "m³/h", "12.3 m³/h"),  # half up, as a person rounds
        (71.25, "%RH", "71.3 %RH"),
        (-0.04, "Pa", "0.0 Pa"),  # no "-0.0"
        (1.0, "", "1"),
        (2.5, "", "2.5"),
        (1500.4, "rpm", "1500 rpm"),
        (None, "°C", "—"),
        (float("nan"), "°C", "—"),
    ],
)
def test_values_are_formatted_per_unit(value: float | None, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown


# --- HTML -------------------------------------------------------------------------------------


def test_html_round_in_chinese() -> None:
    page = render_round(make_round(), "html").decode("utf-8")
    assert '<html lang="zh-CN">' in page
    assert ENTERPRISE in page
    assert "2026-03-05 08:00 (UTC+8)" in page
    assert "巡检报告" in page and "手动" in page and "zhangsan" in page
    # The device name is shown, escaped, never as markup.
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;机柜" in page
    # Failing checks first (by device name, digits as numbers), then no data, then passing.
    order = positions(
        page,
        "&lt;script&gt;",
        "机柜 A-2<",
        "机柜 A-10<",
        "精密空调 CRAH-2",
        "机柜 A-01",
        "精密空调 CRAH-1",
    )
    assert order == sorted(order)
    assert page.count('<tr class="fail">') == 3
    assert "30.0 °C" in page and "71.3 %RH" in page and "12.3 m³/h" in page
    assert "不合格 3" in page and "无数据 1" in page and "合格 3" in page
    # Self-contained: no external stylesheet, script or image.
    assert "<link" not in page and "src=" not in page
    assert "@page" in page and "A4" in page


def test_html_round_in_english_uses_english_labels() -> None:
    page = render_round(make_round(), "html", "en").decode("utf-8")
    assert '<html lang="en">' in page
    for label in (
        "Inspection report",
        "Enterprise",
        "Inspection plan",
        "Manual",
        "Fail",
        "No data",
        "Pass",
        "Inlet relative humidity",
        "Chilled water supply",
    ):
        assert label in page, label
    for label in ("巡检报告", "不合格", "无数据", "进风相对湿度", "手动"):
        assert label not in page, label
    assert ENTERPRISE in page  # names stay as entered


def test_html_escapes_plan_and_enterprise_names_too() -> None:
    record = make_round(plan="<b>计划</b>")
    page = render_day([record], DAY, "<img src=x onerror=alert(1)>", "html").decode("utf-8")
    assert "<b>计划" not in page and "&lt;b&gt;计划&lt;/b&gt;" in page
    assert "<img" not in page


def test_html_day_has_by_check_summary_then_rounds_then_details() -> None:
    page = render_day(six_rounds(), DAY, ENTERPRISE, "html").decode("utf-8")
    assert "巡检日报" in page and ENTERPRISE in page and "2026-03-05" in page
    by_check, rounds, first, last = positions(
        page, "检查项汇总", 'class="rounds"', "2026-03-05 00:00 (UTC+8)", "2026-03-05 20:00 (UTC+8)"
    )
    assert by_check < rounds < first < last
    assert page.count('class="round-detail"') == 6
    # The hostile device failed in all six rounds, A-10's humidity in two, last at 16:00.
    tallies = page[by_check:rounds]
    assert re.search(r"&lt;script&gt;.*?<td class=\"num\">6</td>", tallies, re.S)
    assert re.search(r"机柜 A-10</td><td>进风相对湿度</td>\s*<td class=\"num\">2</td>", tallies)
    assert "16:00" in tallies
    assert "机柜 A-01" not in tallies  # never failed: not listed


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_round_text_order_and_hostile_name() -> None:
    pages, texts = pdf_text(render_round(make_round(), "pdf"))
    assert pages == 1
    body = texts[0]
    assert "巡检报告" in body and ENTERPRISE in body
    assert "2026-03-05 08:00 (UTC+8)" in body
    assert HOSTILE in body  # drawn literally, not parsed as paragraph markup
    order = positions(body, HOSTILE, "机柜 A-2", "精密空调 CRAH-2", "机柜 A-01")
    assert order == sorted(order)
    assert "第 1 页，共 1 页" in body


def test_pdf_in_english() -> None:
    _, texts = pdf_text(render_round(make_round(), "pdf", "en"))
    assert "Inspection report" in texts[0] and "Page 1 of 1" in texts[0]
    assert "巡检报告" not in texts[0]


def test_pdf_long_round_paginates_with_header_on_every_page() -> None:
    results = tuple(
        check(
            i,
            f"机柜 R{i:03d}",
            "进风温度",
            "Inlet temperature",
            20 + i % 10,
            CheckOutcome.failed if i % 50 == 0 else CheckOutcome.passed,
        )
        for i in range(300)
    )
    pages, texts = pdf_text(render_round(make_round(results=results), "pdf"))
    assert pages > 3
    for number, page in enumerate(texts, start=1):
        assert f"第 {number} 页，共 {pages} 页" in page
        if number > 1:
            assert "测量值" in page  # the column titles repeat
    # The six failing racks lead the first page.
    first = texts[0]
    assert first.find("机柜 R250") < first.find("机柜 R001")
    assert "机柜 R299" in texts[-1] or "机柜 R299" in texts[-2]


def test_pdf_day() -> None:
    pages, texts = pdf_text(render_day(six_rounds(), DAY, ENTERPRISE, "pdf"))
    assert pages == 7  # the summary page, then one page per round
    assert "巡检日报" in texts[0] and ENTERPRISE in texts[0]
    assert "检查项汇总" in texts[0]
    assert "2026-03-05 16:00 (UTC+8)" in texts[5]


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_round() -> None:
    wb = load_workbook(io.BytesIO(render_round(make_round(), "xlsx")))
    assert len(wb.sheetnames) == 2
    summary, detail = wb.worksheets
    assert detail.title == "08.00 数据机房日常巡检"
    header = [c.value for c in detail[HEADER_ROW]]
    assert header[:5] == ["序号", "设备", "检查项", "检查对象", "测量值"]
    assert detail[HEADER_ROW][0].font.b
    assert detail.freeze_panes == f"A{HEADER_ROW + 1}"
    assert detail.column_dimensions["B"].width >= 12

    rows = [
        [c.value for c in row]
        for row in detail.iter_rows(min_row=HEADER_ROW + 1, max_row=detail.max_row)
    ]
    assert len(rows) == 7
    assert rows[0][1] == HOSTILE and rows[0][7] == "不合格"
    assert [r[7] for r in rows] == ["不合格"] * 3 + ["无数据"] + ["合格"] * 3
    value = detail.cell(row=HEADER_ROW + 1, column=5)
    assert value.data_type == "n" and value.value == pytest.approx(29.96)
    assert value.number_format == "0.0"
    assert rows[3][4] is None  # no data: an empty cell, not a dash to be charted as zero
    assert isinstance(rows[0][8], datetime) and rows[0][8] == datetime(2026, 3, 5, 7, 59, 30)
    # A name that looks like a formula is stored as text.
    formula_row = next(i for i, r in enumerate(rows) if r[1] == FORMULA)
    assert detail.cell(row=HEADER_ROW + 1 + formula_row, column=2).data_type == "s"
    # Failing rows are filled light red, passing rows are not.
    assert detail.cell(row=HEADER_ROW + 1, column=3).fill.fgColor.rgb.endswith("FDE2E2")
    assert detail.cell(row=HEADER_ROW + 7, column=3).fill.fill_type is None

    assert summary.title == "汇总"
    counts = [c.value for c in summary[HEADER_ROW + 1]]
    assert counts[0] == datetime(2026, 3, 5, 8, 0)
    assert counts[4:8] == [7, 3, 1, 3]


def test_xlsx_day() -> None:
    records = six_rounds()
    wb = load_workbook(io.BytesIO(render_day(records, DAY, ENTERPRISE, "xlsx", "en")))
    assert len(wb.sheetnames) == 2 + 6
    assert wb.sheetnames[:3] == ["Summary", "By check", "00.00 数据机房日常巡检"]
    for name in wb.sheetnames:
        assert len(name) <= 31 and not INVALID_TITLE_REGEX.search(name)

    summary = wb["Summary"]
    rows = [[c.value for c in row] for row in summary.iter_rows(min_row=HEADER_ROW + 1)]
    quiet, humid = [3, 1, 0, 2], [3, 2, 0, 1]  # checks, fail, no data, pass
    assert [r[4:8] for r in rows[:6]] == [quiet, quiet, humid, quiet, humid, quiet]
    assert rows[6][0] == "Total" and rows[6][4:8] == [18, 8, 0, 10]

    by_check = wb["By check"]
    tallies = [[c.value for c in row] for row in by_check.iter_rows(min_row=HEADER_ROW + 1)]
    assert tallies == [
        [HOSTILE, "Inlet temperature", 6, 0, 6, "20:00"],
        ["机柜 A-10", "Inlet relative humidity", 2, 0, 6, "16:00"],
    ]
    first_round = wb.worksheets[2]
    assert first_round.cell(row=HEADER_ROW + 1, column=8).value == "Fail"


def test_device_names_sort_with_numbers_as_numbers() -> None:
    names = ["机柜 A-10", "²", "机柜 A-2", "机柜 A-１", "Rack b", "rack A"]
    view = round_view(
        make_round(
            results=tuple(
                check(i, n, "c", "c", 1.0, CheckOutcome.failed) for i, n in enumerate(names)
            )
        ),
        "zh",
    )
    assert [r.device for r in view.rows] == [
        "rack A",
        "Rack b",
        "²",
        "机柜 A-１",
        "机柜 A-2",
        "机柜 A-10",
    ]


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    long_bad = "08.00 [机房]:巡检*计划?/a\\b 非常非常非常非常非常非常非常长的名字"
    first = sheet_name(long_bad, taken)
    second = sheet_name(long_bad, taken)
    third = sheet_name("'quoted'", taken)
    assert first != second and second.endswith(" (2)")
    for name in (first, second, third):
        assert 0 < len(name) <= 31 and not INVALID_TITLE_REGEX.search(name)
        assert not name.startswith("'") and not name.endswith("'")
    assert sheet_name("SUMMARY", {"summary"}) == "SUMMARY (2)"
    assert sheet_name("history", set()) == "history (2)"
    assert sheet_name("a" * 30 + "'b", set()) == "a" * 30


# --- the day's rules --------------------------------------------------------------------------


def test_day_refuses_rounds_of_another_day_or_enterprise() -> None:
    before_midnight = make_round(AT_0800 - 8 * HOUR - 60_000)
    with pytest.raises(ValueError, match="not on 2026-03-05"):
        render_day([before_midnight], DAY, ENTERPRISE, "html")
    with pytest.raises(ValueError, match="one enterprise"):
        render_day([make_round(), make_round(enterprise_id=10)], DAY, ENTERPRISE, "html")


@pytest.mark.parametrize("fmt", ["html", "pdf", "xlsx"])
def test_empty_day_and_empty_round_render(fmt: str) -> None:
    assert render_day([], DAY, ENTERPRISE, fmt)  # type: ignore[arg-type]
    assert render_round(make_round(results=()), fmt)  # type: ignore[arg-type]


def test_empty_day_says_so() -> None:
    page = render_day([], DAY, ENTERPRISE, "html", "en").decode("utf-8")
    assert "No inspection rounds on this day." in page
