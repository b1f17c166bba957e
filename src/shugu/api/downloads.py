"""A file to download: the bytes with their media type and a file name any browser keeps.

The name goes in RFC 6266's ``filename*=UTF-8''…`` form, so a Chinese or spaced name survives
every browser and ``curl -OJ`` alike, and no caller builds the header by hand.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from fastapi.responses import Response

from shugu.analytics.kpi_export import XLSX_MEDIA_TYPE

PDF_MEDIA_TYPE: Final = "application/pdf"

__all__ = ["PDF_MEDIA_TYPE", "WORKBOOK_RESPONSES", "XLSX_MEDIA_TYPE", "download"]

#: The 200 answer of a route that always answers with a workbook.
WORKBOOK_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "an XLSX workbook with a file name",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def download(data: bytes, filename: str, media_type: str = XLSX_MEDIA_TYPE) -> Response:
    """``data`` as an attachment named ``filename`` (with its extension)."""
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
