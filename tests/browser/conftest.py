"""The browser suite's fixtures: one real `shugu demo` and one headless Chromium per session.

Chromium is Debian's (``/usr/bin/chromium``, package ``chromium``), driven by Playwright for
Python (a locked dev requirement). Without Chromium, or when it cannot start, the suite is
skipped with the reason, except in CI (``CI=true``), where that is a failure. Each test gets
fresh browser contexts (cookies, storage) through ``open_page``; whatever the browser reports as
an error (console errors, uncaught exceptions, CSP refusals) and any traceback the server logs
while the test runs fail the test, unless the test said it expects it (``console_log.allow``).

With pytest-xdist each worker starts its own demo and browser, on ports of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, StorageState, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.binaries import in_ci
from tests.browser.console_log import ConsoleLog
from tests.browser.demo import SERVER_FAULTS, Demo, DemoFailed
from tests.browser.pages import LANG_COOKIE, sign_in

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The console is made for a laptop; the wall display for a 1920×1080 screen.
LAPTOP = {"width": 1440, "height": 900}
WALL = {"width": 1920, "height": 1080}

CALL_REPORT = pytest.StashKey[pytest.TestReport]()

OpenPage = Callable[..., Page]


def unavailable(reason: str) -> None:
    """Skip with the reason; in CI nothing may skip, so fail."""
    if in_ci():
        pytest.fail(f"CI must run the browser suite: {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        unavailable("Chromium is not installed (Debian: apt-get install chromium)")
    assert path is not None
    return path


# Package scope, not session: Playwright's sync API keeps its event loop running in the main
# thread while it is open, so every later test's asyncio.run() would fail. The browser, the demo
# and the sign-ins end with this package's tests.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium with a fresh temporary profile (Playwright makes one per launch)."""
    executable = chromium_path()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except PlaywrightError as exc:
        unavailable(f"Chromium ({executable}) does not start: {exc.message.splitlines()[0]}")
        raise
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A demo district on free ports; stopped with Ctrl-C at the end of the session."""
    chromium_path()  # no browser, no use for a demo: skip before starting one
    served = Demo(tmp_path_factory.mktemp("browser-demo") / "data")
    try:
        served.start()
    except DemoFailed as exc:
        served.stop()
        pytest.fail(str(exc))
    yield served
    served.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps the call's outcome for ``console_log`` and shows what the browser said with it."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call":
        return
    item.stash[CALL_REPORT] = report
    log = getattr(item, "funcargs", {}).get("console_log")
    if isinstance(log, ConsoleLog) and (log.errors or log.notes):
        report.sections.append(("browser console", "\n".join(log.errors + log.notes)))


@pytest.fixture
def console_log(demo: Demo, request: pytest.FixtureRequest) -> Iterator[ConsoleLog]:
    """Fails the test on what the browser reported as an error, or the server logged as one."""
    log = ConsoleLog()
    offset = demo.log_size()
    yield log
    call = request.node.stash.get(CALL_REPORT, None)
    if call is None or not call.passed:
        return  # the test failed (or was expected to) already; the console is in its report
    problems = log.unexpected()
    faults = [
        line
        for line in demo.log_since(offset).splitlines()
        if any(f in line for f in SERVER_FAULTS)
    ]
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)
    assert not faults, "the server logged errors:\n" + "\n".join(faults)


@pytest.fixture(scope="package")
def sessions() -> dict[str, StorageState]:
    """Each account's cookies after its first sign-in through the form: later tests start
    signed in, as a person who comes back does, instead of hashing the password again."""
    return {}


@pytest.fixture
def open_page(
    browser: Browser, demo: Demo, console_log: ConsoleLog, sessions: dict[str, StorageState]
) -> Iterator[OpenPage]:
    """``open_page(username, lang="zh-CN", viewport=LAPTOP, at="/", form=False)``: a page in a
    new browser context, signed in as the demo account (not signed in for ``None``), speaking
    ``lang``, opened at ``at`` (``/`` is the account's start page). ``form=True`` signs in
    through the sign-in form even when the account did before."""
    contexts = []

    def open_(
        username: str | None,
        lang: str = "zh-CN",
        viewport: dict[str, int] | None = None,
        *,
        at: str = "/",
        form: bool = False,
    ) -> Page:
        reuse = username is not None and not form and username in sessions
        context = browser.new_context(
            viewport=viewport or LAPTOP,  # type: ignore[arg-type]
            base_url=demo.base,
            locale=lang,
            timezone_id="Asia/Shanghai",
            storage_state=sessions[username] if reuse and username else None,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        console_log.watch(context)
        if lang != "zh-CN":  # Chinese without a remembered choice
            context.add_cookies([{"name": LANG_COOKIE, "value": lang, "url": demo.base}])
        page = context.new_page()
        if username is not None and not reuse:
            sign_in(page, username, at)
            state = context.storage_state()
            state["cookies"] = [c for c in state["cookies"] if c["name"] != LANG_COOKIE]
            sessions[username] = state
        else:
            page.goto(at)
        return page

    yield open_
    for context in contexts:
        context.close()
