"""Every date the filters accept, the database accepts: offsets PostgreSQL refuses (±16:00 and
more) are read as the instant they name, and instants no database can hold are refused with a
message naming the field, on the page, the results partial, the API and the exports."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from auditlogs import record
from auditlogs.recording.context import Actor, acting_as
from auditlogs.storage.backends import is_postgresql
from auditlogs.web.chart import HOUR, Bar
from integrations import services
from tests.helpers.clients import signed_in

# Two hours apart in UTC, each written with an offset PostgreSQL does not take.
START = "2026-03-10T23:30+16:00"  # 2026-03-10T07:30Z
END = "2026-03-09T19:30-18:00"  # 2026-03-10T13:30Z
INSIDE = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
OUTSIDE = [INSIDE - timedelta(hours=3), INSIDE + timedelta(hours=4)]


@pytest.fixture
def dated(acme, admin):
    """One event inside the window named with extreme offsets, one before it, one after."""
    made = {}
    for when in [INSIDE, *OUTSIDE]:
        with acting_as(Actor.for_user(admin), at=when):
            made[when] = record("organization.updated", organization=acme)
    return made[INSIDE]


def shown_ids(html: str) -> set[int]:
    import re

    return {int(i) for i in re.findall(r'id="event-(\d+)"', html)}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "results"])
def test_the_page_reads_extreme_offsets_as_the_instants_they_name(owner, dated, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = signed_in(owner).get(
        reverse("audit_log", args=["acme"]), {"range": "custom", "start": START, "end": END},
        headers=headers,
    )
    assert response.status_code == 200
    assert shown_ids(response.text) == {dated.id}


def test_the_api_reads_extreme_offsets_as_the_instants_they_name(acme, owner, dated, settings):
    _, secret = services.api_token_create(
        organization=acme, name="SIEM", created_by=owner, expires_in_days=None
    )
    response = signed_in(None).get(
        f"/api/v1/orgs/acme/audit-events?start={START.replace('+', '%2B')}&end={END}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content
    assert [event["id"] for event in response.json()["events"]] == [dated.id]


def test_the_export_reads_extreme_offsets_and_names_the_window_in_utc(acme, owner, dated, events):
    response = signed_in(owner).get(
        reverse("audit_log_export", args=["acme", "ndjson"]), {"start": START, "end": END}
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert lines[0]["export"]["from"] == "2026-03-10T07:30:00.000000Z"
    assert lines[0]["export"]["to"] == "2026-03-10T13:30:00.000000Z"
    assert [line["id"] for line in lines[1:] if "id" in line] == [dated.id]
    assert len(events(acme, action="audit_log.exported")) == 1


@pytest.mark.parametrize(
    ("field", "label", "value", "in_utc_too"),
    [
        ("start", "From", "0001-01-01T00:00+01:00", True),  # before year 1 in UTC
        ("end", "To", "9999-12-31", True),  # the whole day ends after year 9999
        ("end", "To", "9999-12-31T23:59-01:00", True),
        # Midnight in Berlin (the owner's zone) is still year 0 in UTC; the API reads UTC.
        ("start", "From", "0001-01-01", False),
    ],
)
def test_instants_no_database_holds_are_refused_naming_the_field(
    acme, owner, dated, events, field, label, value, in_utc_too
):
    client = signed_in(owner)
    page = client.get(reverse("audit_log", args=["acme"]), {"range": "custom", field: value})
    assert page.status_code == 200
    assert f"<strong>{label}:</strong>" in page.text and not shown_ids(page.text)

    export = client.get(reverse("audit_log_export", args=["acme", "csv"]), {field: value})
    assert export.status_code == 400 and f"{label}:" in export.content.decode()
    assert events(acme, action="audit_log.exported") == []

    _, secret = services.api_token_create(
        organization=acme, name=f"t-{field}", created_by=owner, expires_in_days=None
    )
    api = signed_in(None).get(
        "/api/v1/orgs/acme/audit-events", {field: value},
        headers={"Authorization": f"Bearer {secret}"},
    )
    if not in_utc_too:
        assert api.status_code == 200
        return
    assert api.status_code == 400
    assert api.json()["parameter"] == field and api.json()["detail"].startswith(f"{field}:")


def test_a_range_into_december_9999_charts_by_month_to_the_calendars_end(acme, owner, dated):
    """Found by test_filters_fuzz: the chart's month after December 9999 does not exist. (A
    range from the first event to 9999 is longer than the chart draws: it starts in 9990.)"""
    page = signed_in(owner).get(
        "/orgs/acme/settings/audit-logs/", {"start": "9990-01-01", "end": "9999-12-13T2359"}
    )
    assert page.status_code == 200
    assert "Events per month" in page.text
    assert page.context["chart"].last_label == "Dec 9999"


def test_the_calendars_last_day_charts_by_hour_east_of_utc(acme, member):
    """Found by test_filters_fuzz: in Berlin the hour after 31 December 9999, 23:00 does not
    exist, so the last hour bar ends at the calendar's last minute."""
    assert acme.timezone == "Europe/Berlin"  # the page shows times in it
    page = signed_in(member).get(
        "/orgs/acme/settings/audit-logs/", {"start": "9999-12-31", "end": "9999-12-3102301"}
    )
    assert page.status_code == 200
    assert "0 events in 24 hours" in page.text
    last = Bar(start=datetime(9999, 12, 31, 23, tzinfo=ZoneInfo("Europe/Berlin")), unit=HOUR)
    assert (last.end.hour, last.end.minute) == (23, 59)
    assert last.label == "31 Dec 23:00–23:59"
    an_hour = Bar(start=datetime(2026, 3, 29, 1, tzinfo=ZoneInfo("Europe/Berlin")), unit=HOUR)
    assert an_hour.label == "29 Mar 01:00–03:00"  # the night the clocks go forward


def test_year_one_and_year_9999_in_utc_are_accepted(acme, owner, dated):
    _, secret = services.api_token_create(
        organization=acme, name="SIEM", created_by=owner, expires_in_days=None
    )
    response = signed_in(None).get(
        "/api/v1/orgs/acme/audit-events",
        {"start": "0001-01-01T00:00Z", "end": "9999-12-30"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200
    assert dated.id in [event["id"] for event in response.json()["events"]]


@pytest.mark.skipif(
    not is_postgresql(), reason="SQLite takes any offset; PostgreSQL refuses ±16:00"
)
def test_an_export_the_database_refuses_answers_400_and_is_not_recorded(
    acme, owner, dated, events, monkeypatch
):
    """Should a window the database refuses get past the form, nothing streams and nothing is
    recorded: the export has the database check its query before the first byte."""
    from auditlogs.web import filters

    monkeypatch.setattr(filters, "as_utc", lambda moment: moment)  # the form's normalising
    response = signed_in(owner).get(
        reverse("audit_log_export", args=["acme", "csv"]), {"start": START}
    )
    assert response.status_code == 400
    assert not response.streaming
    assert "Nothing was exported" in response.content.decode()
    assert events(acme, action="audit_log.exported") == []
