"""What each demo account's navigation offers (``shugu.web.nav``), as paths to open."""

from __future__ import annotations

from tests.browser.demo import Demo

#: Enterprise pages, in the sidebar's order; the last five are the administrators' only.
ENTERPRISE_PAGES = (
    "tree",
    "devices",
    "kpi",
    "alarms",
    "rules",
    "inspection",
    "capacity",
    "policies",
    "file",
    "/projects",
    "/appeals",
    "monthly-reports",
    "notifications",
    "calendar",
    "onboard",
    "consents",
    "accounts",
)
VIEWER_PAGES = ENTERPRISE_PAGES[:12]
#: A park official's pages: the bureau's region pages, each narrowed to its own park.
PARK_PAGES = (
    "/region",
    "/region/enterprises",
    "/bureau/files",
    "/bureau/tiers",
    "/region/kpi",
    "/region/targets",
    "/bureau/policies",
    "/projects",
    "/appeals",
    "/bureau/operation",
)

#: Account → the pages of its sidebar, in order; the first is where it lands.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "operator": ("/operator/health", "/operator/enterprises", "/region/kpi"),
    "bureau": (
        "/region",
        "/region/enterprises",
        "/bureau/files",
        "/bureau/tiers",
        "/region/kpi",
        "/capacity",
        "/region/targets",
        "/bureau/policies",
        "/projects",
        "/appeals",
        "/bureau/operation",
    ),
    "park-textile": PARK_PAGES,
    "park-digital": PARK_PAGES,
    "mill-admin": ENTERPRISE_PAGES,
    "mill-viewer": VIEWER_PAGES,
    "dc-admin": ENTERPRISE_PAGES,
}


#: The top bar's account menu (``shugu.web.nav.ACCOUNT_MENU``): the same for every account.
ACCOUNT_MENU = ("/account/password",)


def page_path(demo: Demo, username: str, page: str) -> str:
    """``page`` is a path, or an enterprise page's name (under the account's enterprise)."""
    if page.startswith("/"):
        return page
    enterprise = demo.api(username).enterprise_id
    assert enterprise is not None, username
    return f"/e/{enterprise}/{page}"


def role_paths(demo: Demo, username: str) -> list[str]:
    return [page_path(demo, username, page) for page in ROLE_PAGES[username]]
