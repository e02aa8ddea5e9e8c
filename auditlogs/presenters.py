"""What a row of the log shows about its project, decided for a whole page in one query."""

from dataclasses import dataclass

from auditlogs.access import LogViewer
from auditlogs.models import AuditEvent
from projects.models import Project


@dataclass(frozen=True)
class ProjectCell:
    project: Project | None = None  # a live project the viewer may open
    url: str = ""  # the live project's page
    not_found: bool = False
    remembered_name: str = ""  # shown beside "Project not found" where the viewer may know it


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    project: ProjectCell


def present(events: list[AuditEvent], viewer: LogViewer) -> list[EventRow]:
    ids = {e.project_id for e in events if e.project_id is not None}
    live = {
        p.id: p
        for p in Project.objects.filter(organization_id=viewer.organization.pk, id__in=ids)
        .select_related("organization")
        .only("id", "name", "slug", "organization__slug")
    }
    cells: dict[tuple, ProjectCell] = {}  # rows of one project share one cell (and one URL)
    rows = []
    for event in events:
        key = (event.project_id, event.project_name)
        if key not in cells:
            cells[key] = project_cell(event, viewer, live)
        rows.append(EventRow(event, cells[key]))
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
