"""Reading the log: rows as sentences, click-to-filter, several severities, partial actors,
actor types, hiding views, deleted projects in the Project filter, and times in the person's
zone (relative, exact on hover, Local/UTC)."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.utils import timezone

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording.catalogue import EVENT_TYPES
from auditlogs.recording.context import Actor, ActorType, AuditContext, using_context
from auditlogs.web.access import log_viewer_for
from auditlogs.web.filters import AuditEventFilter
from auditlogs.web.presenters import fill_sentence
from orgs import services as org_services
from projects import services as project_services
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/"


def page(client, **params):
    return client.get(f"{URL}?{urlencode(params, doseq=True)}")


def sentences(response) -> list[str]:
    return [re.sub(r"<[^>]+>", "", str(row.sentence)).replace("&#x27;", "'")
            for row in response.context["rows"]]


def shown(response) -> list[str]:
    return [row.event.action for row in response.context["rows"]]


def as_admin(admin):
    return using_context(AuditContext(actor=Actor.for_user(admin), request_id="req-1"))


@pytest.fixture
def history(acme, alpha, beta, admin, owner, member, bot):
    with as_admin(admin):
        project_services.chatbot_update(chatbot=bot, name="Draft bot", api_key="sk-1")
        project_services.chatbot_delete(chatbot=bot)
    with using_context(AuditContext(actor=Actor.for_user(owner))):
        org_services.member_change_role(membership=member.memberships.get(), role="admin")
        project_services.project_record_view(project=alpha)
    record("organization.plan_changed", organization=acme, target=acme,
           actor=Actor(type=ActorType.API, id=7, label="API token “ci”"),
           changes={"plan": ["team", "enterprise"]})


class TestSentences:
    def test_rows_read_as_sentences_from_the_names_stored_at_the_time(
        self, admin, history, alpha
    ):
        alpha.name = "Renamed later"
        alpha.save()
        said = sentences(page(signed_in(admin)))
        assert "admin@acme.test deleted chatbot “Draft bot” in Alpha" in said
        assert "owner@acme.test changed member@acme.test's role from member to admin" in said
        assert "admin@acme.test changed name, api_key of chatbot “Draft bot” in Alpha" in said
        assert "API token “ci” changed the plan from team to enterprise" in said

    def test_every_event_type_declares_a_sentence(self):
        assert [t.key for t in EVENT_TYPES if not t.sentence] == []

    def test_an_optional_part_is_left_out_when_its_value_is_missing(self):
        def value(name, arg):
            return {"actor": "a", "meta": None}.get(name)

        assert str(fill_sentence("{actor} added[ as {meta:role}]", value)) == "a added"
        assert "—" in str(fill_sentence("{actor} removed {target}", value))

    def test_a_deleted_project_reads_deleted_and_stays_a_filter_for_admins(
        self, admin, beta, acme
    ):
        record("project.viewed", organization=acme, project=beta, target=beta)
        beta_id = beta.id
        project_services.project_delete(project=beta)
        response = page(signed_in(admin))
        assert any("project Beta (deleted)" in s for s in sentences(response))
        choices = response.context["filters"].deleted_project_choices
        assert (str(beta_id), "Beta (deleted)") in choices
        assert "Deleted projects" in response.text
        narrowed = page(signed_in(admin), project=beta_id)
        assert set(shown(narrowed)) == {"project.viewed", "project.deleted"}

    def test_members_are_not_offered_deleted_projects(self, member, alpha, beta):
        project_services.project_delete(project=beta)
        response = page(signed_in(member))
        assert response.context["filters"].deleted_project_choices == []
        assert "Deleted projects" not in response.text


class TestClickToFilter:
    def links(self, response, css):
        return re.findall(rf'class="filter-link {css}" href="([^"]+)"', response.text)

    def test_actor_target_project_and_event_type_are_links_that_add_the_filter(
        self, admin, history, alpha
    ):
        client = signed_in(admin)
        response = page(client, severity="critical")
        actor = self.links(response, "event-actor")[0]
        assert parse_qs(urlparse(actor.replace("&amp;", "&")).query) == {
            "severity": ["critical"], "actor": ["admin@acme.test"]}
        target = self.links(response, "event-target")[0].replace("&amp;", "&")
        assert parse_qs(urlparse(target).query)["q"] == ['target:"Draft bot"']
        assert shown(client.get(target)) == ["chatbot.deleted"]
        project = re.search(r'href="([^"]+project=\d+[^"]*)"', response.text).group(1)
        assert set(shown(client.get(project.replace("&amp;", "&")))) <= {
            "chatbot.deleted", "chatbot.updated", "project.viewed"}
        action = re.search(r'class="event-name filter-link" href="([^"]+)"', response.text)
        assert "action=chatbot.deleted" in action.group(1)

    def test_the_links_leave_the_cursor_out(self, admin, history):
        response = page(signed_in(admin), actor="admin")
        assert all("cursor=" not in link for link in self.links(response, "event-actor"))


class TestFilters:
    def test_several_severities_are_checkboxes(self, admin, history):
        response = page(signed_in(admin), severity=["warning", "critical"])
        assert set(shown(response)) == {"chatbot.deleted", "member.role_changed",
                                        "organization.plan_changed"}
        checked = r'type="checkbox" name="severity" value="warning"\s+checked'
        assert re.search(checked, response.text)
        assert re.search(r'type="checkbox" name="severity" value="info"\s+>', response.text)

    def test_actor_matches_part_of_the_label_in_any_case(self, admin, history):
        assert set(shown(page(signed_in(admin), actor="ADMIN@"))) == {
            "chatbot.deleted", "chatbot.updated"}

    @pytest.mark.parametrize("search", [
        {"q": "éclair"}, {"q": "ÉCLAIR STRAßE"}, {"q": 'target:"éclair straße"'},
        {"actor": "zoë"}, {"q": "actor:ZOË"},
    ])
    def test_search_matches_any_letter_case_of_any_alphabet(self, admin, acme, alpha, search):
        """SQLite (the default database) folded ASCII letters only: "éclair" found nothing."""
        with using_context(AuditContext(actor=Actor(ActorType.USER, None, "Zoë@acme.test"))):
            project_services.chatbot_create(
                project=alpha, name="Éclair Straße Bot", model_name="gpt-4o-mini",
                temperature=0.5,
            )
        assert shown(page(signed_in(admin), **search)) == ["chatbot.created"]

    def test_recent_actors_are_suggested(self, admin, history):
        response = page(signed_in(admin))
        assert '<option value="owner@acme.test">' in response.text
        assert "owner@acme.test" in response.context["recent_actors"]

    def test_a_member_is_suggested_only_the_actors_of_their_projects_events(
        self, acme, admin, member, member_membership, alpha, beta
    ):
        def by(label):
            return Actor(ActorType.USER, None, label)

        record("project.viewed", organization=acme, project=alpha, actor=by("in-alpha@acme.test"))
        record("project.viewed", organization=acme, project=beta, actor=by("in-beta@acme.test"))
        record("organization.plan_changed", organization=acme, actor=by("no-project@acme.test"),
               changes={"plan": ["team", "enterprise"]})
        assert {"in-alpha@acme.test", "in-beta@acme.test", "no-project@acme.test"} <= set(
            page(signed_in(admin)).context["recent_actors"])
        suggested = page(signed_in(member)).context["recent_actors"]
        assert "in-alpha@acme.test" in suggested
        assert not {"in-beta@acme.test", "no-project@acme.test"} & set(suggested)
        member_membership.projects.clear()
        assert page(signed_in(member)).context["recent_actors"] == []

    def test_each_filterset_has_its_own_filters_bound_to_itself(self, admin, member):
        """The declared filters are copied for each FilterSet without deep copies: each copy's
        parent, and the method it filters with, must be its own FilterSet's."""
        first = AuditEventFilter({}, viewer=log_viewer_for(admin, "acme"))
        second = AuditEventFilter({}, viewer=log_viewer_for(member, "acme"))
        for name, declared in AuditEventFilter.base_filters.items():
            mine, theirs = first.filters[name], second.filters[name]
            assert mine is not declared and mine is not theirs
            assert mine.extra is not declared.extra
            assert mine.parent is first and theirs.parent is second
            assert not hasattr(declared, "parent")
            if declared.method:
                assert mine.filter.f is mine and theirs.filter.f is theirs

    def test_actor_type(self, admin, history):
        assert shown(page(signed_in(admin), actor_type="api")) == ["organization.plan_changed"]
        assert "Choose an actor type" in page(signed_in(admin), actor_type="robot").text

    def test_hide_views_leaves_reads_out(self, admin, history):
        client = signed_in(admin)
        assert "project.viewed" in shown(page(client))
        hidden = shown(page(client, hide_views="1"))
        assert hidden and not [a for a in hidden if a.endswith(".viewed")]


class TestTimes:
    def test_rows_read_relative_with_the_exact_local_second_on_hover(self, admin, acme):
        moment = timezone.now() - timedelta(minutes=3)
        with using_context(AuditContext(occurred_at=moment)):
            record("organization.updated", organization=acme, target=acme)
        response = page(signed_in(admin))
        row = response.context["rows"][0]
        assert row.occurred_relative == "3 min ago"
        local = timezone.localtime(moment, response.context["viewer"].tzinfo)
        assert row.occurred_exact == f"{local.day} {local:%b %Y, %H:%M:%S} {local.tzname()}"
        assert f'title="{row.occurred_exact}">3 min ago</time>' in response.text

    def test_the_utc_switch_is_remembered_for_the_person(self, admin, acme):
        client = signed_in(admin)
        assert "Times in Europe/Berlin" in page(client).text
        response = client.post("/accounts/profile/times/", {"times": "utc", "next": URL})
        assert response.status_code == 302 and response["Location"] == URL
        admin.refresh_from_db()
        assert admin.times_in_utc
        assert "Times in UTC" in signed_in(admin).get(URL).text
        client.post("/accounts/profile/times/", {"times": "local", "next": "https://evil.test/"})
        admin.refresh_from_db()
        assert not admin.times_in_utc

    def test_the_switch_does_not_send_anyone_elsewhere(self, admin):
        response = signed_in(admin).post(
            "/accounts/profile/times/", {"times": "utc", "next": "https://evil.test/"})
        assert response["Location"] == "/accounts/profile/"

    def test_support_staff_see_the_banner_time_with_its_zone(self, staff, acme):
        client = signed_in(staff)
        client.post("/support/", {"organization": "acme", "reason": "Ticket 4242: a bot vanished"})
        response = client.get(URL)
        assert re.search(r"until <time datetime=\"[^\"]+\" title=\"[^\"]+\">\d+ \w{3} \d{4}, "
                         r"\d\d:\d\d:\d\d \w+</time> \(Europe/Berlin\)", response.text)
        support = client.get("/support/")
        assert "Times in Europe/Berlin" not in support.text and "Times in UTC" in support.text
        assert AuditEvent.objects.filter(action="support.access_granted").exists()
