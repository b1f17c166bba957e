"""Find server and client binaries; skip with a reason where missing, except in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_binary(name: str, debian: str = "mosquitto mosquitto-clients") -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (Debian: apt-get install {debian})"
        if in_ci():
            pytest.fail(f"CI must have it: {reason}")
        pytest.skip(reason)
    return path
