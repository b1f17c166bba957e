"""Screenshots of the console's main pages for the README, taken by the browser suite so that
they show the console as it is.

``docs/screenshots/<page>-<lang>.png``: one viewport (1440×900 on a laptop, 1920×1080 for the
wall display), reduced to a 256-colour palette, which a console of flat colours and text barely
shows and which keeps a picture near a hundred kilobytes. ``SHUGU_SCREENSHOTS`` names another
folder (or ``off`` to take none).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
LANGS = ("zh-CN", "en")


@dataclass(frozen=True)
class Shot:
    name: str
    username: str | None
    #: A path, an enterprise page's name, or "device" (the account's first machine's page).
    page: str
    wall: bool = False
    query: str = ""


SHOTS = (
    Shot("login", None, "/login"),
    Shot("tree", "mill-admin", "tree"),
    Shot("devices", "mill-admin", "devices"),
    # The demo's few hours of history fill a 6 h chart.
    Shot("device", "mill-admin", "device", query="?range=6h"),
    Shot("alarms", "mill-admin", "alarms"),
    Shot("kpi", "mill-admin", "kpi"),
    Shot("rules", "mill-admin", "rules"),
    Shot("inspection", "dc-admin", "inspection"),
    Shot("notifications", "dc-admin", "notifications"),
    Shot("capacity", "mill-admin", "capacity"),
    Shot("calendar", "mill-admin", "calendar"),
    Shot("onboard", "mill-admin", "onboard"),
    Shot("consents", "mill-admin", "consents"),
    Shot("accounts", "mill-admin", "accounts"),
    Shot("password", "mill-admin", "/account/password"),
    Shot("operator-health", "operator", "/operator/health"),
    Shot("operator-enterprises", "operator", "/operator/enterprises"),
    Shot("region", "bureau", "/region", wall=True),
    Shot("region-enterprises", "bureau", "/region/enterprises"),
    Shot("region-kpi", "bureau", "/region/kpi"),
    Shot("bureau-files", "bureau", "/bureau/files"),
    Shot("bureau-file", "mill-admin", "file"),
    Shot("bureau-tiers", "bureau", "/bureau/tiers"),
    Shot("bureau-review", "park-textile", "/bureau/operation"),
    Shot("bureau-watch", "bureau", "/bureau/operation/watch"),
    Shot("monthly-report", "mill-admin", "monthly-reports"),
    Shot("projects", "bureau", "/projects"),
    Shot("appeals", "bureau", "/appeals"),
    Shot("policies", "bureau", "/bureau/policies"),
    Shot("entitlements", "mill-admin", "policies"),
    Shot("targets", "bureau", "/region/targets"),
)


def folder() -> Path | None:
    chosen = os.environ.get("SHUGU_SCREENSHOTS", "")
    if chosen == "off":
        return None
    return Path(chosen) if chosen else REPO / "docs" / "screenshots"


def save(png: bytes, path: Path) -> int:
    """Writes the screenshot with a palette of 256 colours; its size in bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    reduced.save(path, format="PNG", optimize=True)
    return path.stat().st_size
