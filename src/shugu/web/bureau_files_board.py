"""The cultivation tiers' board (梯度培育) and the enterprise-file imports in the console.

The board shows, per tier, who holds it, who qualifies and who is close (with what is missing),
beside the criteria in force and their version; the bureau saves new criteria as YAML or JSON
text (a new version, never an edit in place). The import page hands out the XLSX templates and
takes a filled one back, showing every bad row by number and reason. Both call the services the
API calls (``region/files/service.py``, ``region/files/imports.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Final

import yaml
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import NotFoundError, ValidationError
from shugu.region.files import imports
from shugu.region.files.service import EnterpriseFiles, FileFilters, FileRow, require_bureau
from shugu.region.files.tiers import TierCriteria, TierDef, TierStanding, tier_defs
from shugu.region.sheets import ImportReport, SheetSpec
from shugu.web.bureau_files_text import STANDING_LABELS, FileText
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

#: An uploaded workbook larger than this is refused before it is opened (as the API's import).
MAX_UPLOAD_BYTES: Final = 5 * 1024 * 1024
#: The standings the board lists by name (the far are only counted).
LISTED: Final = ("held", "qualifies", "close")


def _files(user: PageUser) -> EnterpriseFiles:
    return user.services.region.files


def _lang(user: PageUser) -> str:
    return "zh" if user.tr.lang.startswith("zh") else "en"


def criteria_text(criteria: object) -> str:
    """Criteria as the bureau edits them: YAML, in the order written, Chinese kept readable."""
    return yaml.safe_dump(
        criteria, allow_unicode=True, sort_keys=False, default_flow_style=None, width=90
    )


# -- the tiers board -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierColumn:
    tier: TierDef
    criteria: TierCriteria
    counts: dict[str, int]
    #: Standing → the enterprises in it, each with its standing (for the shortfalls).
    listed: dict[str, list[tuple[FileRow, TierStanding]]]


def tier_columns(rows: list[FileRow], in_force: dict[str, TierCriteria]) -> list[TierColumn]:
    out: list[TierColumn] = []
    for i, d in enumerate(tier_defs()):
        counts = {"held": 0, "qualifies": 0, "close": 0, "far": 0}
        listed: dict[str, list[tuple[FileRow, TierStanding]]] = {s: [] for s in LISTED}
        for row in rows:
            standing = row.standings[i]
            counts[standing.standing] += 1
            if standing.standing in listed:
                listed[standing.standing].append((row, standing))
        out.append(TierColumn(d, in_force[d.key], counts, listed))
    return out


@dataclass
class TierForm:
    tier: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _board(
    request: Request,
    user: PageUser,
    park: int | None,
    form: TierForm | None = None,
    status: int = 200,
) -> Response:
    files = _files(user)
    rows = files.rows(user.access, FileFilters(park_id=park))
    parks = {
        p.id: p.name for p in user.services.registry.list_parks() if user.access.can_see_park(p.id)
    }
    context = {
        "text": FileText(_lang(user)),
        "columns": tier_columns(rows, files.criteria_in_force()),
        "criteria_text": criteria_text,
        "standing_labels": STANDING_LABELS,
        "listed": LISTED,
        "parks": parks,
        "park": park,
        "enterprises": len(rows),
        "is_bureau": user.access.is_bureau(),
        "form": form or TierForm(),
        "today": date.today().isoformat(),
    }
    return render(request, user, "bureau/files/tiers.html", context, status_code=status)


@router.get("/bureau/tiers")
def tiers_page(
    request: Request,
    user: PageUserDep,
    park: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    return _board(request, user, park)


def parse_criteria(text: str) -> object:
    """Criteria typed as YAML or JSON (JSON is YAML); the condition itself the service checks."""
    if not text.strip():
        raise ValidationError(
            "criteria: none given", code="tier_criteria_unreadable", field="criteria"
        )
    try:
        loaded = yaml.safe_load(text)
        # As the API would receive it: YAML's dates as ISO text, nothing JSON cannot hold.
        return json.loads(json.dumps(loaded, default=str, allow_nan=False))
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        # ValueError: a timestamp YAML recognises but no calendar has (0000-00-00), or NaN.
        raise ValidationError(
            f"criteria: not readable as YAML or JSON ({exc})",
            code="tier_criteria_unreadable",
            field="criteria",
        ) from None


@router.post("/bureau/tiers/{tier}")
def tier_form(
    request: Request,
    tier: str,
    user: PageUserDep,
    criteria: Annotated[str, Form(max_length=20_000)] = "",
    effective_from: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A new version of ``tier``'s criteria, in force from ``effective_from``."""
    require_bureau(user.access)
    typed = {"criteria": criteria, "effective_from": effective_from, "note": note}
    try:
        try:
            day = date.fromisoformat(effective_from.strip())
        except ValueError:
            raise ValidationError(
                "effective_from: a date as YYYY-MM-DD",
                code="file_date_invalid",
                field="effective_from",
            ) from None
        _files(user).save_tier(user.access, tier, parse_criteria(criteria), day, note.strip())
    except ValidationError as exc:
        # The condition's own faults name a part of it ("criteria.all[1].op"): the text box.
        name = str(exc.details.get("field") or "")
        key = "criteria" if name.startswith("criteria") else name if name in typed else ""
        message = user.tr.error(exc.code, exc.message)
        form = TierForm(tier, typed, {key: message})
        return _board(request, user, None, form, exc.http_status)
    return RedirectResponse(f"/bureau/tiers#tier-{tier}", status_code=303)


# -- imports -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    kind: str
    report: ImportReport


def _imports(
    request: Request,
    user: PageUser,
    result: ImportResult | None = None,
    notice: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    require_bureau(user.access)
    lang = _lang(user)

    def spec_header(spec: SheetSpec, key: str) -> str:
        """A reported column by its header in the user's language; "—" for the whole row."""
        try:
            return spec.column(key).header("zh" if lang == "zh" else "en")
        except KeyError:
            return key or "—"

    context = {
        "spec_header": spec_header,
        "text": FileText(lang),
        "kinds": imports.KINDS,
        "specs": imports.SPECS,
        "sheet_lang": lang,
        "result": result,
        "notice": notice,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, user, "bureau/files/imports.html", context, status_code=status)


@router.get("/bureau/imports")
def imports_page(request: Request, user: PageUserDep) -> Response:
    return _imports(request, user)


@router.post("/bureau/imports/{kind}")
def import_form(
    request: Request,
    kind: str,
    user: PageUserDep,
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """An uploaded workbook imported: good rows kept, each bad row reported by its number."""
    require_bureau(user.access)
    if kind not in imports.KINDS:
        raise NotFoundError("no such import", code="not_found")
    checked = imports.KINDS[imports.KINDS.index(kind)]
    try:
        data = upload.file.read(MAX_UPLOAD_BYTES + 1) if upload is not None else b""
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValidationError(
                f"an upload has at most {MAX_UPLOAD_BYTES} bytes", code="files_upload_too_large"
            )
        report = imports.import_sheet(
            user.services.region.registry, checked, data, user.principal.username
        )
    except ValidationError as exc:
        notice = (checked, user.tr.error(exc.code, exc.message))
        return _imports(request, user, notice=notice, status=exc.http_status)
    return _imports(request, user, ImportResult(checked, report))
