"""Who sees and does what in the project library: the bureau everything; a park official its
park's projects (recording and editing them, filing progress of owners without an account); an
enterprise's people their own projects, its administrators filing their progress. The platform
operator runs the platform and keeps no projects: refused outright. A project the caller may not
see answers "no such project", as one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from shugu.domain.errors import ForbiddenError
from shugu.domain.tenancy import Access, Role
from shugu.store.registry.core import missing
from shugu.store.registry.region_projects import ProjectRecord


@dataclass(frozen=True, slots=True)
class Scope:
    """The projects a caller lists: every one (both None), a park's or an enterprise's."""

    park_id: int | None = None
    enterprise_id: int | None = None


def scope_of(access: Access) -> Scope:
    if access.is_bureau():
        return Scope()
    if access.role is Role.PARK_OFFICIAL and access.principal.park_id is not None:
        return Scope(park_id=access.principal.park_id)
    if access.role.bound_to_enterprise and access.principal.enterprise_id is not None:
        return Scope(enterprise_id=access.principal.enterprise_id)
    raise ForbiddenError(
        "the project library is kept by the bureau, the parks and the enterprises",
        code="projects_forbidden",
    )


def sees(access: Access, project: ProjectRecord) -> bool:
    scope = scope_of(access)
    if scope.park_id is not None:
        return project.park_id == scope.park_id
    if scope.enterprise_id is not None:
        return project.enterprise_id == scope.enterprise_id
    return True


def require_visible(access: Access, project: ProjectRecord) -> None:
    if not sees(access, project):
        raise missing("project")


def may_edit_in(access: Access, park_id: int) -> bool:
    """Record and edit a park's projects: the bureau, and the park's official."""
    return access.is_bureau() or access.can_review_park(park_id)


def may_edit(access: Access, project: ProjectRecord) -> bool:
    return may_edit_in(access, project.park_id)


def may_file(access: Access, project: ProjectRecord) -> bool:
    """File a month's progress: the owner's administrators; for an owner without an account on
    the platform, the bureau or the park."""
    if project.enterprise_id is not None:
        return access.can_file_for(project.enterprise_id)
    return may_edit(access, project)


def require_edit(access: Access, park_id: int) -> None:
    if not may_edit_in(access, park_id):
        raise ForbiddenError(
            "projects are recorded by the bureau and by the park's official",
            code="projects_edit_forbidden",
        )


def require_file(access: Access, project: ProjectRecord) -> None:
    require_visible(access, project)
    if not may_file(access, project):
        raise ForbiddenError(
            "a project's progress is filed by its owner's administrators, or by the bureau or "
            "the park for an owner without an account",
            code="projects_file_forbidden",
        )
