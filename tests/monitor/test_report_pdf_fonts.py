"""PDF reports carry their own font: they read the same on a machine without any Chinese font.

Before, reports named the Adobe CID font STSong-Light without embedding it: a reader without an
Asian font pack showed blank cells, and µ, ², ³ were swapped for what GB 2312 has. These tests
render a report where no system font exists (fontconfig pointed at an empty configuration).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from shugu.domain.errors import ShuguError
from shugu.monitor.model import CheckOutcome, RoundRecord
from shugu.monitor.reports import fonts, render_day, render_round
from tests.binaries import require_binary
from tests.monitor.test_reports import DAY, ENTERPRISE, check, make_round, pdf_text, six_rounds

#: Every kind of symbol a report prints beside Chinese words and ASCII.
SYMBOL_CHECK = "冷却水温差（出水：回水），合格。、·Δt"
SYMBOL_DEVICE = "冷却塔 CT-01 µS/cm m³/h m²"
SYMBOL_LIMIT = "≥ 3，≤ 8 ±0.5"


def symbol_round() -> RoundRecord:
    results = (
        check(
            1,
            SYMBOL_DEVICE,
            SYMBOL_CHECK,
            "Cooling water ΔT",
            5.5,
            CheckOutcome.failed,
            limit=SYMBOL_LIMIT,
        ),
        check(2, "精密空调 CRAH-1", "送风温度", "Supply air", 18.25, CheckOutcome.passed),
    )
    return make_round(results=results)


def fonts_of(resources: Any) -> Iterator[Any]:
    """The font dictionaries a page's resources name, including those of its forms."""
    for font in resources.get("/Font", {}).values():
        yield font.get_object()
    for xobject in resources.get("/XObject", {}).values():
        form = xobject.get_object()
        if "/Resources" in form:
            yield from fonts_of(form["/Resources"].get_object())


def test_the_font_is_debians_wenquanyi_micro_hei() -> None:
    # The wheel is a third party's: its font must be the one Debian ships, byte for byte.
    assert fonts.file_digest(fonts.font_path()) == fonts.FONT_SHA256


def test_the_font_has_a_glyph_for_everything_reports_print() -> None:
    assert fonts.register_report_font() == fonts.FONT
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]

    face = pdfmetrics.getFont(fonts.FONT)
    printed = fonts.required_characters() + SYMBOL_CHECK + SYMBOL_DEVICE + SYMBOL_LIMIT + ENTERPRISE
    assert fonts.missing_glyphs(face, printed) == ""
    # And the check would notice a glyph that is not there (a private-use code point).
    assert fonts.missing_glyphs(face, "巡\ue000检") == "\ue000"


def test_text_and_symbols_extract_as_written() -> None:
    _, texts = pdf_text(render_round(symbol_round(), "pdf"))
    # Without spaces: a cell's text wraps, and the extractor puts a space at the line break.
    body = texts[0].replace(" ", "")
    for written in ("巡检报告", ENTERPRISE, SYMBOL_CHECK, SYMBOL_DEVICE, SYMBOL_LIMIT, "5.5°C"):
        assert written.replace(" ", "") in body, written
    assert "第1页，共1页" in body


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_font_is_an_embedded_truetype_subset(lang: str) -> None:
    data = render_day(six_rounds(), DAY, ENTERPRISE, "pdf", lang)  # type: ignore[arg-type]
    reader = PdfReader(io.BytesIO(data))
    seen = set()
    for page in reader.pages:
        for font in fonts_of(page["/Resources"].get_object()):
            name = str(font["/BaseFont"])
            seen.add(name)
            assert font["/Subtype"] == "/TrueType", name  # no CID (Type0) font, no base-14 font
            assert "/FontFile2" in font["/FontDescriptor"].get_object(), name
            assert "/ToUnicode" in font, name  # text can be copied and searched
            # A subset is named with a six-letter tag: AAAAAA+WenQuanYiMicroHei-0.
            assert name[7:8] == "+" and fonts.FONT in name, name
    assert seen
    # A subset, not the 5 MB collection: seven pages of report stay small.
    print(f"day report ({lang}), 7 pages: {len(data)} bytes")
    assert len(data) < 200_000


def render_plan(
    key: int, start: threading.Barrier, outputs: dict[int, bytes], failures: list[BaseException]
) -> None:
    start.wait()
    try:
        outputs[key] = render_round(make_round(plan=f"巡检计划{key}号"), "pdf")
    except Exception as exc:  # noqa: BLE001 - the test asserts there were none
        failures.append(exc)


def test_reports_rendered_at_once_in_threads_each_read_right() -> None:
    # The API renders reports in worker threads, and they share the font object. Starting four
    # at once and switching threads very often makes overlapping builds near certain.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(20):
            outputs: dict[int, bytes] = {}
            failures: list[BaseException] = []
            start = threading.Barrier(4)
            threads = [
                threading.Thread(target=render_plan, args=(i, start, outputs, failures))
                for i in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
            for key, data in outputs.items():
                _, texts = pdf_text(data)
                assert f"巡检计划{key}号" in texts[0]
    finally:
        sys.setswitchinterval(interval)


def test_missing_font_is_refused_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_PACKAGE", "shugu_no_such_font_package")
    monkeypatch.setattr(fonts, "SYSTEM_PATH", Path("/nonexistent/wqy-microhei.ttc"))
    with pytest.raises(ShuguError) as caught:
        fonts.font_path()
    assert caught.value.code == "report_font_missing"
    assert "paperang-p2-fonts-cjk" in caught.value.message
    assert "fonts-wqy-microhei" in caught.value.message


def test_a_packaged_font_with_other_bytes_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "wqy-microhei.ttc"
    other.write_bytes(fonts.font_path().read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(fonts, "font_path", lambda: other)
    fonts.register_report_font.cache_clear()
    try:
        with pytest.raises(ShuguError) as caught:
            fonts.register_report_font()
    finally:
        fonts.register_report_font.cache_clear()
    assert caught.value.code == "report_font_missing"
    assert fonts.FONT_SHA256 in caught.value.message


# --- rendered where the machine has no fonts at all -------------------------------------------

_EMPTY_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><cachedir>{cache}</cachedir></fontconfig>
"""
_DPI = 144


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and pixels of a binary 8-bit PGM (what ``pdftoppm -gray`` writes)."""
    data = path.read_bytes()
    magic, width, height, depth, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and depth == b"255"
    return int(width), int(height), pixels


def dark_pixels(image: tuple[int, int, bytes], box_pt: tuple[float, float, float, float]) -> int:
    """Pixels darker than mid-grey inside ``box_pt`` (left, top, right, bottom in points)."""
    width, _, pixels = image
    left, top, right, bottom = (round(v * _DPI / 72) for v in box_pt)
    return sum(
        1 for y in range(top, bottom) for x in range(left, right) if pixels[y * width + x] < 128
    )


def test_page_renders_without_any_system_font(tmp_path: Path) -> None:
    pdftoppm = require_binary("pdftoppm", debian="poppler-utils")
    pdf = tmp_path / "round.pdf"
    pdf.write_bytes(render_round(symbol_round(), "pdf"))
    config = tmp_path / "fonts.conf"
    config.write_text(_EMPTY_FONTCONFIG.format(cache=tmp_path / "fc-cache"))
    env = {"PATH": "/usr/bin:/bin", "FONTCONFIG_FILE": str(config), "HOME": str(tmp_path)}
    fc_list = shutil.which("fc-list")
    if fc_list is not None:  # poppler finds fonts through fontconfig: it must see none
        listed = subprocess.run([fc_list], env=env, capture_output=True, text=True, check=False)
        assert listed.stdout.strip() == ""

    page = tmp_path / "page"
    command = [pdftoppm, "-gray", "-r", str(_DPI), "-f", "1", "-l", "1", "-singlefile"]
    done = subprocess.run(
        [*command, str(pdf), str(page)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # Poppler names each font it cannot find or glyph collection it lacks on stderr.
    assert done.stderr.strip() == ""
    image = read_pgm(page.with_suffix(".pgm"))
    # The title 巡检报告 (17 pt) stands top left in the frame; without its font it stays white.
    title = dark_pixels(image, (45, 45, 120, 75))
    assert title > 200, title
    # The left margin beside it is white: the count above is the title, not a grey page.
    assert dark_pixels(image, (0, 45, 40, 75)) == 0
