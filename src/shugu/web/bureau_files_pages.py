"""Enterprise files (一企一档) in the console: the district's table of files with its filters and
export, and one enterprise's file (registry fields, yearly figures, certifications, tags, every
tier's standing with what is missing, and what the platform measures), with the bureau's and the
enterprise's forms. The tiers board and the import page are in ``bureau_files_board.py``.

The pages call the same service as ``/api/enterprises/{id}/file`` and
``/api/region/enterprise-files`` (``region/files/service.py``), which decides who may read and
change what: the bureau edits a file, an enterprise's administrators and the bureau file its
yearly figures, park officials read the files of their park.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from shugu.domain.errors import ValidationError
from shugu.domain.tenancy import Role
from shugu.region.files.imports import PARTICULAR_SHEET
from shugu.region.files.particulars import PARTICULARS
from shugu.region.files.service import EnterpriseFiles, FileFilters, FileView
from shugu.region.files.tags import load_tags
from shugu.region.files.tiers import tier_defs
from shugu.store.registry.models_files import CERTIFICATION_KINDS
from shugu.store.registry.region_files import YEAR_FIGURES
from shugu.web.bureau_files_text import (
    MEASURED_FACTS,
    SIZE_LABELS,
    STANDING_LABELS,
    FileText,
    nbs_choices,
)
from shugu.web.session import PageUser, PageUserDep
from shugu.web.templating import render

router = APIRouter(include_in_schema=False)

#: Rows of the district's table on one page.
PAGE_SIZE: Final = 50
#: The standings a tier filter keeps, by the filter's choice ("" keeps qualifies and close).
STANDING_CHOICES: Final = {
    "": frozenset({"qualifies", "close"}),
    "held": frozenset({"held"}),
    "qualifies": frozenset({"qualifies"}),
    "close": frozenset({"close"}),
    "far": frozenset({"far"}),
}


def _files(user: PageUser) -> EnterpriseFiles:
    return user.services.region.files


def _parks(user: PageUser) -> dict[int, str]:
    return {
        p.id: p.name for p in user.services.registry.list_parks() if user.access.can_see_park(p.id)
    }


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


# -- the district's table ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list's filters as typed in the address (strings: a page shows bad input back)."""

    park: str = ""
    industry: str = ""
    nbs: str = ""
    tag: str = ""
    tier: str = ""
    standing: str = ""
    key: str = ""
    size: str = ""

    def filters(self) -> FileFilters:
        park_id = int(self.park) if self.park.isascii() and self.park.isdigit() else None
        if self.park and park_id is None:
            raise ValidationError("a park's id", code="invalid", field="park")
        if self.standing not in STANDING_CHOICES:
            raise ValidationError("no such standing", code="standing_unknown", field="standing")
        return FileFilters(
            park_id=park_id if park_id is None or park_id < 2**31 else -1,
            industry=self.industry.strip() or None,
            nbs=self.nbs or None,
            tag=self.tag or None,
            tier=self.tier or None,
            standings=STANDING_CHOICES[self.standing],
            key_enterprise={"yes": True, "no": False}.get(self.key),
            size=self.size or None,
        )

    def export_url(self, lang: str) -> str:
        """The API's XLSX of the same rows."""
        params: list[tuple[str, str]] = [("format", "xlsx"), ("lang", lang)]
        for name in ("park", "industry", "nbs", "tag", "tier", "size"):
            value = getattr(self, name)
            if value:
                params.append((name, value))
        if self.tier:
            params += [("standing", s) for s in sorted(STANDING_CHOICES.get(self.standing, ()))]
        if self.key in ("yes", "no"):
            params.append(("key", "true" if self.key == "yes" else "false"))
        return "/api/region/enterprise-files?" + urlencode(params)

    def page_url(self, page: int) -> str:
        params = self._params()
        params["page"] = str(page)
        return "/bureau/files?" + urlencode(params)

    def _params(self) -> dict[str, str]:
        names = ("park", "industry", "nbs", "tag", "tier", "standing", "key", "size")
        return {name: getattr(self, name) for name in names if getattr(self, name)}


Text = Annotated[str, Query(max_length=64)]


@router.get("/bureau/files")
def files_page(
    request: Request,
    user: PageUserDep,
    park: Text = "",
    industry: Text = "",
    nbs: Text = "",
    tag: Text = "",
    tier: Text = "",
    standing: Text = "",
    key: Text = "",
    size: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The district's files (bureau: every park; a park official: its own), filtered."""
    query = ListQuery(park, industry, nbs, tag, tier, standing, key, size)
    notice, status = "", 200
    try:
        rows = _files(user).rows(user.access, query.filters())
    except ValidationError as exc:
        # A filter the service refuses (an edited address): say so above an empty table.
        notice, status, rows = user.tr.error(exc.code, exc.message), exc.http_status, []
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(page, pages)
    lang = "zh" if user.tr.lang.startswith("zh") else "en"
    context = {
        "text": FileText(lang),
        "query": query,
        "rows": rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(rows),
        "page": page,
        "pages": pages,
        "parks": _parks(user),
        "tags": load_tags(),
        "tiers": tier_defs(),
        "nbs_choices": nbs_choices(),
        "size_labels": SIZE_LABELS,
        "standing_labels": STANDING_LABELS,
        "export_url": query.export_url(lang),
        "notice": notice,
        "is_bureau": user.access.is_bureau(),
    }
    return render(request, user, "bureau/files/list.html", context, status_code=status)


# -- one enterprise's file -----------------------------------------------------------------


@dataclass
class Forms:
    """What the user typed into the file's forms, and the server's word on it."""

    #: Form name ("file", "figures", "cert-new", "cert-<id>") → field → value typed.
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Form name → field → message in the user's language.
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A message about a whole form (no field named).
    notice: str = ""


def _file_page(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    *,
    figures_year: int | None = None,
    forms: Forms | None = None,
    status: int = 200,
) -> Response:
    view: FileView = _files(user).view(user.access, enterprise_id)
    lang = "zh" if user.tr.lang.startswith("zh") else "en"
    sheet_lang: Literal["zh", "en"] = "zh" if lang == "zh" else "en"
    years = sorted((f.year for f in view.figures), reverse=True)
    shown_year = figures_year if figures_year in years else (years[0] if years else None)
    shown = next((f for f in view.figures if f.year == shown_year), None)
    context = {
        "text": FileText(lang),
        "view": view,
        "file": view.row.file,
        "facts": view.row.facts,
        "park_name": user.services.registry.get_park(view.row.file.park_id).name,
        "figures": sorted(view.figures, key=lambda f: f.year),
        "figure_names": list(YEAR_FIGURES),
        "figure_form_year": str(shown_year if shown_year else date.today().year - 1),
        "figure_form_values": shown.values if shown else {},
        "particulars": [
            (p, PARTICULAR_SHEET.column(p.name).header(sheet_lang), view.particulars.get(p.name))
            for p in PARTICULARS
        ],
        "measured_facts": MEASURED_FACTS,
        "cert_kinds": CERTIFICATION_KINDS,
        "tiers": {d.key: d for d in tier_defs()},
        "tags": {t.key: t for t in load_tags()},
        "standing_labels": STANDING_LABELS,
        "size_labels": SIZE_LABELS,
        "is_bureau": user.access.is_bureau(),
        "may_file_figures": user.access.is_bureau() or user.access.can_file_for(enterprise_id),
        "forms": forms or Forms(),
        "district_reader": user.role in (Role.BUREAU, Role.PARK_OFFICIAL),
    }
    return render(request, user, "bureau/files/file.html", context, status_code=status)


@router.get("/e/{enterprise_id}/file")
def file_page(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    figures_year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
) -> Response:
    return _file_page(request, user, enterprise_id, figures_year=figures_year)


def _refused(
    request: Request,
    user: PageUser,
    enterprise_id: int,
    form: str,
    exc: ValidationError,
    typed: dict[str, str],
) -> Response:
    """The file again with the fault beside its field, in the user's language."""
    message = user.tr.error(exc.code, exc.message)
    forms = Forms(values={form: typed})
    field_name = exc.details.get("field")
    if isinstance(field_name, str) and field_name:
        forms.errors[form] = {field_name: message}
    else:
        forms.errors[form] = {"": message}
    year = typed.get("year", "")
    return _file_page(
        request,
        user,
        enterprise_id,
        figures_year=int(year) if year.isascii() and year.isdigit() and len(year) == 4 else None,
        forms=forms,
        status=exc.http_status,
    )


def _date(text: str, name: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{name}: a date as YYYY-MM-DD", code="file_date_invalid", field=name
        ) from None


def _number(text: str) -> object:
    """A figure as typed: a number where it reads as one; the text otherwise, for the service
    to refuse with the figure's name."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


@router.post("/e/{enterprise_id}/file")
def file_form(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    industry_code: Annotated[str, Form()] = "",
    division_code: Annotated[str, Form()] = "",
    nbs_category: Annotated[str, Form()] = "",
    established_on: Annotated[str, Form()] = "",
    key_enterprise: Annotated[str, Form()] = "",
    listed: Annotated[str, Form()] = "",
) -> Response:
    """The bureau sets the file's own fields (an empty text field clears it)."""
    typed = {
        "industry_code": industry_code,
        "division_code": division_code,
        "nbs_category": nbs_category,
        "established_on": established_on,
        "key_enterprise": key_enterprise,
        "listed": listed,
    }
    try:
        changes: dict[str, object] = {
            "industry_code": industry_code.strip() or None,
            "division_code": division_code.strip() or None,
            "nbs_category": nbs_category.strip() or None,
            "established_on": _date(established_on, "established_on"),
            "key_enterprise": bool(key_enterprise),
            "listed": bool(listed),
        }
        _files(user).update_file(user.access, enterprise_id, changes)
    except ValidationError as exc:
        return _refused(request, user, enterprise_id, "file", exc, typed)
    return _see_other(f"/e/{enterprise_id}/file#registry")


def _flag(text: str) -> object:
    """A yes/no particular as chosen: empty is unknown; anything else left for the service to
    refuse with the particular's name."""
    return {"": None, "yes": True, "no": False}.get(text.strip(), text)


@router.post("/e/{enterprise_id}/file/particulars")
async def particulars_form(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """The particulars, recorded by the bureau or the enterprise's administrators; a field
    emptied clears the particular, one left as it was records nothing."""
    form = await request.form()
    typed = {p.name: value for p in PARTICULARS if isinstance(value := form.get(p.name, ""), str)}
    values = {
        p.name: _flag(typed.get(p.name, "")) if p.kind == "bool" else _number(typed.get(p.name, ""))
        for p in PARTICULARS
    }
    try:
        _files(user).record_particulars(user.access, enterprise_id, values)
    except ValidationError as exc:
        return _refused(request, user, enterprise_id, "particulars", exc, typed)
    return _see_other(f"/e/{enterprise_id}/file#particulars")


@router.post("/e/{enterprise_id}/file/figures")
async def figures_form(request: Request, enterprise_id: int, user: PageUserDep) -> Response:
    """A year's figures, filed by the bureau or the enterprise's administrators; figures left
    empty are unknown."""
    form = await request.form()
    typed = {
        name: value
        for name in ("year", *YEAR_FIGURES)
        if isinstance(value := form.get(name, ""), str)
    }
    year_text = typed.get("year", "").strip()
    try:
        if not (year_text.isascii() and year_text.isdigit() and len(year_text) <= 4):
            raise ValidationError("a year", code="figures_year_invalid", field="year")
        values = {name: _number(typed.get(name, "")) for name in YEAR_FIGURES}
        _files(user).put_year_figures(user.access, enterprise_id, int(year_text), values)
    except ValidationError as exc:
        return _refused(request, user, enterprise_id, "figures", exc, typed)
    return _see_other(f"/e/{enterprise_id}/file?figures_year={int(year_text)}#figures")


def _certification_fields(
    kind: str, granted_on: str, expires_on: str, number: str
) -> tuple[str, date, date | None, str | None]:
    granted = _date(granted_on, "granted_on")
    if granted is None:
        raise ValidationError("granted_on: a date", code="file_date_invalid", field="granted_on")
    if len(number) > 64:
        raise ValidationError("number: at most 64 characters", code="invalid", field="number")
    return kind, granted, _date(expires_on, "expires_on"), number.strip() or None


@router.post("/e/{enterprise_id}/file/certifications")
def add_certification_form(
    request: Request,
    enterprise_id: int,
    user: PageUserDep,
    kind: Annotated[str, Form()] = "",
    granted_on: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
) -> Response:
    typed = {"kind": kind, "granted_on": granted_on, "expires_on": expires_on, "number": number}
    try:
        fields = _certification_fields(kind, granted_on, expires_on, number)
        _files(user).add_certification(user.access, enterprise_id, *fields)
    except ValidationError as exc:
        return _refused(request, user, enterprise_id, "cert-new", exc, typed)
    return _see_other(f"/e/{enterprise_id}/file#certifications")


@router.post("/e/{enterprise_id}/file/certifications/{certification_id}")
def update_certification_form(
    request: Request,
    enterprise_id: int,
    certification_id: int,
    user: PageUserDep,
    kind: Annotated[str, Form()] = "",
    granted_on: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
) -> Response:
    typed = {"kind": kind, "granted_on": granted_on, "expires_on": expires_on, "number": number}
    try:
        fields = _certification_fields(kind, granted_on, expires_on, number)
        _files(user).update_certification(user.access, enterprise_id, certification_id, *fields)
    except ValidationError as exc:
        form = f"cert-{certification_id}"
        return _refused(request, user, enterprise_id, form, exc, typed)
    return _see_other(f"/e/{enterprise_id}/file#certifications")


@router.post("/e/{enterprise_id}/file/certifications/{certification_id}/delete")
def delete_certification_form(
    enterprise_id: int, certification_id: int, user: PageUserDep
) -> Response:
    _files(user).delete_certification(user.access, enterprise_id, certification_id)
    return _see_other(f"/e/{enterprise_id}/file#certifications")
