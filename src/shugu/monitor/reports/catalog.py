"""The inspection report's words in Chinese (the default) and English.

Every label a report prints comes from here, so the HTML, PDF and XLSX versions say the same thing
and a translation is fixed in one place. Entries with ``{name}`` fields are ``str.format`` patterns.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = get_args(Lang)

#: Message id → its text per language.
CATALOG: Final[dict[str, dict[Lang, str]]] = {
    "title_round": {"zh": "巡检报告", "en": "Inspection report"},
    "title_day": {"zh": "巡检日报", "en": "Daily inspection report"},
    "daily": {"zh": "日报", "en": "Daily report"},
    "enterprise": {"zh": "企业", "en": "Enterprise"},
    "plan": {"zh": "巡检计划", "en": "Inspection plan"},
    "round_time": {"zh": "巡检时间", "en": "Time"},
    "day": {"zh": "日期", "en": "Date"},
    "trigger": {"zh": "触发方式", "en": "Trigger"},
    "trigger_schedule": {"zh": "定时", "en": "Scheduled"},
    "trigger_manual": {"zh": "手动", "en": "Manual"},
    "by": {"zh": "执行人", "en": "Run by"},
    "by_system": {"zh": "系统", "en": "System"},
    "no": {"zh": "序号", "en": "No."},
    "device": {"zh": "设备", "en": "Device"},
    "check": {"zh": "检查项", "en": "Check"},
    "subject": {"zh": "检查对象", "en": "Subject"},
    "value": {"zh": "测量值", "en": "Value"},
    "unit": {"zh": "单位", "en": "Unit"},
    "limit": {"zh": "限值", "en": "Limit"},
    "outcome": {"zh": "结果", "en": "Result"},
    "outcome_pass": {"zh": "合格", "en": "Pass"},
    "outcome_fail": {"zh": "不合格", "en": "Fail"},
    "outcome_no_data": {"zh": "无数据", "en": "No data"},
    "observed_at": {"zh": "数据时间", "en": "Data time"},
    "checks": {"zh": "检查项数", "en": "Checks"},
    "summary": {"zh": "汇总", "en": "Summary"},
    "total": {"zh": "合计", "en": "Total"},
    "rounds": {"zh": "巡检轮次", "en": "Rounds"},
    "round_details": {"zh": "各轮明细", "en": "Round details"},
    "by_check": {"zh": "检查项汇总", "en": "By check"},
    "by_check_note": {
        "zh": "全天出现不合格或无数据的检查项，按不合格轮次排列。",
        "en": "Checks that failed or had no data in any round of the day, most failures first.",
    },
    "failed_rounds": {"zh": "不合格轮次", "en": "Rounds failed"},
    "no_data_rounds": {"zh": "无数据轮次", "en": "Rounds without data"},
    "checked_rounds": {"zh": "参与轮次", "en": "Rounds checked"},
    "last_failed": {"zh": "最近不合格", "en": "Last failed"},
    "all_passed_day": {
        "zh": "全天各轮所有检查项均合格。",
        "en": "Every check passed in every round of the day.",
    },
    "no_rounds": {"zh": "当天没有巡检记录。", "en": "No inspection rounds on this day."},
    "no_checks": {"zh": "本轮没有检查项。", "en": "This round has no checks."},
    "timezone_note": {
        "zh": "时间均为北京时间（UTC+8）。",
        "en": "All times are China Standard Time (UTC+8).",
    },
    "signature": {
        "zh": "巡检人（签字）：__________    审核人（签字）：__________",
        "en": "Inspected by (signature): __________    Reviewed by (signature): __________",
    },
    "page": {"zh": "第 {page} 页，共 {pages} 页", "en": "Page {page} of {pages}"},
}


def check_lang(lang: str) -> Lang:
    """The language as the ``Lang`` type, or ValueError naming the ones there are."""
    for known in LANGS:
        if lang == known:
            return known
    raise ValueError(f"report language must be one of {', '.join(LANGS)}; got {lang!r}")


def text(key: str, lang: str, **fields: object) -> str:
    """The message ``key`` in ``lang``; ``fields`` fill its ``{name}`` placeholders.

    An unknown language is a ValueError (it comes from a caller's choice); an unknown key is a
    KeyError (it is a mistake in shugu's own code).
    """
    pattern = CATALOG[key][check_lang(lang)]
    return pattern.format(**fields) if fields else pattern
