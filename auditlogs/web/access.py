"""Who may read which part of an organization's log: the one place for that rule.

Owners and admins read the whole log; members read the events of their assigned projects
only; support staff read a whole log while their stated-reason access lasts; anyone else
gets 404, exactly as for an organization that does not exist.
"""

from dataclasses import dataclass
from functools import cached_property

from django.db import connection
from django.http import Http404

from auditlogs.models import AuditEvent, SupportAccess
from auditlogs.recording.context import Actor, ActorType
from orgs import times
from orgs.models import Membership, Organization
from orgs.tenancy import membership_for, request_membership
from projects.models import Project


@dataclass(frozen=True)
class LogViewer:
    organization: Organization
    user: object
    membership: Membership | None
    support_access: SupportAccess | None
    # None means the whole organization; otherwise the project ids this viewer may see.
    project_ids: frozenset[int] | None

    @property
    def sees_whole_organization(self) -> bool:
        return self.project_ids is None

    @property
    def is_support(self) -> bool:
        return self.support_access is not None

    @property
    def actor(self) -> Actor:
        """Who the viewer's own actions (exports, downloads) are recorded as: support staff
        as `staff`, everyone else as themselves."""
        return Actor.for_user(self.user, ActorType.STAFF if self.is_support else ActorType.USER)

    @property
    def timezone_name(self) -> str:
        return times.zone_name(self.user, self.organization)

    @property
    def tzinfo(self):
        return times.zone(self.timezone_name)

    def events(self):
        """The events this viewer may read (`_scope_sql` says the same in SQL)."""
        events = AuditEvent.objects.filter(organization_id=self.organization.pk)
        if self.project_ids is not None:
            events = events.filter(project_id__in=self.project_ids)
        return events

    def projects(self):
        """The existing projects this viewer may see and filter by (`_scope_sql` says the
        same in SQL)."""
        projects = Project.objects.filter(organization_id=self.organization.pk)
        if self.project_ids is not None:
            projects = projects.filter(id__in=self.project_ids)
        return projects

    @cached_property
    def visible_projects(self) -> dict[int, Project]:
        """`projects()` by id, read once per request: the Project filter's choices and the
        rows' project cells both come from it."""
        scope, params = self._scope_sql(project_column="id")
        if scope is None:
            return {}
        columns = _PROJECT_COLUMNS
        with connection.cursor() as cursor:  # plain SQL: the ORM costs more compiling it
            cursor.execute(f"SELECT {', '.join(columns)} FROM {Project._meta.db_table} "
                           f"WHERE {scope} ORDER BY name, id", params)
            found = cursor.fetchall()
        projects = {}
        for row in found:
            project = Project.from_db(connection.alias, columns, row)
            project.organization = self.organization  # for its URL: no join to read it again
            projects[project.id] = project
        return projects

    @cached_property
    def deleted_projects(self) -> dict[int, str]:
        """Deleted projects by id, with their last name, for a viewer who may know them (who
        sees the whole organization): read from the `project.deleted` events (an index leads
        with the organization and the action)."""
        if not self.sees_whole_organization:
            return {}
        with connection.cursor() as cursor:
            cursor.execute(_DELETIONS_SQL, [self.organization.pk])
            deletions = cursor.fetchall()
        found: dict[int, str] = {}
        for project_id, name in deletions:
            if project_id is not None and project_id not in self.visible_projects:
                found.setdefault(project_id, name)
        return found

    def recent_actors(self, scan: int = 300, limit: int = 20) -> list[str]:
        """Who acted lately, for the Actor filter's suggestions: the distinct actors of the
        newest `scan` events the viewer may read (newest first from the organization's index;
        plain SQL, which costs less than the ORM compiling it)."""
        scope, params = self._scope_sql()
        if scope is None:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT actor_label FROM {AuditEvent._meta.db_table} WHERE {scope} "
                "ORDER BY occurred_at DESC, id DESC LIMIT %s",
                [*params, scan],
            )
            labels = [label for (label,) in cursor.fetchall() if label]
        return list(dict.fromkeys(labels))[:limit]

    def _scope_sql(self, project_column: str = "project_id") -> tuple[str | None, list]:
        """`events()`'s condition as SQL and its parameters (`projects()`'s with
        project_column="id"), for plain SQL (None: the viewer may read none of them)."""
        if self.project_ids is None:
            return "organization_id = %s", [self.organization.pk]
        if not self.project_ids:
            return None, []
        ids = sorted(self.project_ids)
        placeholders = ", ".join(["%s"] * len(ids))
        return (f"organization_id = %s AND {project_column} IN ({placeholders})",
                [self.organization.pk, *ids])

    def may_see_project(self, project_id: int) -> bool:
        return self.project_ids is None or project_id in self.project_ids


# What the page reads of a project, in the model's order (Model.from_db() takes them so).
_PROJECT_COLUMNS = [field.attname for field in Project._meta.concrete_fields
                    if field.attname in ("id", "organization_id", "name", "slug")]

# The newest 500 `project.deleted` events of an organization (its (organization, action,
# time) index), newest first: plain SQL, which costs less than the ORM compiling it.
_DELETIONS_SQL = f"""
SELECT project_id, project_name FROM {AuditEvent._meta.db_table}
WHERE organization_id = %s AND action = 'project.deleted'
ORDER BY occurred_at DESC, id DESC LIMIT 500
"""


def log_viewer_for(user, org_slug: str, request=None) -> LogViewer:
    """The viewer of an organization's log, or 404 (auditlogs/web/viewing.py adds the plan gate).
    With the `request` of `user`, the memberships it has read already are used."""
    if not user.is_authenticated:
        raise Http404
    viewer = _as_member(user, org_slug, request) or _as_support(user, org_slug)
    if viewer is None:
        raise Http404("No such organization.")
    return viewer


def _as_member(user, org_slug: str, request=None) -> LogViewer | None:
    try:
        if request is None:
            membership = membership_for(user, org_slug)
        else:
            membership = request_membership(request, org_slug)
    except Http404:
        return None
    project_ids = None
    if not membership.sees_whole_organization:
        project_ids = frozenset(Project.objects.visible_to(membership).values_list("id", flat=True))
    return LogViewer(membership.organization, user, membership, None, project_ids)


def _as_support(user, org_slug: str) -> LogViewer | None:
    if not (user.is_staff and user.is_active):
        return None
    access = SupportAccess.objects.open_to(user, org_slug).first()
    if access is None:
        return None
    return LogViewer(access.organization, user, None, access, None)
