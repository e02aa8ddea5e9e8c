"""The Audit Logs filters: one FilterSet over the viewer's already scoped events.

Every filter is a query-string parameter (README.md, "The Audit Logs page"), so every view of
the log is a URL. Invalid input becomes a form error next to the filters and no rows, never a
server error.
"""

from copy import copy, deepcopy
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property, lru_cache, partial

import django_filters
from django import forms
from django.utils import timezone
from django.utils.safestring import SafeString

from auditlogs.recording.catalogue import CATALOGUE, EVENT_TYPES, Severity
from auditlogs.storage import search
from auditlogs.templatetags.auditlog_tags import options
from auditlogs.web import query_language
from auditlogs.web.paging import Cursor, Page, keyset_page
from config.env import parse_bool

DATE_PRESETS = [
    ("24h", "Last 24 hours", timedelta(hours=24)),
    ("7d", "Last 7 days", timedelta(days=7)),
    ("30d", "Last 30 days", timedelta(days=30)),
    ("90d", "Last 90 days", timedelta(days=90)),
    ("all", "All time", None),
    ("custom", "Custom", None),
]
DEFAULT_RANGE = "7d"
_PRESET_SPANS = {key: span for key, _, span in DATE_PRESETS}
MAX_TEXT = 200
ACTOR_TYPES = [("user", "Person"), ("api", "API token"), ("staff", "Support staff"),
               ("system", "System")]
# Reads: "Hide views" leaves them out.
VIEW_ACTIONS = [key for key in CATALOGUE if key.endswith(".viewed")]


class SeverityField(forms.MultipleChoiceField):
    """Several severities may repeat in the query; "All" (empty) means no filter."""

    def to_python(self, value):
        return [item for item in super().to_python(value) if item]


class SeverityFilter(django_filters.MultipleChoiceFilter):
    field_class = SeverityField


def read_flag(value: str | bool | None) -> bool:
    """A yes/no parameter, for the page and the API alike (integrations/api.py); absent or
    blank means no. Anything else raises ValueError with a sentence for the person: read as
    no, `hide_views=maybe` would quietly show what was asked to be hidden."""
    if isinstance(value, bool):
        return value
    text = (value or "").strip()
    flag = parse_bool(text)  # the words a boolean setting takes (config/env.py)
    if flag is None:
        raise ValueError(
            f"“{text[:40]}” is neither yes nor no: use 1 or 0 (or true/false, on/off, yes/no)."
        )
    return flag


class FlagCheckbox(forms.CheckboxInput):
    """A checkbox whose value FlagField reads: the checkbox's own reading takes any text but
    "false" as checked (`hide_views=0` would hide views)."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class FlagField(forms.Field):
    widget = FlagCheckbox

    def to_python(self, value):
        try:
            return read_flag(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def prepare_value(self, value):
        """What the page shows: checked for a yes only (the form's value is the query's text)."""
        try:
            return read_flag(value)
        except ValueError:
            return False


class FlagFilter(django_filters.Filter):
    field_class = FlagField


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC: every database takes it, whatever offset it was written with
    (PostgreSQL refuses offsets of ±16:00 and more, Python takes up to ±23:59)."""
    return moment.astimezone(UTC)


def parse_moment(text: str, tzinfo, *, end: bool) -> datetime:
    """An ISO date or date-time in the viewer's zone, as a UTC instant. A date as an end means
    the whole day."""
    text = text.strip()
    if len(text) > 40:
        raise forms.ValidationError("Enter a date like 2026-11-27 or a time like 2026-11-27T14:00.")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
            moment = timezone.make_aware(moment, tzinfo)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = timezone.make_aware(moment, tzinfo)
        return as_utc(moment)
    except OverflowError:  # a real date, but its instant falls outside years 1 to 9999
        raise forms.ValidationError(
            f"“{text}” is outside the years 1 to 9999 in UTC; enter a date between them."
        ) from None
    except ValueError:
        raise forms.ValidationError(
            f"“{text}” is not a date. Enter a date like 2026-11-27 or a time like 2026-11-27T14:00."
        ) from None


class AuditLogFilterForm(forms.Form):
    window: tuple[datetime | None, datetime | None] = (None, None)
    query = query_language.ParsedQuery()

    def clean_q(self):
        text = self.cleaned_data.get("q") or ""
        try:
            self.query = query_language.parse(
                text, projects=self.project_names, read_date=_read_date(self.viewer.tzinfo)
            )
        except query_language.QuerySyntaxError as error:
            raise forms.ValidationError(str(error)) from None
        return text

    def clean(self):
        data = super().clean()
        tzinfo = self.viewer.tzinfo
        start = end = None
        for name in ("start", "end"):
            text = data.get(name) or ""
            if text:
                try:
                    moment = parse_moment(text, tzinfo, end=(name == "end"))
                except forms.ValidationError as error:
                    self.add_error(name, error)
                    continue
                if name == "start":
                    start = moment
                else:
                    end = moment
        if start and end and end <= start:
            self.add_error("end", "The end of the date range must be after its start.")
        if self.query.window is not None:
            self.window = self.query.window  # created: in the search box
        elif start or end:
            self.window = (start, end)
        else:
            span = _PRESET_SPANS.get(data.get("range") or DEFAULT_RANGE)
            self.window = (timezone.now() - span, None) if span else (None, None)
        return data


EVENT_TYPE_CHOICES = sorted(((t.key, t.label) for t in EVENT_TYPES), key=lambda c: c[1])


class AuditEventFilter(django_filters.FilterSet):
    severity = SeverityFilter(
        label="Severity",
        choices=[(s.key, s.label) for s in Severity],
        method="filter_severity",
        error_messages={
            "invalid_choice": "“%(value)s” is not a severity. Choose Info, Warning or Critical."
        },
    )
    project = django_filters.ChoiceFilter(
        label="Project",
        empty_label="All projects",
        method="filter_project",
        choices=[],
        error_messages={
            "invalid_choice": "That project does not exist or is not one you can see; "
            "choose one from the list."
        },
    )
    range = django_filters.ChoiceFilter(
        label="Date range",
        choices=[(key, label) for key, label, _ in DATE_PRESETS],
        empty_label=None,
        method="filter_nothing",  # applied with start and end in filter_queryset
        error_messages={"invalid_choice": "Choose a date range from the list."},
    )
    start = django_filters.CharFilter(label="From", method="filter_nothing", max_length=40)
    end = django_filters.CharFilter(label="To", method="filter_nothing", max_length=40)
    action = django_filters.ChoiceFilter(
        label="Event type",
        empty_label="All events",
        field_name="action",
        lookup_expr="exact",
        # A function: a list of a hundred pairs would be deep-copied with the filter and its
        # form field on every request.
        choices=lambda: EVENT_TYPE_CHOICES,
        error_messages={"invalid_choice": "“%(value)s” is not an event type; choose one."},
    )
    # Part of the actor's label, any case: searched with `q` (auditlogs/storage/search.py).
    actor = django_filters.CharFilter(label="Actor", method="filter_nothing", max_length=254)
    actor_type = django_filters.ChoiceFilter(
        label="Actor type",
        empty_label="Anyone",
        field_name="actor_type",
        choices=ACTOR_TYPES,
        error_messages={"invalid_choice": "Choose an actor type from the list."},
    )
    hide_views = FlagFilter(label="Hide views", method="filter_hide_views")
    # Applied last, in filter_queryset, so that `unsearched` holds every other filter.
    q = django_filters.CharFilter(label="Search", method="filter_nothing", max_length=MAX_TEXT)

    class Meta:
        form = AuditLogFilterForm
        fields: list[str] = []

    def __init__(self, data=None, *, viewer, **kwargs):
        self.viewer = viewer
        super().__init__(data, queryset=viewer.events(), **kwargs)

    @cached_property
    def project_choices(self) -> list[tuple[str, str]]:
        return [(str(p.id), p.name) for p in self.viewer.visible_projects.values()]

    @cached_property
    def deleted_project_choices(self) -> list[tuple[str, str]]:
        """Deleted projects, for viewers who may know them (auditlogs/web/access.py)."""
        return [(str(project_id), f"{name} (deleted)")
                for project_id, name in self.viewer.deleted_projects.items()]

    def get_form_class(self):
        return _form_class(type(self))

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            form.viewer = self.viewer  # dates are read in the viewer's time zone
            form.project_names = self.project_names
            # The viewer's projects, read only when asked for: a list swap without a project
            # filter needs neither.
            form.fields["project"].choices = (
                lambda: self.project_choices + self.deleted_project_choices
            )
        return self._form

    @property
    def range_choice(self) -> str:
        """The Date range shown chosen: Custom when dates are given, else the preset (the
        default one when none is)."""
        form = self.form
        if form["start"].value() or form["end"].value():
            return "custom"
        return form["range"].value() or DEFAULT_RANGE

    @property
    def event_type_options(self) -> SafeString:
        """The Event type's hundred `<option>`s, the current one selected."""
        current = self.form["action"].value()
        return _event_type_options("" if current is None else str(current))

    def project_names(self) -> dict[str, int]:
        """What `project:` in the search box may name: a project's name or id."""
        names = {}
        for project_id, name in [*self.viewer.deleted_projects.items(),
                                 *((p.id, p.name) for p in self.viewer.visible_projects.values())]:
            names[name.casefold()] = project_id
            names[str(project_id)] = project_id
        return names

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        start, end = self.form.window
        if start is not None:
            queryset = queryset.filter(occurred_at__gte=start)
        if end is not None:
            queryset = queryset.filter(occurred_at__lt=end)
        query = self.form.query
        if query.condition:
            queryset = queryset.filter(query.condition)
        self.unsearched = queryset
        matches = search.condition(query.text, self.actors)
        return queryset if matches is None else queryset.filter(matches)

    @property
    def actors(self) -> list[str]:
        """What the actor's label must contain: the Actor filter and `actor:` in the search."""
        return [self.form.cleaned_data.get("actor") or "", *self.form.query.actors]

    def page(self, cursor: Cursor | None, size: int) -> Page:
        """One keyset page of the filtered events; a search is read the way that finds its
        page fastest (auditlogs/storage/search.py)."""
        read = partial(keyset_page, self.qs, cursor, size)
        if search.worth_reading_in_order(self.unsearched, self.form.query.text, self.actors):
            page = search.read_in_index_order(read)
            if page is not None:
                return page
        return read()

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_severity(self, queryset, name, value):
        return queryset.filter(severity__in=[Severity.from_name(v) for v in value])

    def filter_project(self, queryset, name, value):
        return queryset.filter(project_id=int(value))

    def filter_hide_views(self, queryset, name, value):
        return queryset.exclude(action__in=VIEW_ACTIONS) if value else queryset


class _DeclaredFilters(dict):
    """A FilterSet's declared filters, copied for each FilterSet (each request) without deep
    copies of their choices, messages and widgets: a FilterSet sets only its own `parent` and
    `model` on its copies (its form class is made once, `_form_class`), so each copy needs only
    its own `extra` and its method bound to itself."""

    def __deepcopy__(self, memo):
        return {name: _copied(declared) for name, declared in self.items()}


def _copied(declared):
    copied = copy(declared)
    copied.extra = dict(declared.extra)
    copied.method = declared.method  # a FilterMethod bound to the copy, not to the declared one
    return copied


AuditEventFilter.base_filters = _DeclaredFilters(AuditEventFilter.base_filters)


@lru_cache(maxsize=128)
def _event_type_options(current: str) -> SafeString:
    """Made once per process for each current choice: the list is the same on every page."""
    return options(EVENT_TYPE_CHOICES, current)


@cache
def _form_class(filterset_class):
    """The form of a FilterSet class, made once: django-filter makes a class and its ten fields
    anew for every request otherwise (each form still has its own copies of the fields)."""
    fields = {name: f.field for name, f in deepcopy(filterset_class.base_filters).items()}
    return type(f"{filterset_class.__name__}Form", (filterset_class._meta.form,), fields)


def _read_date(tzinfo):
    """Dates of `created:` read like the From and To fields."""

    def read(text: str, end: bool) -> datetime:
        try:
            return parse_moment(text, tzinfo, end=end)
        except forms.ValidationError as error:
            raise ValueError(" ".join(error.messages)) from None

    return read
