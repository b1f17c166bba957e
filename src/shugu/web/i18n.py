"""The console's languages: gettext catalogs (``.po``, read with Babel), zh-CN first, English
beside.

Message ids are English. Each area of the console keeps its own catalog file
(``locale/<lang>/LC_MESSAGES/<area>.po``), and a language is all of its files together, so that
pages added in different places never edit the same file. API error codes are entries with the
context ``error``: the code is the id, the translation is what a person is told, in their
language, whatever English message the server wrote for logs and scripts.

The chosen language is remembered in a cookie (``shugu_lang``) for a year; without one, the
console speaks Chinese.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

LOCALE_DIR: Final = Path(__file__).parent / "locale"
LANG_COOKIE: Final = "shugu_lang"
#: What a visitor without a remembered choice reads: the district's working language.
DEFAULT_LANG: Final = "zh-CN"
#: Language tag (as in ``<html lang>`` and the cookie) → catalog folder.
LANGUAGES: Final[Mapping[str, str]] = {"zh-CN": "zh_CN", "en": "en"}
ERROR_CONTEXT: Final = "error"


def N_(message: str) -> str:
    """Mark a message for the catalogs where it is defined; it is translated where shown."""
    return message


@dataclass(frozen=True, slots=True)
class Catalog:
    lang: str
    messages: Mapping[str, str]
    errors: Mapping[str, str]


def _read(folder: Path, lang: str) -> Catalog:
    messages: dict[str, str] = {}
    errors: dict[str, str] = {}
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=LANGUAGES[lang].replace("-", "_"))
        for message in catalog:
            if not message.id or not isinstance(message.id, str):
                continue
            text = message.string if isinstance(message.string, str) else ""
            if not text:
                continue
            target = errors if message.context == ERROR_CONTEXT else messages
            target[message.id] = text
    return Catalog(lang, messages, errors)


@functools.cache
def catalog(lang: str) -> Catalog:
    return _read(LOCALE_DIR / LANGUAGES[lang] / "LC_MESSAGES", lang)


def pick_lang(cookie: str | None) -> str:
    return cookie if cookie is not None and cookie in LANGUAGES else DEFAULT_LANG


class Translator:
    """One language's messages for one page: ``_`` for text, ``error`` for an error code."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANG
        self._catalog = catalog(self.lang)

    def gettext(self, message: str, **values: object) -> str:
        """The message in this language (the English id where a translation is missing, which
        the catalog test forbids), with ``{name}`` placeholders filled in."""
        text = self._catalog.messages.get(message, message)
        return text.format(**values) if values else text

    __call__ = gettext

    def error(self, code: str, fallback: str = "") -> str:
        """What a person is told about an error code; the server's own message for a code the
        catalogs do not know (which the catalog test forbids for shugu's own codes)."""
        return self._catalog.errors.get(code) or fallback or code

    @property
    def other_lang(self) -> str:
        return "en" if self.lang == DEFAULT_LANG else DEFAULT_LANG
