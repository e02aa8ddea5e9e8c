"""The Audit Logs page through the test client: personas, filters, rows, paging, bad input."""

from datetime import UTC, timedelta
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording.catalogue import Severity
from auditlogs.recording.context import Actor, acting_as
from projects import services as project_services
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/"


def page(client, **params):
    query = urlencode(params, doseq=True)
    return client.get(f"{URL}?{query}" if query else URL)


def shown_ids(response) -> list[int]:
    return [row.event.id for row in response.context["rows"]]


def at(moment):
    return acting_as(Actor.system(), at=moment)


@pytest.fixture
def log(acme, alpha, beta, member, bot, initech, initech_project):
    """A small history in Acme: org-level events and events of Alpha and Beta."""
    now = timezone.now()
    made = {}
    with at(now - timedelta(days=40)):
        made["old_alpha"] = record("project.viewed", organization=acme, project=alpha)
    with at(now - timedelta(hours=5)):
        made["org"] = record("organization.updated", organization=acme, target=acme)
    with at(now - timedelta(hours=3)):
        made["beta_critical"] = record(
            "chatbot.deleted", organization=acme, project=beta
        )
    with at(now - timedelta(hours=2)):
        made["alpha_warning"] = record(
            "member.role_changed", organization=acme, project=alpha,
            target=member,
        )
    with at(now - timedelta(hours=1)):
        made["alpha_critical"] = record(
            "chatbot.deleted", organization=acme, project=alpha, target=bot
        )
    record("project.viewed", organization=initech, project=initech_project)
    return made


class TestWhoSeesWhat:
    def test_owner_and_admin_see_every_event_of_the_organization(self, owner, admin, acme, log):
        for user in (owner, admin):
            response = page(signed_in(user), range="90d")
            assert response.status_code == 200
            ids = set(shown_ids(response))
            assert {e.id for e in log.values()} <= ids
            assert all(row.event.organization_id == acme.pk
                       for row in response.context["rows"])

    def test_a_member_sees_only_their_projects_events(self, member, alpha, log):
        response = page(signed_in(member), range="90d")
        assert response.status_code == 200
        ids = shown_ids(response)
        assert set(ids) == {log["old_alpha"].id, log["alpha_warning"].id, log["alpha_critical"].id}
        assert b"Beta" not in response.content  # not in rows, not in the project choices
        assert response.context["filters"].project_choices == [(str(alpha.pk), "Alpha")]

    def test_each_viewer_s_form_offers_and_accepts_only_their_own_projects(
        self, owner, member, alpha, beta, log
    ):
        """The filters' form class is made once per process; the project choices are each
        viewer's, whoever's page came before."""
        for _ in range(2):
            owner_page = page(signed_in(owner), range="90d")
            member_page = page(signed_in(member), range="90d")
            assert f'<option value="{beta.pk}"' in owner_page.text
            assert f'<option value="{alpha.pk}"' in member_page.text
            assert f'<option value="{beta.pk}"' not in member_page.text
        refused = page(signed_in(member), range="90d", project=beta.pk)
        assert refused.context["rows"] == [] and "project" in refused.context["form"].errors
        assert page(signed_in(owner), range="90d", project=beta.pk).context["rows"]

    def test_a_member_cannot_reach_other_projects_by_id(self, member, beta, log):
        client = signed_in(member)
        response = page(client, project=beta.pk, range="90d")
        assert response.status_code == 200 and shown_ids(response) == []
        assert "That project does not exist or is not one you can see" in response.text
        for key in ("org", "beta_critical"):
            assert client.get(f"{URL}events/{log[key].id}/").status_code == 404

    def test_an_outsider_gets_404_for_everything_of_another_organization(self, outsider, log):
        client = signed_in(outsider)
        assert client.get(URL).status_code == 404
        assert client.get(f"{URL}events/{log['org'].id}/").status_code == 404
        assert client.get(URL, headers={"HX-Request": "true"}).status_code == 404
        assert client.get("/orgs/no-such-org/settings/audit-logs/").status_code == 404

    def test_an_event_id_of_another_organization_is_404_even_for_an_admin(
        self, initech, admin, log
    ):
        foreign = AuditEvent.objects.get(organization=initech)
        assert signed_in(admin).get(f"{URL}events/{foreign.id}/").status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, personas):
        response = signed_in(None).get(URL)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_a_free_plan_organization_sees_the_enterprise_page_and_no_data(
        self, globex, globex_owner
    ):
        record("organization.updated", organization=globex)
        client = signed_in(globex_owner)
        response = client.get("/orgs/globex/settings/audit-logs/")
        assert response.status_code == 200
        assert "Enterprise feature" in response.text
        assert "Audit Logs are available on the Enterprise plan only." in response.text
        assert "Organization updated" not in response.text
        event = AuditEvent.objects.get(organization=globex)
        assert client.get(f"/orgs/globex/settings/audit-logs/events/{event.id}/").status_code == 403
        htmx = client.get("/orgs/globex/settings/audit-logs/", headers={"HX-Request": "true"})
        assert htmx.status_code == 403 and "Organization updated" not in htmx.text

    def test_the_sidebar_item_shows_for_every_persona_of_an_organization(
        self, owner, member, globex_owner
    ):
        for user, slug in [(owner, "acme"), (member, "acme"),
                           (globex_owner, "globex")]:
            response = signed_in(user).get(f"/orgs/{slug}/settings/")
            assert f'href="/orgs/{slug}/settings/audit-logs/"' in response.text
            assert ">Audit Logs<" in response.text


class TestRows:
    def test_rows_are_newest_first_with_label_project_time_and_badge(self, admin, alpha, log):
        response = page(signed_in(admin))
        ids = shown_ids(response)
        assert ids == sorted(ids, key=lambda i: AuditEvent.objects.get(pk=i).occurred_at,
                             reverse=True)
        html = response.text
        assert "Chatbot deleted" in html and ">Critical<" in html and ">Warning<" in html
        # The project in a row's sentence narrows the log to it.
        assert f'href="/orgs/acme/settings/audit-logs/?project={alpha.id}"' in html
        assert "Times in Europe/Berlin" in html
        critical = log["alpha_critical"]
        utc = critical.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert f'datetime="{utc}"' in html
        local = timezone.localtime(critical.occurred_at, timezone=response.context["viewer"].tzinfo)
        assert local.strftime("%H:%M") in html
        # Info is a link to the event's page (a disclosure button once the script runs), its
        # accessible name saying which event it opens, to the second.
        name = f" about Chatbot deleted, {local:%-d %b %Y, %H:%M:%S} {local.tzname()}"
        assert f'>Info<span class="visually-hidden">{name}</span></a>' in html

    def test_a_deleted_projects_events_read_its_name_marked_deleted(self, beta, admin, log):
        project_services.project_delete(project=beta)
        response = page(signed_in(admin))
        cells = {row.event.id: row.project for row in response.context["rows"]}
        assert cells[log["beta_critical"].id].deleted
        assert cells[log["beta_critical"].id].text == "Beta (deleted)"
        assert "Beta (deleted)" in response.text and "Project not found" not in response.text

    def test_organization_level_events_show_a_dash(self, admin, log):
        response = page(signed_in(admin))
        cells = {row.event.id: row.project for row in response.context["rows"]}
        org_cell = cells[log["org"].id]
        assert org_cell.project_id is None and not org_cell.not_found

    def test_the_viewers_own_timezone_wins_over_the_organizations(self, admin, log):
        admin.timezone = "Asia/Tokyo"
        admin.save()
        response = page(signed_in(admin))
        assert "Times in Asia/Tokyo" in response.text


class TestFilters:
    def test_severity_filters_and_may_repeat(self, admin, log):
        client = signed_in(admin)
        critical = shown_ids(page(client, severity="critical"))
        assert set(critical) == {log["beta_critical"].id, log["alpha_critical"].id}
        both = shown_ids(page(client, severity=["critical", "warning"]))
        assert set(both) == {log["beta_critical"].id, log["alpha_critical"].id,
                             log["alpha_warning"].id}
        assert shown_ids(page(client, severity="")) == shown_ids(page(client))

    def test_project_filter(self, admin, alpha, log):
        ids = shown_ids(page(signed_in(admin), project=alpha.pk))
        assert set(ids) == {log["alpha_warning"].id, log["alpha_critical"].id}

    def test_default_range_is_the_last_seven_days_and_presets_widen_it(self, admin, log):
        client = signed_in(admin)
        assert log["old_alpha"].id not in shown_ids(page(client))
        assert log["old_alpha"].id in shown_ids(page(client, range="90d"))
        assert log["old_alpha"].id in shown_ids(page(client, range="all"))
        recent = shown_ids(page(client, range="24h"))
        assert log["alpha_critical"].id in recent and log["old_alpha"].id not in recent

    def test_custom_dates_are_read_in_the_viewers_timezone(self, admin, acme, log):
        client = signed_in(admin)
        old = log["old_alpha"].occurred_at.astimezone(response_tz(acme))
        day = old.date().isoformat()
        assert shown_ids(page(client, start=day, end=day)) == [log["old_alpha"].id]
        minute = old.replace(second=0, microsecond=0)
        ids = shown_ids(page(
            client,
            start=minute.strftime("%Y-%m-%dT%H:%M"),
            end=(minute + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        ))
        assert ids == [log["old_alpha"].id]

    def test_event_type_actor_and_search(self, admin, owner, acme, beta, log):
        client = signed_in(admin)
        with acting_as(Actor.for_user(owner)):
            mine = record("project.viewed", organization=acme, project=beta)
        assert shown_ids(page(client, action="organization.updated")) == [log["org"].id]
        assert shown_ids(page(client, actor="OWNER@acme.test")) == [mine.id]
        assert set(shown_ids(page(client, q="chatbot del"))) == {
            log["beta_critical"].id, log["alpha_critical"].id
        }
        assert shown_ids(page(client, q="member@acme")) == [log["alpha_warning"].id]

    def test_an_htmx_request_gets_only_the_results_partial(self, admin, log):
        response = signed_in(admin).get(
            f"{URL}?severity=critical", headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<section id="results"')
        assert "<html" not in response.text and "Chatbot deleted" in response.text
        assert "HX-Request" in response["Vary"]


def response_tz(organization):
    from zoneinfo import ZoneInfo

    return ZoneInfo(organization.timezone)


class TestBadInput:
    @pytest.mark.parametrize(
        "params, message",
        [
            ({"severity": "loud"}, "is not a severity"),
            ({"start": "yesterday"}, "is not a date"),
            ({"start": "2026-02-30"}, "is not a date"),
            ({"end": "2026-13-01"}, "is not a date"),
            ({"start": "2026-05-02", "end": "2026-05-01"}, "must be after its start"),
            ({"project": "999999"}, "does not exist or is not one you can see"),
            ({"project": "abc"}, "does not exist or is not one you can see"),
            ({"range": "forever"}, "Choose a date range"),
            ({"action": "project.exploded"}, "is not an event type"),
            ({"q": "x" * 5000}, "at most 200 characters"),
            ({"start": "9999-12-31T23:59"}, ""),
            ({"start": "0001-01-01"}, ""),
        ],
    )
    def test_bad_filters_answer_200_with_a_message_and_no_rows(self, admin, log, params, message):
        response = page(signed_in(admin), **params)
        assert response.status_code == 200
        assert message in response.text
        if message:
            assert shown_ids(response) == []
            assert 'class="filter-errors"' in response.text

    def test_a_project_of_another_organization_shows_nothing(self, admin, initech_project, log):
        response = page(signed_in(admin), project=initech_project.pk)
        assert shown_ids(response) == []
        assert "does not exist or is not one you can see" in response.text

    def test_script_tags_are_shown_as_text(self, admin, log):
        response = page(signed_in(admin), q="<script>alert(1)</script>")
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;" in response.text

    @pytest.mark.parametrize("cursor", ["garbage", "a" * 3000, "eyJ0IjoxfQ:forged:sig"])
    def test_a_forged_cursor_shows_the_newest_events_with_a_message(self, admin, log, cursor):
        response = page(signed_in(admin), cursor=cursor)
        assert response.status_code == 200
        assert "This page link is not valid" in response.text
        assert shown_ids(response)[0] == log["alpha_critical"].id


class TestPaging:
    @pytest.fixture
    def many(self, acme, alpha):
        start = timezone.now() - timedelta(days=1)
        ids = []
        for i in range(120):
            with at(start + timedelta(minutes=i)):
                ids.append(record("project.viewed", organization=acme,
                                  project=alpha).id)
        return ids[::-1]  # newest first

    def test_older_and_newer_walk_the_log_by_cursor(self, admin, many):
        client = signed_in(admin)
        first = page(client)
        assert shown_ids(first) == many[:50]
        assert first.context["page"].newer is None
        second = page(client, cursor=first.context["page"].older.encode())
        assert shown_ids(second) == many[50:100]
        third = page(client, cursor=second.context["page"].older.encode())
        assert shown_ids(third) == many[100:120]
        assert third.context["page"].older is None
        back = page(client, cursor=third.context["page"].newer.encode())
        assert shown_ids(back) == many[50:100]
        assert "Older events" in second.text and "Newer events" in second.text

    def test_paging_keeps_the_filters_in_the_links(self, admin, alpha, many):
        response = page(signed_in(admin), severity="info", project=alpha.pk)
        assert "severity=info" in response.text and f"project={alpha.pk}" in response.text

    def test_events_with_the_same_time_are_neither_lost_nor_repeated(self, acme, admin):
        moment = timezone.now() - timedelta(hours=1)
        with at(moment):
            ids = [record("project.viewed", organization=acme).id for _ in range(75)]
        client = signed_in(admin)
        first = page(client)
        second = page(client, cursor=first.context["page"].older.encode())
        assert sorted(shown_ids(first) + shown_ids(second)) == sorted(ids)

    def test_the_empty_state_gives_the_documents_advice(self, admin):
        response = page(signed_in(admin), severity="critical")
        assert "No events match these filters." in response.text
        assert "Widen the date range" in response.text
        assert "All projects" in response.text and "Refresh" in response.text


class TestDailyView:
    def test_opening_the_page_records_audit_log_viewed_once_per_day(self, admin, acme):
        client = signed_in(admin)
        for _ in range(3):
            page(client)
        viewed = AuditEvent.objects.filter(action="audit_log.viewed", organization=acme)
        assert viewed.count() == 1
        assert viewed.get().actor_label == "admin@acme.test"
        assert viewed.get().severity == Severity.INFO

    def test_another_session_the_same_day_records_nothing_more(self, admin, acme):
        page(signed_in(admin))
        page(signed_in(admin))  # a second sign-in, e.g. another browser
        viewed = AuditEvent.objects.filter(action="audit_log.viewed", organization=acme)
        assert viewed.count() == 1

    def test_the_session_skips_the_days_lookup_until_the_time_zone_changes(self, admin):
        client = signed_in(admin)
        page(client)

        def looked_up() -> bool:
            with CaptureQueriesContext(connection) as queries:
                page(client)
            return any("audit_log.viewed" in q["sql"] for q in queries.captured_queries)

        assert not looked_up()
        admin.timezone = "Pacific/Kiritimati"
        admin.save()
        assert looked_up()
        assert not looked_up()

    def test_a_new_day_is_recorded_again_in_the_same_session(self, admin, acme):
        client = signed_in(admin)
        page(client)
        tomorrow = timezone.now() + timedelta(days=1)
        with mock.patch("django.utils.timezone.now", return_value=tomorrow):
            page(client)
            page(client)
        viewed = AuditEvent.objects.filter(action="audit_log.viewed", organization=acme)
        assert viewed.count() == 2


def test_restoring_history_gets_the_whole_page(admin, log):
    response = signed_in(admin).get(
        URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.text and 'id="filters"' in response.text
