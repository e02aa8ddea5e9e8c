"""The page's two cheap questions: how many events arrived since the newest one shown (for each
persona), and where a page is in the list ("Events 51–100") without counting the list."""


import pytest
from django.core import signing

from auditlogs import record
from auditlogs.web.paging import OLDER, Cursor
from tests.helpers.clients import signed_in
from tests.helpers.events import generate

URL = "/orgs/acme/settings/audit-logs/"
pytestmark = pytest.mark.django_db


def new_events_url(client, **params) -> str:
    """The URL the open page asks, as it renders it."""
    response = client.get(URL, params)
    return response.context["request"].build_absolute_uri(
        f"{URL}new-events/?{response.context['query']}"
        f"{'&' if response.context['query'] else ''}since={response.context['live_since']}"
    )


def test_the_page_asks_from_the_newest_row_it_shows(admin, acme, alpha):
    client = signed_in(admin)
    client.get(URL)  # the day's view, recorded once
    url = new_events_url(client)
    assert client.get(url).content.strip() == b""
    record("project.viewed", organization=acme, project=alpha, target=alpha)
    record("organization.plan_changed", organization=acme, target=acme)
    response = client.get(url)
    assert response.status_code == 200
    assert b">2 new events</button>" in response.content


def test_new_events_follow_the_filters_and_the_member_scope(member, acme, alpha, beta):
    client = signed_in(member)
    client.get(URL)
    url = new_events_url(client)
    record("project.viewed", organization=acme, project=beta, target=beta)  # not theirs
    record("organization.plan_changed", organization=acme, target=acme)  # organization-level
    assert client.get(url).content.strip() == b""
    record("project.viewed", organization=acme, project=alpha, target=alpha)
    assert b">1 new event</button>" in client.get(url).content

    critical_only = new_events_url(client, severity="critical")
    assert client.get(critical_only).content.strip() == b""


def test_the_count_stops_at_99(owner, acme, alpha):
    client = signed_in(owner)
    client.get(URL)
    url = new_events_url(client)
    for _ in range(101):
        record("project.viewed", organization=acme, project=alpha, target=alpha)
    assert b">99+ new events</button>" in client.get(url).content


def test_a_mangled_position_is_a_clear_400(owner):
    response = signed_in(owner).get(f"{URL}new-events/?since=nope")
    assert response.status_code == 400
    assert b"not a valid position" in response.content


def test_outsiders_get_404_and_non_enterprise_403(outsider, globex_owner):
    assert signed_in(outsider).get(f"{URL}new-events/?since=x").status_code == 404
    response = signed_in(globex_owner).get("/orgs/globex/settings/audit-logs/new-events/")
    assert response.status_code == 403


def test_pages_say_their_position_without_counting(owner, acme):
    generate(acme, 120, days=5)
    client = signed_in(owner)
    first = client.get(URL, {"range": "all"})
    assert first.context["page"].position == "Events 1–50"
    second = client.get(URL, {"range": "all", "cursor": first.context["page"].older.encode()})
    assert second.context["page"].position == "Events 51–100"
    assert "Events 51–100" in second.content.decode()
    back = client.get(URL, {"range": "all", "cursor": second.context["page"].newer.encode()})
    assert back.context["page"].position == "Events 1–50"
    assert [r.event.id for r in back.context["rows"]] == [
        r.event.id for r in first.context["rows"]
    ]


def test_a_link_made_before_positions_still_pages_without_one(owner, acme):
    generate(acme, 80, days=5)
    client = signed_in(owner)
    edge = client.get(URL, {"range": "all"}).context["page"].older
    old_style = signing.dumps(
        [edge.occurred_at.isoformat(), edge.id, OLDER], salt="auditlogs.cursor", compress=True
    )
    response = client.get(URL, {"range": "all", "cursor": old_style})
    assert response.context["cursor_error"] == ""
    assert len(response.context["rows"]) > 0
    assert response.context["page"].position == ""
    assert Cursor.decode(old_style).position is None
