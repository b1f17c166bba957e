"""Enterprise appeals' service (企业诉求), which the API's routes and the console's pages call.

An enterprise's administrators file its appeals and, once answered, confirm them closed with a
rating; its people read them. The bureau assigns an appeal to a department, records the
department's answers and may close it. A park official reads its park's appeals. The platform
operator keeps none. An appeal the caller may not see answers "no such appeal".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from shugu.domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from shugu.domain.tenancy import Access, Role
from shugu.region.appeals.catalogue import AppealCatalogue, appeal_catalogue
from shugu.region.appeals.figures import AppealFigures, appeal_figures
from shugu.store.registry import Registry
from shugu.store.registry.core import missing
from shugu.store.registry.models_projects import APPEAL_CATEGORIES, APPEAL_STATES
from shugu.store.registry.region_appeals import AppealRecord, AppealStep

MAX_TEXT = 4000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AppealView:
    appeal: AppealRecord
    may_assign: bool
    may_answer: bool
    may_close: bool
    may_confirm: bool


def _text(raw: object, field: str, *, required: bool, limit: int) -> str:
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise ValidationError(f"{field} must be text", code="appeal_text_invalid", field=field)
    out = raw.strip()
    if not _readable(out):
        raise ValidationError(
            f"{field} holds characters that are not text", code="appeal_text_invalid", field=field
        )
    if required and not out:
        raise ValidationError(f"{field} is required", code="appeal_text_required", field=field)
    if len(out) > limit:
        raise ValidationError(
            f"{field} has at most {limit} characters", code="appeal_text_too_long", field=field
        )
    return out


def _readable(text: str) -> bool:
    """Text a database keeps: no lone surrogates (a JSON body can escape one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _rating(raw: object) -> int:
    if isinstance(raw, str) and raw.strip() in ("1", "2", "3", "4", "5"):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 5:
        raise ValidationError(
            "the rating is a whole number from 1 to 5", code="appeal_rating_invalid", field="rating"
        )
    return raw


@dataclass
class AppealService:
    registry: Registry
    now: Callable[[], datetime] = utc_now
    vocabulary: AppealCatalogue | None = None

    @property
    def catalogue(self) -> AppealCatalogue:
        return self.vocabulary or appeal_catalogue()

    # -- who -------------------------------------------------------------------------------

    @staticmethod
    def _scope(access: Access) -> tuple[int | None, int | None]:
        """(park, enterprise) the caller's appeals are narrowed to; both None: all."""
        if access.is_bureau():
            return None, None
        if access.role is Role.PARK_OFFICIAL and access.principal.park_id is not None:
            return access.principal.park_id, None
        if access.role.bound_to_enterprise and access.principal.enterprise_id is not None:
            return None, access.principal.enterprise_id
        raise ForbiddenError(
            "appeals are between the enterprises and the bureau", code="appeals_forbidden"
        )

    def _visible(self, access: Access, appeal_id: int) -> AppealRecord:
        park, enterprise = self._scope(access)
        appeal = self.registry.get_appeal(appeal_id)
        if (park is not None and appeal.park_id != park) or (
            enterprise is not None and appeal.enterprise_id != enterprise
        ):
            raise missing("appeal")
        return appeal

    @staticmethod
    def _bureau(access: Access) -> None:
        if not access.is_bureau():
            raise ForbiddenError(
                "the bureau assigns, answers and closes appeals", code="appeals_bureau_only"
            )

    def view(self, access: Access, appeal: AppealRecord) -> AppealView:
        open_ = appeal.status != "closed"
        bureau = access.is_bureau()
        return AppealView(
            appeal=appeal,
            may_assign=bureau and open_,
            may_answer=bureau and open_ and appeal.department is not None,
            may_close=bureau and open_,
            may_confirm=access.can_file_for(appeal.enterprise_id) and appeal.status == "answered",
        )

    # -- reading ---------------------------------------------------------------------------

    def appeals(
        self,
        access: Access,
        *,
        status: str | None = None,
        category: str | None = None,
        department: str | None = None,
    ) -> list[AppealRecord]:
        """The caller's appeals, newest first, narrowed by state, category and department."""
        park, enterprise = self._scope(access)
        found = self.registry.list_appeals(park_id=park, enterprise_id=enterprise)
        if status in APPEAL_STATES:
            found = [a for a in found if a.status == status]
        elif status == "unclosed":
            found = [a for a in found if a.status != "closed"]
        if category:
            found = [a for a in found if a.category == category]
        if department:
            found = [a for a in found if a.department == department]
        return found

    def get(self, access: Access, appeal_id: int) -> AppealView:
        return self.view(access, self._visible(access, appeal_id))

    def figures(self, access: Access) -> AppealFigures:
        """Time to first answer and to close, open and overdue counts, ratings: the bureau's
        over the district, a park official's over its park."""
        park, enterprise = self._scope(access)
        if enterprise is not None:
            raise ForbiddenError(
                "appeal figures are the bureau's and the parks'", code="appeals_figures_forbidden"
            )
        return appeal_figures(self.registry.list_appeals(park_id=park), self.catalogue, self.now())

    # -- steps -----------------------------------------------------------------------------

    def file(self, access: Access, enterprise_id: int, raw: Mapping[str, object]) -> AppealRecord:
        if not access.can_see_enterprise(enterprise_id):
            raise NotFoundError("no such enterprise", code="not_found")
        if not access.can_file_for(enterprise_id):
            raise ForbiddenError(
                "an enterprise's administrators file its appeals", code="appeals_file_forbidden"
            )
        category = raw.get("category")
        if not isinstance(category, str) or category not in APPEAL_CATEGORIES:
            raise ValidationError(
                f"category is one of {', '.join(APPEAL_CATEGORIES)}",
                code="appeal_category_invalid",
                field="category",
            )
        title = _text(raw.get("title"), "title", required=True, limit=200)
        body = _text(raw.get("text"), "text", required=True, limit=MAX_TEXT)
        return self.registry.add_appeal(
            enterprise_id, category, title, body, access.principal.username, self.now()
        )

    def raise_for_project(self, access: Access, enterprise_id: int, title: str, text: str) -> int:
        """A project's blocking problems raised as its owner's appeal (category "other" until the
        bureau sorts it)."""
        record = self.file(
            access, enterprise_id, {"category": "other", "title": title[:200], "text": text}
        )
        return record.id

    def _open(self, access: Access, appeal_id: int) -> AppealRecord:
        appeal = self._visible(access, appeal_id)
        self._bureau(access)
        if appeal.status == "closed":
            raise ConflictError("the appeal is closed", code="appeal_closed")
        return appeal

    def assign(
        self, access: Access, appeal_id: int, department: object, note: object = ""
    ) -> AppealView:
        self._open(access, appeal_id)
        if not isinstance(department, str) or self.catalogue.department(department) is None:
            raise ValidationError(
                "no such department", code="appeal_department_unknown", field="department"
            )
        step = AppealStep(
            "assigned",
            access.principal.username,
            self.now(),
            _text(note, "note", required=False, limit=MAX_TEXT),
            department,
        )
        return self.view(access, self.registry.add_appeal_step(appeal_id, step))

    def answer(self, access: Access, appeal_id: int, text: object) -> AppealView:
        """The assigned department's answer, as the bureau records it."""
        appeal = self._open(access, appeal_id)
        if appeal.department is None:
            raise ConflictError(
                "assign the appeal to a department first", code="appeal_not_assigned"
            )
        step = AppealStep(
            "answered",
            access.principal.username,
            self.now(),
            _text(text, "text", required=True, limit=MAX_TEXT),
            appeal.department,
        )
        return self.view(access, self.registry.add_appeal_step(appeal_id, step))

    def close(self, access: Access, appeal_id: int, note: object = "") -> AppealView:
        appeal = self._open(access, appeal_id)
        step = AppealStep(
            "closed",
            access.principal.username,
            self.now(),
            _text(note, "note", required=False, limit=MAX_TEXT),
            appeal.department,
        )
        return self.view(access, self.registry.add_appeal_step(appeal_id, step))

    def confirm(
        self, access: Access, appeal_id: int, rating: object, comment: object = ""
    ) -> AppealView:
        """The enterprise confirms the answer settled it and rates it (1–5)."""
        appeal = self._visible(access, appeal_id)
        if not access.can_file_for(appeal.enterprise_id):
            raise ForbiddenError(
                "the enterprise's administrators confirm its appeals closed",
                code="appeals_file_forbidden",
            )
        if appeal.status != "answered":
            raise ConflictError(
                "an appeal is confirmed once it has been answered and before it is closed",
                code="appeal_not_answered",
            )
        step = AppealStep(
            "confirmed",
            access.principal.username,
            self.now(),
            _text(comment, "comment", required=False, limit=MAX_TEXT),
            appeal.department,
            _rating(rating),
        )
        return self.view(access, self.registry.add_appeal_step(appeal_id, step))
