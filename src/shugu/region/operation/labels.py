"""Words the operation's exports and PDF print, in Chinese and English (the console's pages use
the web catalogs; files made here are made without a page)."""

from __future__ import annotations

from typing import Final

WORDS: Final[dict[str, tuple[str, str]]] = {
    "summary_title": ("经济运行月报", "Monthly operation report"),
    "watch_title": ("重点企业监测", "Key-enterprise watch list"),
    "reports_title": ("企业月报", "Monthly reports"),
    "month": ("月份", "Month"),
    "as_of": ("统计截至", "As of"),
    "district": ("全区合计", "District totals"),
    "by_park": ("分园区", "By park"),
    "by_industry": ("分行业", "By industry"),
    "key_enterprises": ("重点企业", "Key enterprises"),
    "warnings": ("预警", "Warnings"),
    "due": ("未报或退回待重报", "Missing or returned, not resubmitted"),
    "group": ("分组", "Group"),
    "park": ("园区", "Park"),
    "industry": ("行业", "Industry"),
    "enterprise": ("企业", "Enterprise"),
    "uscc": ("统一社会信用代码", "USCC"),
    "enterprises": ("企业数", "Enterprises"),
    "filed": ("已报", "Filed"),
    "on_time": ("按时", "On time"),
    "completion": ("报送率 %", "Completion %"),
    "yoy": ("同比 %", "YoY %"),
    "mom": ("环比 %", "MoM %"),
    "state": ("状态", "State"),
    "rule": ("规则", "Rule"),
    "since": ("起始", "Since"),
    "figures": ("数据", "Figures"),
    "deadline": ("截止日", "Deadline"),
    "days_overdue": ("逾期天数", "Days overdue"),
    "flagged": ("数据差异", "Discrepancy"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    "note_growth": (
        "同比按两年同月均已报送的企业（同口径）计算；金额单位万元，用电量单位千瓦时。",
        "Year-on-year growth over the enterprises that filed both months (same basis); money "
        "in 10k yuan (万元), power in kWh.",
    ),
    "state.none": ("未填报", "not filed"),
    "state.draft": ("草稿", "draft"),
    "state.submitted": ("已提交", "submitted"),
    "state.park_accepted": ("园区已审", "accepted by the park"),
    "state.accepted": ("已审核", "accepted"),
    "state.returned": ("已退回", "returned"),
    "warnings_title": ("预警清单", "Early warnings"),
    "missing_title": ("未报及逾期企业", "Missing and late reports"),
    "subject": ("所属月份", "Report month"),
    "raised_at": ("首次发出", "Raised at"),
    "cleared_at": ("已解除", "Cleared at"),
    "acknowledged_by": ("确认人", "Acknowledged by"),
    "acknowledged_at": ("确认时间", "Acknowledged at"),
    "why": ("原因", "Why"),
    "late": ("已逾期", "Late"),
    "fact.output_value_wan": ("工业总产值（万元）", "Output value (10k yuan)"),
    "fact.output_value_wan_year_ago": ("上年同期（万元）", "A year before (10k yuan)"),
    "fact.output_value_yoy_pct": ("同比（%）", "Year on year (%)"),
    "fact.revenue_wan": ("营业收入（万元）", "Revenue (10k yuan)"),
    "fact.revenue_wan_year_ago": ("上年同期（万元）", "A year before (10k yuan)"),
    "fact.revenue_yoy_pct": ("同比（%）", "Year on year (%)"),
    "fact.metered_kwh_14d": ("近14天计量用电（千瓦时）", "Metered, last 14 days (kWh)"),
    "fact.metered_kwh_prior_14d": ("此前14天（千瓦时）", "Metered, the 14 days before (kWh)"),
    "fact.metered_power_14d_change_pct": ("变化（%）", "Change (%)"),
    "fact.report_deadline": ("报送截止日", "Report deadline"),
    "fact.report_days_overdue": ("逾期天数", "Days overdue"),
    "fact.report_state": ("月报状态", "Report state"),
    "due.missing": ("未报", "missing"),
    "due.returned": ("退回未重报", "returned"),
}


def word(key: str, lang: str) -> str:
    zh, en = WORDS[key]
    return en if lang == "en" else zh
