"""What a row of the log shows, decided for a whole page at once: one query for the projects,
one URL pattern for the Info links, and every text a row prints prepared here, so the template
only places strings (50 rows render in a few milliseconds; see docs/scale.md)."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from auditlogs.models import AuditEvent
from auditlogs.recording.chain import format_time
from auditlogs.web.access import LogViewer
from projects.models import Project

_ID_SLOT = "918273645"  # stands for an event id while a URL pattern is reversed once


@dataclass(frozen=True)
class ProjectCell:
    project: Project | None = None  # a live project the viewer may open
    url: str = ""  # the live project's page
    not_found: bool = False
    remembered_name: str = ""  # shown beside "Project not found" where the viewer may know it

    @cached_property
    def html(self) -> str:
        """The cell as HTML; rows of one project share one cell, so it is built once."""
        if self.project is not None:
            return format_html('<a href="{}">{}</a>', self.url, self.project.name)
        if self.not_found:
            if self.remembered_name:
                return format_html(
                    '<span class="not-found">Project not found</span> '
                    '<span class="muted">(was “{}”)</span>',
                    self.remembered_name,
                )
            return mark_safe('<span class="not-found">Project not found</span>')
        return mark_safe('<span class="muted" aria-label="No project">—</span>')


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    project: ProjectCell
    event_id: str  # for element ids: a string prints as is, a number would be localized
    info_url: str
    occurred_utc: str  # the exact instant, for <time datetime>
    occurred_local: str  # "27 Nov 2026, 14:05" in the viewer's time zone


def event_url_maker(name: str, *args) -> Callable[[int], str]:
    """The URL named `name` for any event id, reversed once for a whole page, not once a row."""
    head, _, tail = reverse(name, args=[*args, _ID_SLOT]).rpartition(_ID_SLOT)
    return lambda event_id: f"{head}{event_id}{tail}"


def present(events: list[AuditEvent], viewer: LogViewer) -> list[EventRow]:
    # A project the viewer may not see shows like a deleted one, so the visible ones suffice.
    live = viewer.visible_projects
    info_url = event_url_maker("audit_event", viewer.organization.slug)
    tzinfo = viewer.tzinfo
    cells: dict[tuple, ProjectCell] = {}
    rows = []
    for event in events:
        key = (event.project_id, event.project_name)
        if key not in cells:
            cells[key] = project_cell(event, viewer, live)
        local = event.occurred_at.astimezone(tzinfo)
        rows.append(
            EventRow(
                event,
                cells[key],
                event_id=str(event.id),
                info_url=info_url(event.id),
                occurred_utc=format_time(event.occurred_at),
                occurred_local=f"{local.day} {local:%b %Y, %H:%M}",
            )
        )
    return rows


def project_cell(event: AuditEvent, viewer: LogViewer, live: dict[int, Project]) -> ProjectCell:
    if event.project_id is None:
        return ProjectCell()
    project = live.get(event.project_id)
    if project is not None and viewer.may_see_project(project.id):
        return ProjectCell(project=project, url=project.get_absolute_url())
    # Deleted, or outside this viewer's access: the old name only for those who may know it.
    knows_name = viewer.may_see_project(event.project_id)
    return ProjectCell(not_found=True, remembered_name=event.project_name if knows_name else "")
