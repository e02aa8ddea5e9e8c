"""The volume chart above the log, through the page: what it counts for each persona and filter,
where its bars lead, and the filters it charts from the events themselves or not at all."""

import zoneinfo
from datetime import timedelta
from urllib.parse import parse_qs, urlencode

import pytest
from django.utils import timezone

from auditlogs import record
from auditlogs.recording.catalogue import Severity
from auditlogs.recording.recorder import append, build_event
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/"
pytestmark = pytest.mark.django_db


def chart_of(client, **params):
    response = client.get(f"{URL}?{urlencode(params, doseq=True)}")
    assert response.status_code == 200
    return response.context["chart"]


def totals(chart) -> dict:
    counted = {}
    for bar in chart.bars:
        for severity, n in bar.counts.items():
            counted[severity] = counted.get(severity, 0) + n
    return counted


@pytest.fixture
def history(acme, alpha, beta):
    """Alpha: 3 views 2 days ago; Beta: 2 views today; the organization: a Warning today."""
    now = timezone.now()
    append(acme.pk, [
        build_event("project.viewed", organization=acme, project=alpha, target=alpha,
                    occurred_at=now - timedelta(days=2, minutes=n)) for n in range(3)
    ] + [
        build_event("project.viewed", organization=acme, project=beta, target=beta,
                    occurred_at=now - timedelta(minutes=10 + n)) for n in range(2)
    ])
    record("organization.plan_changed", organization=acme, target=acme)
    return now


def test_the_owner_sees_every_event_of_the_range_by_day_and_severity(history, owner):
    chart = chart_of(signed_in(owner))  # the default range: the last 7 days
    assert chart.unit == "day" and chart.source == "rollup"
    assert len(chart.bars) in (7, 8)  # every day the range touches
    # The owner's own view of the page today is counted too.
    assert totals(chart) == {Severity.INFO: 6, Severity.WARNING: 1}
    assert chart.uncounted == 0


def test_24_hours_are_drawn_by_hour(history, owner):
    chart = chart_of(signed_in(owner), range="24h")
    assert chart.unit == "hour"
    assert len(chart.bars) in (24, 25)
    assert totals(chart) == {Severity.INFO: 3, Severity.WARNING: 1}


def test_a_member_counts_only_the_events_of_their_projects(history, member):
    chart = chart_of(signed_in(member))
    assert totals(chart) == {Severity.INFO: 3}  # Alpha's; neither Beta's nor the organization's


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "warning"}, {Severity.WARNING: 1}),
        ({"severity": ["info", "critical"]}, {Severity.INFO: 6}),
        ({"action": "organization.plan_changed"}, {Severity.WARNING: 1}),
        ({"project": "beta"}, {Severity.INFO: 2}),
    ],
)
def test_filters_the_rollups_answer_narrow_the_chart(history, owner, beta, params, expected):
    if params.get("project") == "beta":
        params = {"project": beta.pk}
    chart = chart_of(signed_in(owner), **params)
    assert chart.source == "rollup"
    assert totals(chart) == expected


def test_a_bar_links_to_the_same_filters_narrowed_to_its_day(history, owner, alpha, acme):
    owner_zone = zoneinfo.ZoneInfo(acme.timezone)
    client = signed_in(owner)
    chart = chart_of(client, severity="info", project=alpha.pk, range="30d")
    (bar,) = [bar for bar in chart.bars if bar.total]
    query = parse_qs(bar.url.lstrip("?"))
    day = timezone.localtime(history - timedelta(days=2), owner_zone).date().isoformat()
    assert query == {
        "severity": ["info"], "project": [str(alpha.pk)], "range": ["custom"], "start": [day],
        "end": [day],
    }
    rows = client.get(URL + bar.url).context["rows"]
    assert [row.event.project_id for row in rows] == [alpha.pk] * 3


def test_the_page_draws_the_bars_as_links_with_a_table_beside_them(history, owner):
    html = signed_in(owner).get(URL).content.decode()
    assert '<svg class="chart"' in html
    assert 'class="chart-bar" aria-label="' in html
    assert "Chart as a table" in html


def test_a_search_is_charted_from_the_list_when_every_match_fits_on_it(history, owner):
    chart = chart_of(signed_in(owner), q="Beta")
    assert chart.source == "events" and not chart.unavailable
    assert totals(chart) == {Severity.INFO: 2}


def test_a_search_with_more_matches_than_a_page_says_the_chart_is_unavailable(
    history, owner, settings
):
    settings.AUDITLOG_PAGE_SIZE = 3
    client = signed_in(owner)
    chart = chart_of(client, q="viewed")
    assert chart.unavailable.startswith("The chart counts events by severity")
    assert "drawn only when every match fits on one page" in client.get(
        f"{URL}?q=viewed"
    ).content.decode()


def test_the_page_counts_what_the_worker_has_not_yet_within_its_bound(history, owner, settings):
    settings.AUDITLOG_CHART_CATCH_UP = 2
    settings.AUDITLOG_ROLLUP_BATCH = 2
    chart = chart_of(signed_in(owner))
    assert chart.uncounted == 5  # 7 events (with the day's view), 2 counted by this request
    assert sum(totals(chart).values()) == 2


def test_no_chart_for_invalid_filters_or_off_enterprise(history, owner, globex_owner):
    assert signed_in(owner).get(URL, {"start": "nope"}).context["chart"] is None
    response = signed_in(globex_owner).get("/orgs/globex/settings/audit-logs/")
    assert b'class="volume-chart"' not in response.content
