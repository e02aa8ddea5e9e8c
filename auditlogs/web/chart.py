"""The volume chart above the log: events per hour, day or month of the chosen range, stacked
by severity, over the filtered set.

It reads the hourly rollups (auditlogs/storage/rollups.py) for every filter they can answer
(severity, project, event type, dates, and the viewer's own project scope), so its cost does
not grow with the log. Other filters (free text, actor, …) are charted from the list's own
rows when they are every match (one page or fewer), at no cost; otherwise the chart says it is
unavailable for that filter: counting them would mean reading every match, which for a rare
search term costs more than the whole page.

Bars cover whole hours, days (in the viewer's time zone) or months; each is a link to the same
filters narrowed to its dates. Of a range longer than MAX_CHARTED (a URL may ask for ten
thousand years) the chart draws the last MAX_CHARTED before now or the range's end, and says
so: its bars stay a few hundred.
"""

from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from django.db.models import F, Min, Sum
from django.db.models.functions import TruncDay, TruncMonth
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from auditlogs.conf import app_settings
from auditlogs.recording.catalogue import Severity
from auditlogs.storage import rollups

HOUR, DAY, MONTH = "hour", "day", "month"
MAX_HOURLY = timedelta(days=3)  # longer ranges are drawn by day
MAX_DAILY = timedelta(days=400)  # and longer ones by month
CHARTED_YEARS = 30
MAX_CHARTED = timedelta(days=365 * CHARTED_YEARS)  # about 360 month bars at most
# The filters the rollups answer, by their query parameter; any other one set needs the events.
ROLLUP_FILTERS = {"severity", "project", "action", "range", "start", "end"}
DATE_PARAMETERS = ("range", "start", "end", "cursor")
# SVG geometry: each bar is BAR_WIDTH wide in a viewBox HEIGHT tall, stretched by CSS.
BAR_WIDTH, BAR_GAP, HEIGHT = 10, 2, 100


@dataclass
class Segment:
    severity: Severity
    count: int
    y: float = 0
    height: float = 0


@dataclass
class Bar:
    start: datetime  # local
    unit: str
    counts: dict[Severity, int] = field(default_factory=dict)
    url: str = ""
    x: int = 0
    segments: list[Segment] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def end(self) -> datetime:
        """The local start of the next hour (hour bars); for the calendar's last local hour,
        whose next hour does not exist (east of UTC), its last minute."""
        next_hour = self.start.astimezone(UTC) + timedelta(hours=1)
        try:
            return timezone.localtime(next_hour, self.start.tzinfo)
        except OverflowError:
            return self.start.replace(minute=59)

    @property
    def label(self) -> str:
        if self.unit == HOUR:
            return f"{self.start:%-d %b %H:%M}–{self.end:%H:%M}"
        if self.unit == DAY:
            return f"{self.start:%a %-d %b %Y}"
        return f"{self.start:%B %Y}"

    @property
    def short_label(self) -> str:
        if self.unit == HOUR:
            return f"{self.start:%-d %b %H}:00"
        if self.unit == DAY:
            return f"{self.start:%-d %b}"
        return f"{self.start:%b %Y}"

    @property
    def summary(self) -> str:
        parts = [f"{_number(n)} {s.label}" for s, n in self.ordered()]
        total = _number(self.total)
        noun = "event" if self.total == 1 else "events"
        return f"{self.label}: {total} {noun}" + (f" ({', '.join(parts)})" if parts else "")

    @property
    def columns(self) -> list[str]:
        """The counts by severity, Info first, for the table."""
        return [_number(self.counts.get(s, 0)) for s in Severity] + [_number(self.total)]

    def ordered(self) -> list[tuple[Severity, int]]:
        return [(s, self.counts[s]) for s in Severity if self.counts.get(s)]


@dataclass
class VolumeChart:
    unit: str = DAY
    bars: list[Bar] = field(default_factory=list)
    source: str = "rollup"  # or "events" (the list's own rows)
    unavailable: str = ""  # why there is no chart for this filter
    note: str = ""  # which part of the range the chart draws, when not all of it
    uncounted: int = 0  # newest events the rollups have not counted yet

    @property
    def total(self) -> int:
        return sum(bar.total for bar in self.bars)

    @property
    def peak(self) -> int:
        return max((bar.total for bar in self.bars), default=0)

    @property
    def total_text(self) -> str:
        return _number(self.total)

    @property
    def peak_text(self) -> str:
        return _number(self.peak)

    @property
    def uncounted_text(self) -> str:
        return _number(self.uncounted)

    @property
    def first_label(self) -> str:
        return self.bars[0].short_label if self.bars else ""

    @property
    def last_label(self) -> str:
        return self.bars[-1].short_label if self.bars else ""

    @property
    def width(self) -> int:
        return max(len(self.bars), 1) * BAR_WIDTH

    height = HEIGHT

    def drawn_bars(self) -> SafeString:
        """The SVG's bars, each a link (volume_chart.html places them): built here, as the
        rows of the list are, rather than by nested template loops."""
        return mark_safe("".join(self._drawn_bar(bar) for bar in self.bars if bar.total))

    def _drawn_bar(self, bar: Bar) -> str:
        summary = escape(bar.summary)  # the link's label and its tooltip
        segments = "".join(
            f'<rect class="seg-{segment.severity.key}" x="{bar.x}" y="{segment.y}" '
            f'width="8" height="{segment.height}"></rect>'
            for segment in bar.segments
        )
        return (
            f'\n      <a href="{escape(bar.url)}" class="chart-bar" '
            f'aria-label="{summary}. Show these events.">\n'
            f'        <title>{summary}</title>\n'
            f'        <rect class="chart-hit" x="{bar.x}" y="0" width="8" '
            f'height="{self.height}"></rect>\n        '
            f"{segments}\n      </a>\n      "
        )

    def table_rows(self) -> SafeString:
        """The same counts as the rows of the chart's table."""
        return mark_safe("".join(
            f'\n        <tr><th scope="row"><a href="{escape(bar.url)}">{escape(bar.label)}</a>'
            "</th>" + "".join(f"<td>{count}</td>" for count in bar.columns) + "</tr>\n      "
            for bar in self.bars if bar.total
        ))

    @property
    def unit_label(self) -> str:
        return {HOUR: "per hour", DAY: "per day", MONTH: "per month"}[self.unit]


def volume_chart(filters, viewer, query, page=None) -> VolumeChart:
    """The chart of a valid FilterSet's events; `query` is the page's query string (a QueryDict)
    that bar links narrow; `page` the list's first page, needed only where `needs_events`."""
    data = filters.form.cleaned_data
    window_start, window_end = filters.form.window
    window_end = window_end or timezone.now()
    if needs_events(filters):
        return _from_events(page, viewer, query, window_start, window_end)
    chart = VolumeChart()
    if app_settings.CHART_CATCH_UP:
        progress = rollups.catch_up(viewer.organization.pk, app_settings.CHART_CATCH_UP)
        chart.uncounted = progress.behind
    severities, project, action = data.get("severity"), data.get("project"), data.get("action")
    counted = rollups.rows(
        viewer.organization.pk,
        by_project=bool(project) or not viewer.sees_whole_organization,
        by_action=bool(action),
    )
    if not viewer.sees_whole_organization:
        counted = counted.filter(project_id__in=viewer.project_ids)
    if severities:
        counted = counted.filter(severity__in=[Severity.from_name(s) for s in severities])
    if project:
        counted = counted.filter(project_id=int(project))
    if action:
        counted = counted.filter(action=action)
    if window_start is None:
        window_start = counted.filter(hour__lt=window_end).aggregate(first=Min("hour"))["first"]
        if window_start is None:
            return chart
    tzinfo = viewer.tzinfo
    start, end, chart.note = _charted_range(window_start, window_end, tzinfo)
    if start >= end:  # no instant of the range has a date in the viewer's zone
        return chart
    counted = counted.filter(hour__gte=_hour_floor(start), hour__lt=end)
    # Summed into the bars by the database: a few hundred rows come back, whatever the range.
    chart.unit = _unit(start, end)
    bucket = {
        HOUR: F("hour"), DAY: TruncDay("hour", tzinfo=tzinfo),
        MONTH: TruncMonth("hour", tzinfo=tzinfo),
    }[chart.unit]
    per_bar = (
        counted.annotate(bucket=bucket).values("bucket", "severity")
        .annotate(n=Sum("count")).order_by()
    )
    counts = [(row["bucket"], Severity(row["severity"]), row["n"]) for row in per_bar]
    return _drawn(chart, counts, tzinfo, start, end, query)


def needs_events(filters) -> bool:
    """Whether a filter the rollups cannot answer is set."""
    data = filters.form.cleaned_data
    return any(value for name, value in data.items() if name not in ROLLUP_FILTERS)


def _from_events(page, viewer, query, window_start, window_end) -> VolumeChart:
    if page is None or page.older is not None or page.newer is not None:
        return VolumeChart(
            source="events",
            unavailable=(
                "The chart counts events by severity, project, event type and dates; for a "
                "search or an actor it is drawn only when every match fits on one page. Narrow "
                "the filter to see it."
            ),
        )
    events = [(row.occurred_at, row.severity) for row in page.rows]
    if window_start is None:
        if not events:
            return VolumeChart(source="events")
        window_start = events[-1][0]
    start, end, note = _charted_range(window_start, window_end, viewer.tzinfo)
    if start >= end:  # no instant of the range has a date in the viewer's zone
        return VolumeChart(source="events")
    counts, first_hour = defaultdict(int), _hour_floor(start)
    for occurred_at, severity in events:
        hour = _hour_floor(occurred_at)
        if first_hour <= hour < end:  # the hours drawn, as the rollups are read
            counts[(hour, Severity(severity))] += 1
    chart = VolumeChart(source="events", unit=_unit(start, end), note=note)
    moments = [(hour, severity, n) for (hour, severity), n in counts.items()]
    return _drawn(chart, moments, viewer.tzinfo, start, end, query)


def _charted_range(start: datetime, end: datetime, tzinfo) -> tuple[datetime, datetime, str]:
    """The part of the range [start, end) the chart draws, and a note when it is not all of it:
    only instants with a date in the viewer's zone, and at most MAX_CHARTED of them."""
    first, last = _calendar(tzinfo)
    start, end = max(start, first), min(end, last)  # `last` itself left out: one microsecond
    if end - start <= MAX_CHARTED:
        return start, end, ""
    # Ten thousand years would be 120,000 month bars. Events do not lie ahead, so a range
    # reaching past now is drawn up to now.
    now = timezone.now()
    if start < now:
        end = min(end, now)
    start = max(start, end - MAX_CHARTED)
    shown_from = timezone.localtime(start, tzinfo)
    shown_to = timezone.localtime(end - timedelta(microseconds=1), tzinfo)
    note = (
        f"This range is too long to chart whole: the chart draws {shown_from:%-d %b %Y} to "
        f"{shown_to:%-d %b %Y} ({CHARTED_YEARS} years). Narrow the dates to chart another part."
    )
    return start, end, note


def _calendar(tzinfo) -> tuple[datetime, datetime]:
    """The instants the chart may localize, both in UTC and in the viewer's zone within years 1
    to 9999: from the first whole UTC hour (bars and rollups are UTC hours, localized from their
    start) to the last instant. A zone behind UTC starts its year 1 later than UTC does, even
    within an hour (New York's historical offset, -4:56:02: at 04:56:02 UTC); one ahead of it
    ends year 9999 earlier."""
    try:
        first = datetime.min.replace(tzinfo=tzinfo).astimezone(UTC)
    except OverflowError:  # ahead of UTC: the zone's year 1 starts before UTC's
        first = datetime.min.replace(tzinfo=UTC)
    try:
        last = datetime.max.replace(tzinfo=tzinfo).astimezone(UTC)
    except OverflowError:  # behind UTC: the zone's year 9999 ends after UTC's
        last = datetime.max.replace(tzinfo=UTC)
    whole_hour = _hour_floor(first)
    return (whole_hour if whole_hour == first else whole_hour + timedelta(hours=1)), last


def _unit(window_start: datetime, window_end: datetime) -> str:
    span = window_end - window_start
    return HOUR if span <= MAX_HOURLY else DAY if span <= MAX_DAILY else MONTH


def _drawn(chart, counts, tzinfo, window_start, window_end, query) -> VolumeChart:
    """Add (moment, severity, count) into the bars of the window, a moment belonging to the
    bar it falls in; then lay the bars out."""
    bars = {
        _bucket(start, chart.unit): Bar(start, chart.unit)
        for start in _bucket_starts(chart.unit, window_start, window_end, tzinfo)
    }
    for moment, severity, n in counts:
        bar = bars.get(_bucket(timezone.localtime(moment, tzinfo), chart.unit))
        if bar is not None:
            bar.counts[severity] = bar.counts.get(severity, 0) + n
    chart.bars = list(bars.values())
    peak = chart.peak
    for index, bar in enumerate(chart.bars):
        bar.x = index * BAR_WIDTH + BAR_GAP // 2
        bar.url = "?" + _narrowed(query, bar)
        bottom = float(HEIGHT)
        for severity, n in bar.ordered():
            height = max(HEIGHT * n / peak, 1.0)
            bottom -= height
            bar.segments.append(Segment(severity, n, round(bottom, 2), round(height, 2)))
    return chart


def _bucket(local: datetime, unit: str):
    if unit == HOUR:
        return local.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if unit == DAY:
        return local.date()
    return (local.year, local.month)


def _bucket_starts(unit: str, start: datetime, end: datetime, tzinfo):
    """The local start of every bucket that overlaps [start, end), a range _charted_range
    has kept to the viewer's calendar."""
    if unit == HOUR:
        hour = _hour_floor(start)
        while hour < end:
            yield timezone.localtime(hour, tzinfo)
            hour += timedelta(hours=1)
        return
    day = timezone.localtime(start, tzinfo).date()
    last = timezone.localtime(end - timedelta(microseconds=1), tzinfo).date()
    if unit == MONTH:
        day = day.replace(day=1)
    while day <= last:
        yield timezone.make_aware(datetime.combine(day, datetime.min.time()), tzinfo)
        try:
            day = day + timedelta(days=1) if unit == DAY else _next_month(day)
        except (OverflowError, ValueError):  # the bucket of December 9999 is the calendar's last
            return


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _narrowed(query, bar: Bar) -> str:
    """The page's query with its dates replaced by the bar's."""
    params = [(k, v) for k, values in query.lists() if k not in DATE_PARAMETERS for v in values]
    if bar.unit == HOUR:
        start_text, end_text = _local_minute(bar.start), _local_minute(bar.end)
    elif bar.unit == DAY:
        start_text = end_text = bar.start.date().isoformat()
    else:
        start_text = bar.start.date().isoformat()
        first = bar.start.date()
        end_text = first.replace(day=monthrange(first.year, first.month)[1]).isoformat()
    return urlencode([*params, ("range", "custom"), ("start", start_text), ("end", end_text)])


def _local_minute(moment: datetime) -> str:
    """2026-11-27T14:00, as the From and To fields read it; "%Y" would write year 1 as "1"."""
    return moment.replace(tzinfo=None).isoformat(timespec="minutes")


def _number(n: int) -> str:
    """12,345: grouped as the one language of the site (en-us) groups, without the locale
    lookups of `number_format`, which a chart makes a few hundred times."""
    return f"{n:,}"
