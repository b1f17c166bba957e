"""What a password its holder chooses must be: long enough to resist guessing, short enough
that hashing it costs no more than any other, and neither the username nor the password it
replaces. Each refusal names its reason by code (zh-CN and English in errors.po)."""

from __future__ import annotations

from shugu.domain.errors import ValidationError

#: A chosen password; an initial one made by the console is longer still (16 characters).
MIN_CHOSEN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

FIELD = "new_password"


def check_new_password(username: str, current_password: str, new_password: str) -> None:
    """Raise ValidationError (field ``new_password``) with the first rule the new one breaks."""
    if len(new_password) < MIN_CHOSEN_PASSWORD_LENGTH:
        raise ValidationError(
            f"a new password has at least {MIN_CHOSEN_PASSWORD_LENGTH} characters",
            code="new_password_too_short",
            field=FIELD,
            min_length=MIN_CHOSEN_PASSWORD_LENGTH,
        )
    if len(new_password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"a new password has at most {MAX_PASSWORD_LENGTH} characters",
            code="new_password_too_long",
            field=FIELD,
            max_length=MAX_PASSWORD_LENGTH,
        )
    if not encodable(new_password):
        raise ValidationError(
            "a new password is text that UTF-8 can write (no lone surrogates)",
            code="new_password_invalid",
            field=FIELD,
        )
    if new_password.strip().casefold() == username.strip().casefold():
        raise ValidationError(
            "the new password must not be the username",
            code="new_password_is_username",
            field=FIELD,
        )
    if new_password == current_password:
        raise ValidationError(
            "the new password must differ from the current one",
            code="new_password_unchanged",
            field=FIELD,
        )


def encodable(password: str) -> bool:
    """Whether the hash can read the password: a lone surrogate (from a JSON ``\\ud800``)
    has no UTF-8 bytes, and such a string can be nobody's password."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
