"""How long the console's main pages take to render, per role, on the provisioned district.

The pages are those of the console's navigation (``shugu.web.nav``) for each role: the
operator's and the bureau's, and an enterprise's (as the mill's administrator and viewer and the
data centre's administrator), plus a device page of each enterprise. From each page found, the
bench also follows what a browser loads next: the chart data (``data-chart-src``, the wall
display's charts, a device chart's points over 1 h, 24 h and 7 d), fragments the
page fetches by itself (``hx-get`` triggered on load, on a timer or by a live event such as an
alarm change, not by the user's input), and the first detail page linked under it
(``/operator/enterprises/{id}`` …), each measured as a page of its own.

Every URL is fetched once to warm up, then ``repeats`` times over one keep-alive connection; a
page answering 404 is reported as missing (not built yet), any other non-200 status as it is.
A linked file that is not HTML or JSON (a report as PDF or XLSX) is a download: timed and
listed, but not a page the 200-ms goal is about.
In the same round, the limit: ``/login`` (a template with no data behind it) and the JSON reads
of the API for the same things (``/api/enterprises/{id}/devices`` …), with the same session.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from bench.web_district import WebDistrict
from bench.web_http import Browser, Session
from shugu.web.nav import NavItem, enterprise_items, nav_for
from shugu.web.session import PageUser

#: Most pages followed from one page (chart data, fragments, detail pages).
FOLLOW_PER_PAGE = 6
#: Attributes naming the URL of a page's chart data (console.js, region.js).
_CHART_SOURCES = {"data-chart-src", "data-region-charts"}
#: The device page's chart ranges measured: the default and one on each side of it.
DEVICE_CHART_RANGES = ("1h", "24h", "7d")
_PAGE_TYPES = ("text/html", "application/json")
_INPUT_EVENTS = {"submit", "change", "input", "keyup", "search", "click"}
_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DIGITS = re.compile(r"(?<=[/=])\d+(?=/|$|\?|&)")


@dataclass
class Target:
    """One URL to time, and what it is."""

    who: str
    url: str
    kind: str  # page | chart | fragment | detail | download | api | limit
    of: str = ""  # the page it was found on

    @property
    def pattern(self) -> str:
        """The URL with its ids as ``{id}``: the name the figures go under."""
        path, _, query = self.url.partition("?")
        named = _DIGITS.sub("{id}", path)
        return named + ("?" + _DIGITS.sub("{id}", query) if query else "")


@dataclass
class Timing:
    target: Target
    status: int
    samples_ms: list[float] = field(default_factory=list)
    bytes: int = 0

    def row(self, limit_ms: float) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.target.pattern, "as": self.target.who}
        out["kind"] = self.target.kind
        if self.status == 404:
            out["status"] = "missing"
            return out
        out["status"] = self.status
        if self.samples_ms:
            median = float(np.median(self.samples_ms))
            out["median_ms"] = round(median, 1)
            out["p95_ms"] = round(float(np.percentile(self.samples_ms, 95)), 1)
            out["bytes"] = self.bytes
            if limit_ms > 0:
                out["ratio_to_login"] = round(median / limit_ms, 1)
        return out


def _nav(role_user: SimpleNamespace) -> list[NavItem]:
    # nav_for reads only the role and the enterprise of the user it is given.
    return nav_for(cast(PageUser, role_user))


def main_targets(district: WebDistrict) -> list[Target]:
    """The navigation of each role, and a device page of each enterprise account."""
    targets: list[Target] = []
    for username, account in district.accounts.items():
        if account.enterprise_id is None:
            items = _nav(SimpleNamespace(role=account.role, enterprise_id=None))
            targets += [Target(username, item.url, "page") for item in items]
    for username in ("mill-admin", "mill-viewer", "dc-admin"):
        account = district.accounts[username]
        assert account.enterprise_id is not None
        admin = username.endswith("admin")
        items = enterprise_items(account.enterprise_id, admin)
        targets += [Target(username, item.url, "page") for item in items]
        if admin:
            # The first machine of the first plant: a loom, a rack.
            ent = district.account_enterprise(username)
            first = ent.plants[0].devices[0]
            targets.append(Target(username, f"/devices/{ent.device_ids[first]}", "page"))
    return targets


def api_targets(district: WebDistrict) -> list[Target]:
    """The API's JSON reads of what the enterprise pages show, as the same users."""
    ent = district.account_enterprise("mill-admin").id
    dc = district.account_enterprise("dc-admin")
    rack = dc.device_ids[min(n for n in dc.device_ids if n.startswith("机柜"))]
    return [
        Target("mill-admin", f"/api/enterprises/{ent}/assets", "api"),
        Target("mill-admin", f"/api/enterprises/{ent}/devices", "api"),
        Target("mill-admin", f"/api/enterprises/{ent}/latest", "api"),
        Target("mill-admin", f"/api/alarms?enterprise_id={ent}", "api"),
        Target("dc-admin", f"/api/enterprises/{dc.id}/devices", "api"),
        Target("dc-admin", f"/api/enterprises/{dc.id}/latest", "api"),
        Target("dc-admin", f"/api/devices/{rack}/latest", "api"),
        Target("dc-admin", f"/api/enterprises/{dc.id}/inspection-plans", "api"),
        Target("operator", "/api/summary", "api"),
    ]


def _attributes(tag: str) -> dict[str, str]:
    return {m[1].lower(): html.unescape(m[2] or m[3] or "") for m in _ATTR.finditer(tag)}


def _refetched(trigger: str) -> bool:
    """A fragment the page fetches by itself: on load, every so often, or on a live event (an
    alarm change refetches it on every open page), not on the user's input."""
    events = {part.strip().split(" ", 1)[0] for part in trigger.split(",") if part.strip()}
    return bool(events) and not events & _INPUT_EVENTS


def followed(page: Target, body: bytes) -> list[Target]:
    """What a browser loads after ``page``, and the first detail page of each kind under it."""
    text = body.decode("utf-8", "replace")
    out: list[Target] = []
    seen: set[str] = set()
    device_charts: list[Target] = []
    base = page.url.split("?", 1)[0].rstrip("/") + "/"
    for tag in _TAG.findall(text):
        attrs = _attributes(tag)
        found: Target | None = None
        charts = [v for k, v in attrs.items() if k in _CHART_SOURCES and v.startswith("/")]
        if charts:
            found = Target(page.who, charts[0], "chart", page.pattern)
        elif "data-chart-device" in attrs and "data-chart-metric" in attrs and not device_charts:
            # The device page's script asks for each chart's points over the range picked.
            device, metric = attrs["data-chart-device"], attrs["data-chart-metric"]
            device_charts = [
                Target(
                    page.who,
                    f"/devices/{device}/chart?metric={metric}&range={r}",
                    "chart",
                    page.pattern,
                )
                for r in DEVICE_CHART_RANGES
            ]
            continue
        elif attrs.get("hx-get", "").startswith("/") and _refetched(attrs.get("hx-trigger", "")):
            found = Target(page.who, attrs["hx-get"], "fragment", page.pattern)
        elif tag.startswith("<a") and attrs.get("href", "").startswith(base):
            found = Target(page.who, attrs["href"], "detail", page.pattern)
        if found is not None and found.pattern not in seen and found.url != page.url:
            seen.add(found.pattern)
            out.append(found)
        if len(out) >= FOLLOW_PER_PAGE:
            break
    return device_charts + out


def _time(browser: Browser, target: Target, repeats: int) -> tuple[Timing, bytes]:
    warm = browser.get(target.url)
    if target.kind == "detail" and not warm.content_type.startswith(_PAGE_TYPES):
        target.kind = "download"  # a report as PDF or XLSX: not a page
    timing = Timing(target, warm.status, bytes=len(warm.body))
    if warm.status == 200:
        timing.samples_ms = [browser.get(target.url).elapsed_ms for _ in range(repeats)]
    return timing, warm.body


class PageRound:
    """Sessions for every account, kept across rounds (signing in is not what is measured)."""

    def __init__(self, district: WebDistrict) -> None:
        self.district = district
        host, port = "127.0.0.1", district.server.http_port
        self.sessions: dict[str, Session] = {
            name: district.session(name, account.password)
            for name, account in district.accounts.items()
        }
        self.browsers = {name: Browser(host, port, s) for name, s in self.sessions.items()}
        self.anonymous = Browser(host, port, None)

    def close(self) -> None:
        for browser in [*self.browsers.values(), self.anonymous]:
            browser.close()

    def run(self, repeats: int) -> dict[str, Any]:
        """One round: the limit, every main page and what it leads to, the API's reads."""
        login, _ = _time(self.anonymous, Target("nobody", "/login", "limit"), repeats)
        limit_ms = float(np.median(login.samples_ms)) if login.samples_ms else 0.0
        timings = [login]
        for target in main_targets(self.district):
            timing, body = _time(self.browsers[target.who], target, repeats)
            timings.append(timing)
            if timing.status == 200:
                for extra in followed(target, body):
                    timings.append(_time(self.browsers[extra.who], extra, repeats)[0])
        for target in api_targets(self.district):
            timings.append(_time(self.browsers[target.who], target, repeats)[0])
        return {"login_ms": round(limit_ms, 2), "rows": [t.row(limit_ms) for t in timings]}


def merge_rounds(rounds: Iterable[dict[str, Any]], goal_ms: float) -> dict[str, Any]:
    """Per URL, the median over rounds of each round's median and p95; which miss the goal."""
    rounds = list(rounds)
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rnd in rounds:
        for row in rnd["rows"]:
            by_key.setdefault((row["url"], row["as"]), []).append(row)
    rows: list[dict[str, Any]] = []
    for rows_of in by_key.values():
        first = dict(rows_of[-1])
        for key in ("median_ms", "p95_ms", "ratio_to_login"):
            values = [r[key] for r in rows_of if key in r]
            if values:
                first[key] = round(float(np.median(values)), 1)
                if key == "median_ms" and len(values) > 1:
                    first["runs_ms"] = values
        rows.append(first)
    measured = [
        r for r in rows if "median_ms" in r and r["kind"] not in ("api", "limit", "download")
    ]
    downloads = [r for r in rows if "median_ms" in r and r["kind"] == "download"]
    over = [f"{r['url']} ({r['as']})" for r in measured if r["p95_ms"] > goal_ms]
    missing = sorted({r["url"] for r in rows if r["status"] == "missing"})
    failing = sorted({f"{r['url']}: {r['status']}" for r in rows if r["status"] not in (200,)})
    return {
        "login_ms": round(float(np.median([r["login_ms"] for r in rounds])), 2),
        "pages_measured": len(measured),
        "slowest_page_median_ms": max((r["median_ms"] for r in measured), default=None),
        "slowest_page_p95_ms": max((r["p95_ms"] for r in measured), default=None),
        "pages_over_goal": over,
        "slowest_download_median_ms": max((r["median_ms"] for r in downloads), default=None),
        "pages_missing": missing,
        "pages_not_ok": [f for f in failing if not f.endswith(": missing")],
        "pages": rows,
    }
