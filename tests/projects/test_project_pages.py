"""The dashboard, project and chatbot pages for every persona, with their events."""

import pytest

from auditlogs.recording.catalogue import Severity
from auditlogs.recording.changes import MASK
from projects import services as project_services
from projects.models import Chatbot, Project
from tests.helpers.clients import signed_in
from tests.helpers.concurrency import (
    HeldAfterFirstCall,
    InThread,
    only_on_postgresql,
    wait_until_blocked,
)


def chatbot_data(**overrides):
    data = {"name": "Greeter", "instructions": "Say hello.", "model_name": "gpt-4o",
            "temperature": "0.5", "api_key": "sk-live-verysecret"}
    data.update(overrides)
    return data


class TestDashboard:
    def test_owners_and_admins_see_every_project_members_their_own(self, owner, admin, member):
        for user in (owner, admin):
            html = signed_in(user).get("/orgs/acme/").text
            assert "Alpha" in html and "Beta" in html
        html = signed_in(member).get("/orgs/acme/").text
        assert "Alpha" in html and "Beta" not in html

    def test_outsiders_get_404(self, outsider, globex_owner, staff):
        for user in (outsider, globex_owner, staff):
            assert signed_in(user).get("/orgs/acme/").status_code == 404

    def test_the_account_menu_lists_organizations_settings_and_sign_out(self, admin):
        html = signed_in(admin).get("/orgs/acme/").text
        assert "<summary>Account</summary>" in html
        assert 'href="/orgs/acme/settings/"' in html and ">Settings<" in html
        assert "Sign out" in html

    def test_a_free_plan_organization_works_too(self, globex_owner):
        response = signed_in(globex_owner).get("/orgs/globex/")
        assert response.status_code == 200 and "Gadget" in response.text


class TestProjectPages:
    def test_opening_a_project_records_project_viewed(self, member, alpha, acme, events):
        response = signed_in(member).get(f"/orgs/acme/projects/{alpha.slug}/")
        assert response.status_code == 200 and "Helper" in response.text
        (event,) = events(acme, action="project.viewed")
        assert event.project_id == alpha.pk and event.actor_label == "member@acme.test"
        assert event.severity == Severity.INFO and event.target_label == "Alpha"

    def test_a_member_gets_404_for_a_project_not_assigned(self, member, beta, events):
        client = signed_in(member)
        for path in ["", "edit/", "delete/", "chatbots/new/"]:
            assert client.get(f"/orgs/acme/projects/{beta.slug}/{path}").status_code == 404
        assert events() == []

    def test_another_organizations_project_is_404_whatever_the_slug(self, admin, initech_project):
        client = signed_in(admin)
        assert client.get(f"/orgs/acme/projects/{initech_project.slug}/").status_code == 404
        assert client.get(f"/orgs/initech/projects/{initech_project.slug}/").status_code \
            == 404

    def test_an_admin_creates_a_project(self, admin, acme, events):
        response = signed_in(admin).post(
            "/orgs/acme/projects/new/", {"name": "Gamma", "description": "New"}
        )
        project = Project.objects.get(organization=acme, name="Gamma")
        assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
        (event,) = events(acme, action="project.created")
        assert event.project_id == project.pk and event.target_label == "Gamma"

    def test_a_project_name_may_repeat_with_a_new_slug(self, admin, acme):
        signed_in(admin).post("/orgs/acme/projects/new/", {"name": "Alpha"})
        slugs = set(Project.objects.filter(organization=acme, name="Alpha")
                    .values_list("slug", flat=True))
        assert slugs == {"alpha", "alpha-2"}

    def test_members_may_not_create_edit_or_delete_projects(self, member, alpha, events):
        client = signed_in(member)
        assert client.post("/orgs/acme/projects/new/", {"name": "X"}).status_code == 403
        base = f"/orgs/acme/projects/{alpha.slug}/"
        assert client.post(base + "edit/", {"name": "X"}).status_code == 403
        assert client.post(base + "delete/").status_code == 403
        assert Project.objects.filter(pk=alpha.pk, name="Alpha").exists()
        assert events() == []

    def test_editing_a_project_records_the_diff(self, admin, alpha, acme, events):
        signed_in(admin).post(
            f"/orgs/acme/projects/{alpha.slug}/edit/", {"name": "Alpha 2", "description": ""}
        )
        (event,) = events(acme, action="project.updated")
        assert event.changes == {"name": ["Alpha", "Alpha 2"]}

    def test_deleting_a_project_asks_first_then_records_a_critical_event(
        self, owner, alpha, acme, events
    ):
        client = signed_in(owner)
        confirm = client.get(f"/orgs/acme/projects/{alpha.slug}/delete/")
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        assert Project.objects.filter(pk=alpha.pk).exists()
        client.post(f"/orgs/acme/projects/{alpha.slug}/delete/")
        assert not Project.objects.filter(pk=alpha.pk).exists()
        (event,) = events(acme, action="project.deleted")
        assert event.severity == Severity.CRITICAL and event.project_name == "Alpha"
        assert event.metadata == {"chatbots_deleted": ["Helper"], "chatbots_deleted_count": 1}

    def test_deleting_a_project_with_500_long_named_chatbots_records_one_bounded_event(
        self, acme, beta, owner, events
    ):
        names = [f"{n:03d} {'Ünïcødé chatbot name 🔒 ' * 5}"[:100] for n in range(500)]
        Chatbot.objects.bulk_create([Chatbot(project=beta, name=name) for name in names])
        response = signed_in(owner).post(f"/orgs/acme/projects/{beta.slug}/delete/")
        assert response.status_code == 302
        assert not Project.objects.filter(pk=beta.pk).exists()
        (event,) = events(acme, action="project.deleted")
        assert event.metadata["chatbots_deleted_count"] == 500
        sample = event.metadata["chatbots_deleted"]
        assert 0 < len(sample) < 500 and sample == sorted(names)[: len(sample)]

    @pytest.mark.parametrize("data, message", [
        ({"name": ""}, "This field is required"),
        ({"name": "   "}, "This field is required"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "Gamma\r\nDelta"}, "cannot contain line breaks"),
        ({"name": "Gamma\tDelta"}, "cannot contain line breaks"),
        ({"name": "ok", "description": "d" * 501}, "at most 500 characters"),
    ])
    def test_bad_project_input(self, admin, acme, events, data, message):
        response = signed_in(admin).post("/orgs/acme/projects/new/", data)
        assert response.status_code == 200 and message in response.text
        assert Project.objects.filter(organization=acme).count() == 2
        assert events() == []


class TestChatbots:
    def base(self, project):
        return f"/orgs/acme/projects/{project.slug}/chatbots/"

    def test_a_member_creates_a_chatbot_in_an_assigned_project_without_leaking_the_key(
        self, member, alpha, acme, events
    ):
        response = signed_in(member).post(self.base(alpha) + "new/", chatbot_data())
        assert response.status_code == 302
        bot = Chatbot.objects.get(name="Greeter")
        assert bot.api_key == "sk-live-verysecret"
        (event,) = events(acme, action="chatbot.created")
        assert event.project_id == alpha.pk and event.target_label == "Greeter"
        assert event.changes["api_key"] == [MASK, MASK] or event.changes["api_key"] == ["", MASK]
        assert "verysecret" not in str(event.changes)

    def test_editing_records_a_diff_with_the_key_masked(self, admin, alpha, bot, acme, events):
        signed_in(admin).post(
            self.base(alpha) + f"{bot.pk}/edit/",
            chatbot_data(name="Helper", instructions="", model_name="gpt-4o-mini",
                         temperature="0.9", api_key="sk-rotated-secret"),
        )
        (event,) = events(acme, action="chatbot.updated")
        assert event.changes == {"temperature": [0.7, 0.9], "api_key": [MASK, MASK]}
        assert "secret" not in str(event.changes)

    def test_an_empty_key_keeps_the_current_one(self, admin, alpha, bot, events):
        signed_in(admin).post(
            self.base(alpha) + f"{bot.pk}/edit/",
            chatbot_data(name="Helper", instructions="", model_name="gpt-4o-mini",
                         temperature="0.7", api_key=""),
        )
        bot.refresh_from_db()
        assert bot.api_key == "sk-secret-123"
        assert events() == []

    def test_the_edit_form_never_shows_the_key(self, admin, alpha, bot):
        html = signed_in(admin).get(self.base(alpha) + f"{bot.pk}/edit/").text
        assert "sk-secret-123" not in html

    def test_deleting_a_chatbot_asks_first_then_records_a_critical_event(
        self, member, alpha, bot, acme, events
    ):
        client = signed_in(member)
        url = self.base(alpha) + f"{bot.pk}/delete/"
        assert "cannot be undone" in client.get(url).text
        client.post(url)
        assert not Chatbot.objects.filter(pk=bot.pk).exists()
        (event,) = events(acme, action="chatbot.deleted")
        assert event.severity == Severity.CRITICAL and event.target_label == "Helper"

    def test_a_chatbot_is_only_found_through_its_project(self, beta, admin, alpha, initech_project):
        other = Chatbot.objects.create(project=beta, name="Other")
        client = signed_in(admin)
        assert client.get(self.base(alpha) + f"{other.pk}/edit/").status_code == 404
        foreign = Chatbot.objects.create(project=initech_project, name="Foreign")
        assert client.post(self.base(alpha) + f"{foreign.pk}/delete/").status_code == 404
        assert Chatbot.objects.filter(pk=foreign.pk).exists()

    @pytest.mark.parametrize("overrides, message", [
        ({"name": ""}, "This field is required"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "Bot\nBcc: x@example.com"}, "cannot contain line breaks"),
        ({"name": "Bot\x00"}, "Null characters are not allowed"),
        ({"name": "Bot\x1b[31m"}, "cannot contain line breaks"),
        ({"temperature": "hot"}, "Enter a number"),
        ({"temperature": "3"}, "less than or equal to 2"),
        ({"temperature": "-1"}, "greater than or equal to 0"),
        ({"model_name": "gpt-99"}, "Select a valid choice"),
        ({"instructions": "i" * 4001}, "at most 4000 characters"),
        ({"api_key": "k" * 201}, "at most 200 characters"),
    ])
    def test_bad_chatbot_input(self, admin, alpha, events, overrides, message):
        response = signed_in(admin).post(
            self.base(alpha) + "new/", chatbot_data(**overrides)
        )
        assert response.status_code == 200 and message in response.text
        assert Chatbot.objects.count() == 1 and events() == []


@only_on_postgresql
@pytest.mark.django_db(transaction=True)
def test_creating_one_name_twice_at_once_gives_two_projects(admin, acme, monkeypatch):
    """A double submit: both requests find the slug "race-project" free; the second's insert
    waits for the first's, then fails on it, and takes the next slug (it was a 500)."""
    client = signed_in(admin)

    def create():
        return client.post("/orgs/acme/projects/new/", {"name": "Race Project"})

    with HeldAfterFirstCall(monkeypatch, project_services, "record") as first_call:
        first = InThread(create)
        first_call.wait()  # inserted, not committed
        second = InThread(create)
        wait_until_blocked(second)
    responses = [first.result(), second.result()]
    assert [response.status_code for response in responses] == [302, 302]
    assert [response["Location"] for response in responses] == [
        "/orgs/acme/projects/race-project/", "/orgs/acme/projects/race-project-2/"]
    assert sorted(Project.objects.filter(organization=acme, name="Race Project")
                  .values_list("slug", flat=True)) == ["race-project", "race-project-2"]
