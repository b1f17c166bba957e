"""What the browser said while a test ran: console errors, uncaught exceptions, refusals by the
content security policy, and server faults in the demo's log.

Every browser context of a test reports here; the test fails at its end if anything is left that
the test did not expect (``allow``). Chromium reports a CSP refusal as a console error; an init
script also reports each ``securitypolicyviolation`` event, so a refusal is caught even if the
browser's wording changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, ConsoleMessage, Error

#: Runs in every page before its own scripts (injected by the browser, not subject to the CSP).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + (e.sourceFile || location.href) + ":" + e.lineNumber);
});
"""

#: The console has no icon yet; the browser's automatic /favicon.ico request is not the page's.
_ALWAYS_ALLOWED = (re.compile(r"favicon\.ico"),)


@dataclass
class ConsoleLog:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=lambda: list(_ALWAYS_ALLOWED))

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(script=CSP_LISTENER)
        context.on("console", self._console)
        context.on("weberror", lambda web_error: self._page_error(web_error.error))

    def allow(self, pattern: str) -> None:
        """An error this test expects (e.g. the 404 it provokes)."""
        self.allowed.append(re.compile(pattern))

    def _console(self, message: ConsoleMessage) -> None:
        location = message.location.get("url", "") if message.location else ""
        line = f"[{message.type}] {message.text} ({location})"
        if message.type == "error":
            self.errors.append(line)
        else:
            self.notes.append(line)

    def _page_error(self, error: Error) -> None:
        self.errors.append(f"[uncaught] {error.name}: {error.message}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
