"""Every message the console shows and every error code shugu answers with has a translation in
zh-CN and in English (``shugu.web.i18n_check`` finds them; run it as a module to list the gaps)."""

from __future__ import annotations

import re
from pathlib import Path

from shugu.web.i18n import LANGUAGES, Translator, catalog
from shugu.web.i18n_check import conflicts, error_codes, missing, ui_messages


def test_no_message_or_error_code_lacks_a_translation() -> None:
    lacking = missing()
    report = [
        f"{lang}: messages {messages[:20]}, error codes {codes[:20]}"
        for lang, (messages, codes) in lacking.items()
    ]
    assert not lacking, (
        "translate these (python -m shugu.web.i18n_check prints them as .po entries):\n"
        + "\n".join(report)
    )


def test_one_message_has_one_translation_in_each_language() -> None:
    found = conflicts()
    assert not found, "settle these in one wording:\n" + "\n".join(found)


def test_the_finder_sees_messages_and_codes_where_they_are_written(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        'raise ValidationError("x", code="made_up_code")\n'
        'class Gone(ShuguError):\n    code = "gone_for_good"\n'
        'error_body("body_code", "m")\n'
    )
    assert error_codes([source]) == {"made_up_code", "gone_for_good", "body_code"}
    messages = ui_messages()
    assert "Sign in" in messages and "severity.critical" in messages


def test_chinese_is_the_default_and_english_is_a_switch_away() -> None:
    assert Translator("").gettext("Sign in") == "登录"
    assert Translator("en").gettext("Sign in") == "Sign in"
    assert Translator("zh-CN").error("bad_credentials") == "用户名或密码错误。"
    assert Translator("en").error("bad_credentials") == "The username or password is wrong."


def test_placeholders_survive_translation_in_both_languages() -> None:
    for lang in LANGUAGES:
        messages = catalog(lang).messages
        for message_id, text in messages.items():
            wanted = _placeholders(message_id)
            assert _placeholders(text) == wanted, f"{lang}: {message_id!r} → {text!r}"


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))
