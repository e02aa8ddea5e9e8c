"""The dashboard, project and chatbot pages for every persona, with their events."""

import pytest

from auditlogs.recording.catalogue import Severity
from auditlogs.recording.changes import MASK
from projects.models import Chatbot, Project


def chatbot_data(**overrides):
    data = {"name": "Greeter", "instructions": "Say hello.", "model_name": "gpt-4o",
            "temperature": "0.5", "api_key": "sk-live-verysecret"}
    data.update(overrides)
    return data


class TestDashboard:
    def test_owners_and_admins_see_every_project_members_their_own(self, world):
        for user in (world.owner, world.admin):
            html = world.client(user).get("/orgs/acme/").text
            assert "Alpha" in html and "Beta" in html
        html = world.client(world.member).get("/orgs/acme/").text
        assert "Alpha" in html and "Beta" not in html

    def test_outsiders_get_404(self, world):
        for user in (world.outsider, world.globex_owner, world.staff):
            assert world.client(user).get("/orgs/acme/").status_code == 404

    def test_the_account_menu_lists_organizations_settings_and_sign_out(self, world):
        html = world.client(world.admin).get("/orgs/acme/").text
        assert "<summary>Account</summary>" in html
        assert 'href="/orgs/acme/settings/"' in html and ">Settings<" in html
        assert "Sign out" in html

    def test_a_free_plan_organization_works_too(self, world):
        response = world.client(world.globex_owner).get("/orgs/globex/")
        assert response.status_code == 200 and "Gadget" in response.text


class TestProjectPages:
    def test_opening_a_project_records_project_viewed(self, world, events):
        response = world.client(world.member).get(f"/orgs/acme/projects/{world.alpha.slug}/")
        assert response.status_code == 200 and "Helper" in response.text
        (event,) = events(world.acme, action="project.viewed")
        assert event.project_id == world.alpha.pk and event.actor_label == "member@acme.test"
        assert event.severity == Severity.INFO and event.target_label == "Alpha"

    def test_a_member_gets_404_for_a_project_not_assigned(self, world, events):
        client = world.client(world.member)
        for path in ["", "edit/", "delete/", "chatbots/new/"]:
            assert client.get(f"/orgs/acme/projects/{world.beta.slug}/{path}").status_code == 404
        assert events() == []

    def test_another_organizations_project_is_404_whatever_the_slug(self, world):
        client = world.client(world.admin)
        assert client.get(f"/orgs/acme/projects/{world.initech_project.slug}/").status_code == 404
        assert client.get(f"/orgs/initech/projects/{world.initech_project.slug}/").status_code \
            == 404

    def test_an_admin_creates_a_project(self, world, events):
        response = world.client(world.admin).post(
            "/orgs/acme/projects/new/", {"name": "Gamma", "description": "New"}
        )
        project = Project.objects.get(organization=world.acme, name="Gamma")
        assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
        (event,) = events(world.acme, action="project.created")
        assert event.project_id == project.pk and event.target_label == "Gamma"

    def test_a_project_name_may_repeat_with_a_new_slug(self, world):
        world.client(world.admin).post("/orgs/acme/projects/new/", {"name": "Alpha"})
        slugs = set(Project.objects.filter(organization=world.acme, name="Alpha")
                    .values_list("slug", flat=True))
        assert slugs == {"alpha", "alpha-2"}

    def test_members_may_not_create_edit_or_delete_projects(self, world, events):
        client = world.client(world.member)
        assert client.post("/orgs/acme/projects/new/", {"name": "X"}).status_code == 403
        base = f"/orgs/acme/projects/{world.alpha.slug}/"
        assert client.post(base + "edit/", {"name": "X"}).status_code == 403
        assert client.post(base + "delete/").status_code == 403
        assert Project.objects.filter(pk=world.alpha.pk, name="Alpha").exists()
        assert events() == []

    def test_editing_a_project_records_the_diff(self, world, events):
        world.client(world.admin).post(
            f"/orgs/acme/projects/{world.alpha.slug}/edit/", {"name": "Alpha 2", "description": ""}
        )
        (event,) = events(world.acme, action="project.updated")
        assert event.changes == {"name": ["Alpha", "Alpha 2"]}

    def test_deleting_a_project_asks_first_then_records_a_critical_event(self, world, events):
        client = world.client(world.owner)
        confirm = client.get(f"/orgs/acme/projects/{world.alpha.slug}/delete/")
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        assert Project.objects.filter(pk=world.alpha.pk).exists()
        client.post(f"/orgs/acme/projects/{world.alpha.slug}/delete/")
        assert not Project.objects.filter(pk=world.alpha.pk).exists()
        (event,) = events(world.acme, action="project.deleted")
        assert event.severity == Severity.CRITICAL and event.project_name == "Alpha"
        assert event.metadata == {"chatbots_deleted": ["Helper"]}

    @pytest.mark.parametrize("data, message", [
        ({"name": ""}, "This field is required"),
        ({"name": "   "}, "This field is required"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "ok", "description": "d" * 501}, "at most 500 characters"),
    ])
    def test_bad_project_input(self, world, events, data, message):
        response = world.client(world.admin).post("/orgs/acme/projects/new/", data)
        assert response.status_code == 200 and message in response.text
        assert Project.objects.filter(organization=world.acme).count() == 2
        assert events() == []


class TestChatbots:
    def base(self, world):
        return f"/orgs/acme/projects/{world.alpha.slug}/chatbots/"

    def test_a_member_creates_a_chatbot_in_an_assigned_project_without_leaking_the_key(
        self, world, events
    ):
        response = world.client(world.member).post(self.base(world) + "new/", chatbot_data())
        assert response.status_code == 302
        bot = Chatbot.objects.get(name="Greeter")
        assert bot.api_key == "sk-live-verysecret"
        (event,) = events(world.acme, action="chatbot.created")
        assert event.project_id == world.alpha.pk and event.target_label == "Greeter"
        assert event.changes["api_key"] == [MASK, MASK] or event.changes["api_key"] == ["", MASK]
        assert "verysecret" not in str(event.changes)

    def test_editing_records_a_diff_with_the_key_masked(self, world, events):
        world.client(world.admin).post(
            self.base(world) + f"{world.bot.pk}/edit/",
            chatbot_data(name="Helper", instructions="", model_name="gpt-4o-mini",
                         temperature="0.9", api_key="sk-rotated-secret"),
        )
        (event,) = events(world.acme, action="chatbot.updated")
        assert event.changes == {"temperature": [0.7, 0.9], "api_key": [MASK, MASK]}
        assert "secret" not in str(event.changes)

    def test_an_empty_key_keeps_the_current_one(self, world, events):
        world.client(world.admin).post(
            self.base(world) + f"{world.bot.pk}/edit/",
            chatbot_data(name="Helper", instructions="", model_name="gpt-4o-mini",
                         temperature="0.7", api_key=""),
        )
        world.bot.refresh_from_db()
        assert world.bot.api_key == "sk-secret-123"
        assert events() == []

    def test_the_edit_form_never_shows_the_key(self, world):
        html = world.client(world.admin).get(self.base(world) + f"{world.bot.pk}/edit/").text
        assert "sk-secret-123" not in html

    def test_deleting_a_chatbot_asks_first_then_records_a_critical_event(self, world, events):
        client = world.client(world.member)
        url = self.base(world) + f"{world.bot.pk}/delete/"
        assert "cannot be undone" in client.get(url).text
        client.post(url)
        assert not Chatbot.objects.filter(pk=world.bot.pk).exists()
        (event,) = events(world.acme, action="chatbot.deleted")
        assert event.severity == Severity.CRITICAL and event.target_label == "Helper"

    def test_a_chatbot_is_only_found_through_its_project(self, world):
        other = Chatbot.objects.create(project=world.beta, name="Other")
        client = world.client(world.admin)
        assert client.get(self.base(world) + f"{other.pk}/edit/").status_code == 404
        foreign = Chatbot.objects.create(project=world.initech_project, name="Foreign")
        assert client.post(self.base(world) + f"{foreign.pk}/delete/").status_code == 404
        assert Chatbot.objects.filter(pk=foreign.pk).exists()

    @pytest.mark.parametrize("overrides, message", [
        ({"name": ""}, "This field is required"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"temperature": "hot"}, "Enter a number"),
        ({"temperature": "3"}, "less than or equal to 2"),
        ({"temperature": "-1"}, "greater than or equal to 0"),
        ({"model_name": "gpt-99"}, "Select a valid choice"),
        ({"instructions": "i" * 4001}, "at most 4000 characters"),
        ({"api_key": "k" * 201}, "at most 200 characters"),
    ])
    def test_bad_chatbot_input(self, world, events, overrides, message):
        response = world.client(world.admin).post(
            self.base(world) + "new/", chatbot_data(**overrides)
        )
        assert response.status_code == 200 and message in response.text
        assert Chatbot.objects.count() == 1 and events() == []
