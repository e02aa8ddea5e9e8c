"""What a row of the log shows, decided for a whole page at once: one query for the projects,
one URL pattern for the Info links, and every text a row prints prepared here, so the template
only places strings (50 rows render in a few milliseconds; see docs/scale.md).

A row reads as a sentence ("admin@acme.test deleted chatbot “Draft bot” in Internal Tools"):
the catalogue declares each event type's sentence, filled here with the names stored in the
event. Its actor, target and project, and the row's event type, are links that add that
filter to the current view of the log.
"""

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from html import escape as _escape
from typing import NamedTuple
from urllib.parse import quote_plus

import ua_parser
from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from auditlogs.models import AuditEvent
from auditlogs.recording.catalogue import event_type
from auditlogs.recording.chain import format_time
from auditlogs.web import query_language
from auditlogs.web.access import LogViewer
from integrations.serializers import FIELDS, event_dict  # the API's and exports' JSON shape
from orgs import times

_ID_SLOT = "918273645"  # stands for an event id while a URL pattern is reversed once
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
NOT_FOUND = "Project not found"


@dataclass(frozen=True)
class ProjectCell:
    """An event's project as this viewer may know it."""

    project_id: int | None = None
    name: str = ""  # the name stored in the event
    live: bool = False  # the project exists and the viewer may see it
    known: bool = False  # the viewer may know the project (its name, that it was deleted)
    url: str = ""  # the project's own page, for a live one

    @property
    def not_found(self) -> bool:
        return self.project_id is not None and not self.known

    @property
    def deleted(self) -> bool:
        return self.known and not self.live

    @property
    def text(self) -> str:
        if self.not_found:
            return NOT_FOUND
        return f"{self.name} (deleted)" if self.deleted else self.name

    def html(self, filter_url: str = "") -> SafeString:
        if self.project_id is None:
            return mark_safe('<span class="muted" aria-label="No project">—</span>')
        if self.not_found:
            return format_html('<span class="not-found">{}</span>', NOT_FOUND)
        css = "filter-link deleted" if self.deleted else "filter-link"
        if filter_url:
            return format_html(
                '<a class="{}" href="{}" title="Show only this project\'s events">{}</a>',
                css, filter_url, self.text,
            )
        return format_html('<span class="{}">{}</span>', css, self.text)


class FilterLinks:
    """Links to the log with one more filter than the current view. A page makes about a
    hundred of them, so each is the current query string (encoded once per parameter it
    replaces) plus one encoded pair."""

    def __init__(self, log_url: str, query: QueryDict):
        self.log_url = log_url
        self.query = query.copy()
        for name in ("cursor", "view"):
            self.query.pop(name, None)
        self._without: dict[str, str] = {}
        self._made: dict[tuple, str] = {}  # rows repeat actors, event types and projects

    def with_param(self, name: str, value) -> str:
        value = str(value)
        made = self._made.get((name, value))
        if made is not None:
            return made
        if name not in self._without:
            rest = self.query.copy()
            rest.pop(name, None)
            self._without[name] = rest.urlencode()
        rest = self._without[name]
        pair = f"{name}={quote_plus(value)}"
        made = f"{self.log_url}?{rest}&{pair}" if rest else f"{self.log_url}?{pair}"
        self._made[(name, value)] = made
        return made

    def with_term(self, key: str, value: str) -> str:
        """The search box's query with `key:"value"` added (the query language)."""
        term = query_language.term(key, value)
        current = (self.query.get("q") or "").strip()
        if term in current:
            return self.with_param("q", current)
        return self.with_param("q", f"{current} {term}".strip())


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    project: ProjectCell
    sentence: SafeString
    event_id: str  # for element ids: a string prints as is, a number would be localized
    info_url: str
    action_url: str  # the log with this event type as a filter
    occurred_utc: str  # the exact instant, for <time datetime>
    occurred_exact: str  # "27 Nov 2026, 14:05:09 CET" in the viewer's zone
    occurred_relative: str  # "3 min ago"

    @cached_property
    def label(self) -> str:
        return self.event.label

    @cached_property
    def html(self) -> SafeString:
        """The row of the log's list (log.html places it): built here with plain string
        formatting, a page of rows in a fraction of what fifty template includes cost."""
        return row_html(self)


def row_html(row: EventRow) -> SafeString:
    """One row of the list: its cells in the order of event_columns.html's headers."""
    severity = row.event.severity_enum
    key, severity_label = severity.key, _escape(severity.label)
    event_id, label = _escape(row.event_id), _escape(row.label)
    exact = _escape(row.occurred_exact)
    return SafeString(  # mark_safe() of a str, without its check for lazy strings
        f'<div class="event severity-{key}" id="event-{event_id}" role="row">\n'
        '  <div class="event-line">\n'
        f'    <span class="event-severity" role="cell"><span class="badge badge-{key}">'
        f'{severity_label}</span></span>\n'
        f'    <span class="event-sentence" role="cell">{row.sentence}</span>\n'
        f'    <span class="event-type" role="cell"><a class="event-name filter-link" '
        f'href="{_escape(row.action_url)}" title="Show only “{label}” events">{label}</a></span>\n'
        f'    <span class="event-when" role="cell"><time class="event-time" '
        f'datetime="{_escape(row.occurred_utc)}" title="{exact}">'
        f'{_escape(row.occurred_relative)}</time></span>\n'
        f'    <span class="event-info" role="cell"><a class="button small info-link" '
        f'href="{_escape(row.info_url)}" data-details="details-{event_id}">Info'
        f'<span class="visually-hidden"> about {label}, {exact}</span></a></span>\n'
        '  </div>\n'
        f'  <div class="event-details" id="details-{event_id}" role="cell" hidden></div>\n'
        '</div>\n'
    )


def event_url_maker(name: str, *args) -> Callable[[int], str]:
    """The URL named `name` for any event id, reversed once for a whole page, not once a row."""
    head, _, tail = reverse(name, args=[*args, _ID_SLOT]).rpartition(_ID_SLOT)
    return lambda event_id: f"{head}{event_id}{tail}"


def present(
    events: list[AuditEvent], viewer: LogViewer, query: QueryDict | None = None
) -> list[EventRow]:
    """The rows of `events` for `viewer`; their links add filters to `query` (the current view)."""
    slug = viewer.organization.slug
    info_url = event_url_maker("audit_event", slug)
    links = FilterLinks(reverse("audit_log", args=[slug]), query or QueryDict())
    tzinfo = viewer.tzinfo
    cells: dict[tuple, ProjectCell] = {}
    rows = []
    for event in events:
        key = (event.project_id, event.project_name)
        if key not in cells:
            cells[key] = project_cell(event, viewer)
        rows.append(
            EventRow(
                event,
                cells[key],
                sentence=sentence(event, cells[key], links),
                event_id=str(event.id),
                info_url=info_url(event.id),
                action_url=links.with_param("action", event.action),
                occurred_utc=format_time(event.occurred_at),
                occurred_exact=times.exact(event.occurred_at, tzinfo),
                occurred_relative=times.relative(event.occurred_at, tzinfo),
            )
        )
    return rows


def project_cell(event: AuditEvent, viewer: LogViewer) -> ProjectCell:
    if event.project_id is None:
        return ProjectCell()
    project = viewer.visible_projects.get(event.project_id)
    known = viewer.may_see_project(event.project_id)
    live = project is not None and known
    return ProjectCell(
        project_id=event.project_id,
        name=event.project_name,
        live=live,
        known=known,
        url=project.get_absolute_url() if live else "",
    )


def sentence(event: AuditEvent, project: ProjectCell, links: FilterLinks) -> SafeString:
    """The event type's sentence (auditlogs/recording/catalogue.py) filled with this event."""

    def value(name: str, arg: str | None) -> SafeString | None:
        if name == "actor":
            return _link("event-actor", links.with_param("actor", event.actor_label),
                         event.actor_label or "someone", "Show only this actor's events")
        if name == "target":
            if not event.target_label:
                return None
            return _link("event-target", links.with_term("target", event.target_label),
                         event.target_label, "Show only events about this")
        if name == "project":
            if event.project_id is None:
                return None
            known = project.known
            url = links.with_param("project", project.project_id) if known else ""
            return f'<span class="event-project">{project.html(url)}</span>'
        if name == "fields":
            return _escape(_listed(list(event.changes))) if event.changes else None
        if name in ("before", "after"):
            pair = event.changes.get(arg or "")
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                return None
            return _quoted(pair[0 if name == "before" else 1])
        if name == "meta":
            return _quoted(event.metadata.get(arg or ""))
        raise ValueError(f"{{{name}}} is not a sentence placeholder ({event.action})")

    return fill_sentence(event_type(event.action).row_sentence, value)


class _Slot(NamedTuple):
    name: str
    arg: str | None


class _Optional(NamedTuple):
    """A `[...]` part: left out when a value inside it is missing."""

    parts: tuple


_MISSING_VALUE = mark_safe('<span class="muted">—</span>')


@cache
def _compiled(template: str) -> tuple:
    """A sentence template as its parts, parsed once per event type: escaped text, slots and
    optional parts (which hold text and slots)."""

    def parts(text: str) -> tuple:
        found, last = [], 0
        for match in _PLACEHOLDER.finditer(text):
            found += [_escape(text[last:match.start()]), _Slot(match.group(1), match.group(2))]
            last = match.end()
        found.append(_escape(text[last:]))
        return tuple(part for part in found if part != "")

    compiled, last = [], 0
    for match in _OPTIONAL.finditer(template):
        compiled += [*parts(template[last:match.start()]), _Optional(parts(match.group(1)))]
        last = match.end()
    compiled += parts(template[last:])
    return tuple(compiled)


def fill_sentence(
    template: str, value: Callable[[str, str | None], SafeString | None]
) -> SafeString:
    """`template` with its placeholders replaced by `value(name, arg)` (HTML); a `[...]` part
    is left out when a value inside it is missing, a missing value elsewhere reads "—"."""
    result = []
    for part in _compiled(template):
        if isinstance(part, str):
            result.append(part)
        elif isinstance(part, _Slot):
            filled = value(part.name, part.arg)
            result.append(_MISSING_VALUE if filled is None else filled)
        else:
            section = []
            for inner in part.parts:
                filled = inner if isinstance(inner, str) else value(inner.name, inner.arg)
                if filled is None:
                    break
                section.append(filled)
            else:
                result += section
    return SafeString("".join(result))


def _link(css: str, url: str, text: str, title: str) -> SafeString:
    # Plain formatting with the standard library's escape: this runs a few times per row.
    return SafeString(
        f'<a class="filter-link {css}" href="{_escape(url)}" title="{title}">{_escape(text)}</a>'
    )


def _listed(values: list) -> str:
    return ", ".join(str(v) for v in values)


def _quoted(value) -> SafeString | None:
    """A stored value as words: a list by commas, nothing for a missing or structured one."""
    if value is None or value == "" or isinstance(value, dict):
        return None
    if isinstance(value, list | tuple):
        return _escape(_listed(value) or "none")
    if isinstance(value, bool):
        return _escape("yes" if value else "no")
    return _escape(str(value))


RELATED_WITHIN = timedelta(minutes=10)
RELATED_LIMIT = 20


@dataclass(frozen=True)
class ChangedField:
    field: str
    before: SafeString  # with the words taken out marked <del>
    after: SafeString  # with the words put in marked <ins>


@dataclass(frozen=True)
class RelatedRow:
    row: EventRow
    same_request: bool


@dataclass(frozen=True)
class EventDetails:
    """Everything Info shows about one event."""

    row: EventRow
    changes: list[ChangedField]
    related: list[RelatedRow]
    raw_json: str
    browser: str  # "Firefox 140 on Linux", from the user agent
    permalink: str


def describe(event: AuditEvent, viewer: LogViewer, request) -> EventDetails:
    (row,) = present([event], viewer)
    return EventDetails(
        row=row,
        changes=[ChangedField(name, *word_diff(pair)) for name, pair in event.changes.items()
                 if isinstance(pair, list | tuple) and len(pair) == 2],
        related=related_rows(event, viewer),
        raw_json=json.dumps(
            event_dict(tuple(getattr(event, name) for name in FIELDS)),
            ensure_ascii=False, indent=2,
        ),
        browser=browser_of(event.user_agent),
        permalink=request.build_absolute_uri(row.info_url),
    )


def related_rows(event: AuditEvent, viewer: LogViewer) -> list[RelatedRow]:
    """Events of the same request, and of the same actor within ±10 minutes: one query over
    those 20 minutes of the organization's index."""
    same = Q(actor_type=event.actor_type, actor_label=event.actor_label)
    if event.request_id:
        same |= Q(request_id=event.request_id)
    nearby = (
        viewer.events()
        .filter(occurred_at__gte=event.occurred_at - RELATED_WITHIN,
                occurred_at__lte=event.occurred_at + RELATED_WITHIN)
        .filter(same)
        .exclude(pk=event.pk)
        .newest_first()[:RELATED_LIMIT]
    )
    events = list(nearby)
    return [
        RelatedRow(row, same_request=bool(event.request_id)
                   and row.event.request_id == event.request_id)
        for row in present(events, viewer)
    ]


# difflib's matcher takes time cubic in the words it compares at worst: "x x x …" against
# "x y x y …" of 2,000 words each would hold a web worker for minutes at every opening of Info.
# Beyond this many pairs of pieces (words and the spaces between them) to compare, both values
# are shown whole. At the bound the worst case takes about 7 ms of CPU on a slow machine, a
# changed middle of some 50 words a side: ordinary edits, even inside long texts, stay marked.
WORD_DIFF_MAX_PAIRS = 10_000


def word_diff(pair) -> tuple[SafeString, SafeString]:
    """Before and after as text, the words that differ marked (difflib, word by word). Only
    the part between their common start and end is compared; when that part is too long to
    compare quickly, both values are shown whole, unmarked."""
    before, after = (_as_text(value) for value in pair)
    old, new = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    head, old_changed, new_changed, tail = _common_ends(old, new)
    if len(old_changed) * len(new_changed) > WORD_DIFF_MAX_PAIRS:
        return mark_safe(_escape(before)), mark_safe(_escape(after))
    head_html, tail_html = _escape("".join(head)), _escape("".join(tail))
    old_html, new_html = _marked(old_changed, new_changed)
    return mark_safe(head_html + old_html + tail_html), mark_safe(head_html + new_html + tail_html)


def _common_ends(old: list[str], new: list[str]) -> tuple[list, list, list, list]:
    """The pieces `old` and `new` share at their start, the differing middle of each, and the
    pieces they share at their end: found in linear time, so that only the middles go to
    difflib."""
    shorter = min(len(old), len(new))
    start = 0
    while start < shorter and old[start] == new[start]:
        start += 1
    end = 0
    while end < shorter - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return old[:start], old[start:len(old) - end], new[start:len(new) - end], old[len(old) - end:]


def _marked(old: list[str], new: list[str]) -> tuple[str, str]:
    """`old` and `new` joined as HTML, the pieces taken out marked <del>, those put in <ins>."""
    old_html, new_html = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        removed, added = _escape("".join(old[i1:i2])), _escape("".join(new[j1:j2]))
        if op == "equal":
            old_html.append(removed)
            new_html.append(added)
            continue
        if removed:
            old_html.append(f"<del>{removed}</del>")
        if added:
            new_html.append(f"<ins>{added}</ins>")
    return "".join(old_html), "".join(new_html)


def browser_of(user_agent: str) -> str:
    if not user_agent:
        return ""
    parsed = ua_parser.parse(user_agent)
    parts = []
    if parsed.user_agent is not None and parsed.user_agent.family != "Other":
        parts.append(" ".join(p for p in (parsed.user_agent.family, parsed.user_agent.major) if p))
    if parsed.os is not None and parsed.os.family != "Other":
        parts.append(" ".join(p for p in (parsed.os.family, parsed.os.major) if p))
    return " on ".join(parts)


def _as_text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
