"""The typeface PDF reports are set in, embedded so that a report reads the same everywhere.

Reports are set in WenQuanYi Micro Hei (文泉驿微米黑), whose outlines are TrueType, so reportlab
embeds the subset of glyphs a report uses (a few tens of kilobytes) and no reader needs a Chinese
font of its own. The file comes from the ``paperang-p2-fonts-cjk`` wheel, a pinned dependency
whose font is byte for byte the one Debian ships as ``fonts-wqy-microhei`` (the digest below);
Debian's copy is used when the wheel is absent. Decision 0024 says why this font and this source.

When the font is registered, every character the report catalog prints and every symbol
reports draw is looked up in the font's character map: a font that lacked one would draw a box,
so it is refused then, not found by a reader.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]

from shugu.domain.errors import ShuguError
from shugu.monitor.reports.catalog import CATALOG

#: The name reports use for the face, and the collection's first face (the proportional one).
FONT: Final = "WenQuanYiMicroHei"
_FACE_INDEX = 0
#: SHA-256 of wqy-microhei.ttc 0.2.0-beta, as in Debian's fonts-wqy-microhei 0.2.0-beta-3.1.
FONT_SHA256: Final = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"
_PACKAGE = "paperang_p2_fonts_cjk"
_PACKAGE_FILE = ("fonts", "wqy-microhei.ttc")
SYSTEM_PATH: Final = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

#: Symbols that units, limits and layout put in reports besides the catalog's words.
SYMBOLS: Final = "·：（），。、°℃≥≤±Δ…–—µμ²³×/%"

#: PDFs are built in worker threads, and reportlab cuts a font's subset out of the font file with
#: a read position kept on the one registered font object: two builds at once, from any module,
#: would interleave their reads and fail or embed wrong glyphs. Every PDF build holds this lock.
PDF_BUILD_LOCK: Final = threading.Lock()


class ReportFontMissing(ShuguError):
    """The PDF reports' font is not installed, or lacks characters reports print."""

    code = "report_font_missing"
    # The installation lacks a part: no retry helps, so no Retry-After as UnavailableError has.
    http_status = 503


def font_path() -> Path:
    """Where the font is: the packaged copy, else Debian's; ReportFontMissing if neither."""
    try:
        packaged = resources.files(_PACKAGE).joinpath(*_PACKAGE_FILE)
    except ModuleNotFoundError:
        packaged = None
    if packaged is not None and packaged.is_file():
        return Path(str(packaged))
    if SYSTEM_PATH.is_file():
        return SYSTEM_PATH
    raise ReportFontMissing(
        "PDF reports need the WenQuanYi Micro Hei font: install the Python package "
        "paperang-p2-fonts-cjk (`pip install -r requirements.lock`) or the Debian package "
        "fonts-wqy-microhei"
    )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def required_characters() -> str:
    """Every character reports print in any language, other than user-supplied names."""
    chars = {c for entry in CATALOG.values() for words in entry.values() for c in words}
    chars.update(SYMBOLS)
    chars.update(chr(c) for c in range(0x20, 0x7F))
    return "".join(sorted(chars))


def missing_glyphs(font: TTFont, characters: str) -> str:
    """The characters of ``characters`` that ``font`` has no glyph for, in order, once each."""
    cmap = font.face.charToGlyph
    return "".join(dict.fromkeys(c for c in characters if not c.isspace() and ord(c) not in cmap))


@cache
def register_report_font() -> str:
    """Register the reports' font with reportlab (once per process) and return its name."""
    path = font_path()
    # The wheel is a printer driver's, not a font foundry's: a later or tampered release could
    # ship another file, which reportlab would parse and embed. Only the known bytes are used.
    if path != SYSTEM_PATH and file_digest(path) != FONT_SHA256:
        raise ReportFontMissing(
            f"the font file at {path} is not the pinned WenQuanYi Micro Hei 0.2.0-beta "
            f"(SHA-256 {FONT_SHA256}); reinstall paperang-p2-fonts-cjk==0.1.0 or install "
            "fonts-wqy-microhei"
        )
    try:
        font = TTFont(FONT, str(path), subfontIndex=_FACE_INDEX)
    except (TTFError, OSError) as exc:
        raise ReportFontMissing(
            f"the PDF reports' font at {path} cannot be read ({exc}); reinstall "
            "paperang-p2-fonts-cjk or fonts-wqy-microhei"
        ) from exc
    lacking = missing_glyphs(font, required_characters())
    if lacking:
        raise ReportFontMissing(
            f"the font at {path} has no glyph for {lacking!r}, which reports print; "
            "install the pinned paperang-p2-fonts-cjk (WenQuanYi Micro Hei)"
        )
    pdfmetrics.registerFont(font)
    return FONT


def report_style(name: str, size: float, **extra: Any) -> Any:
    """A paragraph style in the reports' face at ``size`` points, leading 1.3 times the size."""
    register_report_font()
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=size * 1.3, **extra)
