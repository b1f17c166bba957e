"""What the catalogs lack: every message the console shows and every error code shugu raises
must have a translation in each language. The catalog test fails on anything listed here;
``python -m shugu.web.i18n_check`` prints the missing entries as ``.po`` text to fill in.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from shugu.domain.tenancy import Role
from shugu.monitor.model import Severity
from shugu.web.i18n import LANGUAGES, catalog

WEB_DIR: Final = Path(__file__).parent
PACKAGE_DIR: Final = WEB_DIR.parent

_LITERAL = r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')"""
#: ``_("…")`` in templates: a whole literal argument (``_("severity." ~ x)`` is no message).
_TEMPLATE_CALL = re.compile(r"\b_\(\s*" + _LITERAL + r"\s*[,)]")
#: ``N_("…")``, ``tr("…")``, ``_("…")``, ``gettext("…")`` in the console's Python.
_PYTHON_CALL = re.compile(r"\b(?:N_|tr|_|gettext)\(\s*" + _LITERAL + r"\s*[,)]")
_ERROR_CODE = re.compile(
    r"""(?:\bcode\s*(?::\s*str\s*)?=\s*|["']code["']\s*:\s*b?)["']([a-z][a-z0-9_]*)["']"""
)
_JSON_CODE = re.compile(rb'\\?"code\\?":\s*\\?"([a-z][a-z0-9_]*)\\?"')
#: ``error_body("code", …)`` and the code mapping of HTTP statuses (``{404: "not_found"}``).
_BODY_CODE = re.compile(
    r"""error_body\(\s*["']([a-z][a-z0-9_]*)["']|\b\d{3}:\s*["']([a-z][a-z0-9_]*)["']"""
)


def _unescape(raw: str) -> str:
    return raw.encode().decode("unicode_escape") if "\\" in raw else raw


def _found(pattern: re.Pattern[str], text: str) -> set[str]:
    return {
        _unescape(m.group(1) if m.group(1) is not None else m.group(2))
        for m in pattern.finditer(text)
    }


def dynamic_messages() -> set[str]:
    """Messages shown by name from data: roles, alarm severities."""
    return {r.value for r in Role} | {f"severity.{s.value}" for s in Severity}


def ui_messages() -> set[str]:
    messages = dynamic_messages()
    for path in (WEB_DIR / "templates").rglob("*.html"):
        messages |= _found(_TEMPLATE_CALL, path.read_text(encoding="utf-8"))
    for path in WEB_DIR.rglob("*.py"):
        if path.name != "i18n_check.py":
            messages |= _found(_PYTHON_CALL, path.read_text(encoding="utf-8"))
    return messages


def error_codes(paths: Iterable[Path] | None = None) -> set[str]:
    """Every error code shugu's own code can answer with."""
    codes: set[str] = set()
    for path in paths if paths is not None else PACKAGE_DIR.rglob("*.py"):
        if path.name == "i18n_check.py":
            continue
        text = path.read_text(encoding="utf-8")
        codes |= {m.group(1) for m in _ERROR_CODE.finditer(text)}
        codes |= {m.group(1).decode() for m in _JSON_CODE.finditer(text.encode())}
        codes |= {m.group(1) or m.group(2) for m in _BODY_CODE.finditer(text)}
    return codes


def missing() -> dict[str, tuple[list[str], list[str]]]:
    """Language → (messages, error codes) without a translation."""
    messages, codes = ui_messages(), error_codes()
    out: dict[str, tuple[list[str], list[str]]] = {}
    for lang in LANGUAGES:
        found = catalog(lang)
        lacking = (
            sorted(m for m in messages if m not in found.messages),
            sorted(c for c in codes if c not in found.errors),
        )
        if lacking[0] or lacking[1]:
            out[lang] = lacking
    return out


def conflicts() -> list[str]:
    """Messages two catalog files of one language translate differently: the page would show
    whichever file is read last."""
    from babel.messages.pofile import read_po

    from shugu.web.i18n import LOCALE_DIR

    found: list[str] = []
    for lang, folder in LANGUAGES.items():
        seen: dict[tuple[str | None, str], tuple[str, str]] = {}
        for path in sorted((LOCALE_DIR / folder / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as handle:
                for message in read_po(handle):
                    if not message.id or not isinstance(message.id, str):
                        continue
                    text = message.string if isinstance(message.string, str) else ""
                    key = (message.context, message.id)
                    first = seen.setdefault(key, (path.name, text))
                    if first[1] != text:
                        found.append(
                            f"{lang}: {message.id!r} is {first[1]!r} in {first[0]} "
                            f"but {text!r} in {path.name}"
                        )
    return found


def _po(message: str) -> str:
    return message.replace("\\", "\\\\").replace('"', '\\"')


def main() -> int:
    for conflict in conflicts():
        print(f"# conflict: {conflict}")
    lacking = missing()
    for lang, (messages, codes) in lacking.items():
        print(f"# {lang}: {len(messages)} messages, {len(codes)} error codes missing")
        for message in messages:
            print(f'msgid "{_po(message)}"\nmsgstr ""\n')
        for code in codes:
            print(f'msgctxt "error"\nmsgid "{code}"\nmsgstr ""\n')
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main())
