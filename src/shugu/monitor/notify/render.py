"""What a notice looks like on each channel: JSON, robot markdown, mail subject and bodies.

Pure functions of the notice and the language, so every text can be checked without a server.
Times are shown in China time (the platform's users are there); the JSON carries ISO 8601 with
the +08:00 offset so a machine reading it loses nothing.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from shugu.domain.timeutil import CHINA_TZ, to_iso
from shugu.monitor.model import SEVERITY_LABEL, AlarmNotice, NoticeEvent, Severity

from .channels import Lang

#: Version of the webhook JSON below; raised only when a field changes meaning or disappears.
WEBHOOK_SCHEMA_VERSION = 1

EVENT_LABEL: dict[NoticeEvent, tuple[str, str]] = {
    NoticeEvent.raised: ("新告警", "New alarm"),
    NoticeEvent.repeated: ("仍未确认", "Still unacknowledged"),
    NoticeEvent.escalated: ("升级", "Escalated"),
    NoticeEvent.acknowledged: ("已确认", "Acknowledged"),
    NoticeEvent.cleared: ("已恢复", "Cleared"),
    NoticeEvent.test: ("测试通知", "Test notice"),
}

_FIELD: dict[str, tuple[str, str]] = {
    "alarm": ("告警编号", "Alarm"),
    "incident": ("所属事件", "Incident"),
    "enterprise": ("企业", "Enterprise"),
    "device": ("设备", "Device"),
    "detail": ("详情", "Detail"),
    "raised_at": ("发生时间", "Raised at"),
    "duration": ("已持续", "Open for"),
    "link": ("查看并确认", "View and acknowledge"),
    "link_closed": ("查看", "View"),
}

#: Robots cap a message (WeCom markdown at 4096 bytes); a runaway detail must not cost the whole
#: notice, so free text is cut well below that.
_MAX_DETAIL = 500


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def severity_label(severity: Severity, lang: Lang) -> str:
    return _pick(SEVERITY_LABEL[severity], lang)


def event_label(event: NoticeEvent, lang: Lang) -> str:
    return _pick(EVENT_LABEL[event], lang)


def _rule(notice: AlarmNotice, lang: Lang) -> str:
    return notice.rule_zh if lang == "zh" else notice.rule_en


def _detail(notice: AlarmNotice, lang: Lang) -> str:
    text = notice.detail_zh if lang == "zh" else notice.detail_en
    if notice.device and text.startswith(notice.device):
        # The alarm's line starts with the device, which the notice's own row already names.
        text = text[len(notice.device) :].lstrip(" :：") or text
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _local(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int, lang: Lang) -> str:
    minutes = ms // 60_000
    hours, rest = divmod(minutes, 60)
    if lang == "zh":
        if minutes < 1:
            return "不到 1 分钟"
        return f"{hours} 小时 {rest} 分钟" if hours else f"{rest} 分钟"
    if minutes < 1:
        return "under 1 min"
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def _closed(event: NoticeEvent) -> bool:
    return event in (NoticeEvent.acknowledged, NoticeEvent.cleared)


def notice_json(notice: AlarmNotice, lang: Lang = "zh") -> dict[str, Any]:
    """The webhook body. Stable fields (``version`` 1):

    ``version`` (int), ``alarm_id`` (int), ``event`` (raised | repeated | escalated |
    acknowledged | cleared; test for a notice sent to check the channel, about alarm 0),
    ``severity`` (critical | major | minor | warning), ``severity_label`` (in ``lang``),
    ``rule``, ``enterprise``, ``device``, ``detail`` (in ``lang``), ``value`` (number or null),
    ``raised_at`` and ``at`` (ISO 8601 with +08:00, milliseconds), ``link`` (URL or null),
    ``lang`` (zh | en); ``incident_id`` (int or null: the incident the notice speaks for),
    ``incident_alarms`` (int: its alarms so far), ``incident_reopened`` (true: the alarm is new
    in an incident that had been acknowledged, which is open again).
    """
    return {
        "version": WEBHOOK_SCHEMA_VERSION,
        "alarm_id": notice.alarm_id,
        "event": notice.event.value,
        "severity": notice.severity.value,
        "severity_label": severity_label(notice.severity, lang),
        "rule": _rule(notice, lang),
        "enterprise": notice.enterprise,
        "device": notice.device,
        "detail": notice.detail_zh if lang == "zh" else notice.detail_en,
        "value": notice.value,
        "raised_at": to_iso(notice.raised_at_ms),
        "at": to_iso(notice.at_ms),
        "link": notice.link,
        "lang": lang,
        "incident_id": notice.incident_id,
        "incident_alarms": notice.incident_alarms,
        "incident_reopened": notice.incident_reopened,
    }


def subject(notice: AlarmNotice, lang: Lang = "zh") -> str:
    """``[紧急] 机柜进风温度超出推荐范围 — 某某数据中心 A01-03``; events after the first one
    say so: ``[紧急] 已恢复：…``."""
    head = f"[{severity_label(notice.severity, lang)}] "
    if notice.event is not NoticeEvent.raised:
        head += event_label(notice.event, lang) + ("：" if lang == "zh" else ": ")
    return f"{head}{_rule(notice, lang)} — {notice.enterprise} {notice.device}"


def _rows(notice: AlarmNotice, lang: Lang) -> list[tuple[str, str]]:
    rows = [
        (_pick(_FIELD["enterprise"], lang), notice.enterprise),
        (_pick(_FIELD["device"], lang), notice.device),
        (_pick(_FIELD["detail"], lang), _detail(notice, lang)),
        # Readers abroad get the zone spelled out; in China the local time goes without saying.
        (
            _pick(_FIELD["raised_at"], lang),
            _local(notice.raised_at_ms) + ("" if lang == "zh" else " (UTC+8)"),
        ),
    ]
    if notice.event is not NoticeEvent.raised and notice.at_ms > notice.raised_at_ms:
        rows.append(
            (_pick(_FIELD["duration"], lang), _duration(notice.at_ms - notice.raised_at_ms, lang))
        )
    # "告警" in every message also satisfies a DingTalk robot secured by the keyword 告警.
    rows.append((_pick(_FIELD["alarm"], lang), f"#{notice.alarm_id}"))
    if notice.incident_id is not None:
        rows.append((_pick(_FIELD["incident"], lang), _incident(notice, lang)))
    return rows


def _incident(notice: AlarmNotice, lang: Lang) -> str:
    """``#12，共 43 条告警（确认后又有新告警，已重新打开）``."""
    n = notice.incident_alarms
    if lang == "zh":
        text = f"#{notice.incident_id}，共 {n} 条告警"
        return text + ("（确认后又有新告警，已重新打开）" if notice.incident_reopened else "")
    text = f"#{notice.incident_id}, {n} alarm{'' if n == 1 else 's'}"
    return text + (" (new since acknowledged: open again)" if notice.incident_reopened else "")


def _link_label(notice: AlarmNotice, lang: Lang) -> str:
    return _pick(_FIELD["link_closed" if _closed(notice.event) else "link"], lang)


def _heading(notice: AlarmNotice, lang: Lang) -> str:
    return f"[{severity_label(notice.severity, lang)}] {event_label(notice.event, lang)}"


def dingtalk_markdown(
    notice: AlarmNotice, lang: Lang = "zh", at_mobiles: list[str] | None = None
) -> tuple[str, str]:
    """(title, text) of a DingTalk markdown message. The title is what the chat list and the
    phone notification show; DingTalk only rings an @-mentioned person whose number also
    appears in the text, hence the trailing ``@138…``."""
    title = f"{_heading(notice, lang)} {_rule(notice, lang)}"
    lines = [f"### {_heading(notice, lang)}", "", f"**{_rule(notice, lang)}**", ""]
    lines += [
        f"- {label}：{value}" if lang == "zh" else f"- {label}: {value}"
        for label, value in _rows(notice, lang)
    ]
    if notice.link:
        lines += ["", f"[{_link_label(notice, lang)}]({notice.link})"]
    if at_mobiles:
        lines += ["", " ".join(f"@{mobile}" for mobile in at_mobiles)]
    return title, "\n".join(lines)


def _wecom_color(notice: AlarmNotice) -> str:
    # WeCom markdown knows three colours: info (green), comment (grey), warning (orange-red).
    if _closed(notice.event):
        return "info"
    if notice.severity in (Severity.critical, Severity.major):
        return "warning"
    return "comment"


def wecom_markdown(notice: AlarmNotice, lang: Lang = "zh") -> str:
    sep = "：" if lang == "zh" else ": "
    lines = [
        f'## <font color="{_wecom_color(notice)}">{_heading(notice, lang)}</font>',
        f"**{_rule(notice, lang)}**",
    ]
    lines += [f"> {label}{sep}{value}" for label, value in _rows(notice, lang)]
    if notice.link:
        lines.append(f"[{_link_label(notice, lang)}]({notice.link})")
    return "\n".join(lines)


def plain_text(notice: AlarmNotice, lang: Lang = "zh") -> str:
    """Plain text for the WeCom text message and the text part of a mail."""
    sep = "：" if lang == "zh" else ": "
    lines = [_heading(notice, lang), _rule(notice, lang), ""]
    lines += [f"{label}{sep}{value}" for label, value in _rows(notice, lang)]
    if notice.link:
        lines += ["", f"{_link_label(notice, lang)}{sep}{notice.link}"]
    return "\n".join(lines)


_HTML_COLOR = {
    Severity.critical: "#c62828",
    Severity.major: "#ef6c00",
    Severity.minor: "#f9a825",
    Severity.warning: "#1565c0",
}


def html_body(notice: AlarmNotice, lang: Lang = "zh") -> str:
    """The HTML part of a mail: a heading in the severity's colour and a two-column table."""
    esc = html.escape
    color = "#2e7d32" if _closed(notice.event) else _HTML_COLOR[notice.severity]
    rows = "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0;color:#555">{esc(label)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for label, value in _rows(notice, lang)
    )
    link = ""
    if notice.link:
        link = f'<p><a href="{esc(notice.link)}">{esc(_link_label(notice, lang))}</a></p>'
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><body style="font-family:sans-serif">'
        f'<h2 style="color:{color};margin:0 0 4px">{esc(_heading(notice, lang))}</h2>'
        f'<p style="font-size:1.1em;margin:0 0 8px"><b>{esc(_rule(notice, lang))}</b></p>'
        f"<table>{rows}</table>{link}</body></html>"
    )
