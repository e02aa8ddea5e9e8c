"""Settings: General, Members and Plan, for every persona, with their events and bad input."""

import pytest
from django.contrib.messages import get_messages

from auditlogs.recording.catalogue import Severity
from orgs import services as org_services
from orgs.models import Invitation, Membership, Role
from projects.models import Project
from tests.helpers.clients import signed_in
from tests.helpers.concurrency import (
    HeldAfterFirstCall,
    InThread,
    only_on_postgresql,
    wait_until_blocked,
)


def get(user, path):
    return signed_in(user).get(path)


class TestPersonas:
    @pytest.mark.parametrize("path", ["/orgs/acme/settings/", "/orgs/acme/settings/members/",
                                      "/orgs/acme/settings/plan/"])
    def test_members_of_the_organization_can_open_settings(self, owner, admin, member, path):
        for user in (owner, admin, member):
            assert get(user, path).status_code == 200

    @pytest.mark.parametrize("path", ["/orgs/acme/settings/", "/orgs/acme/settings/members/",
                                      "/orgs/acme/settings/plan/"])
    def test_outsiders_and_non_members_get_404(self, outsider, globex_owner, staff, path):
        assert get(outsider, path).status_code == 404
        assert get(globex_owner, path).status_code == 404
        assert get(staff, path).status_code == 404

    def test_a_free_plan_owner_can_use_settings_and_sees_the_audit_logs_item(self, globex_owner):
        response = get(globex_owner, "/orgs/globex/settings/plan/")
        assert response.status_code == 200 and "Free" in response.text
        assert "Audit Logs are available on the Enterprise plan only." in response.text

    def test_member_edit_pages_are_404_across_organizations(self, initech, admin):
        foreign = Membership.objects.get(organization=initech)
        client = signed_in(admin)
        assert client.get(f"/orgs/acme/settings/members/{foreign.pk}/").status_code == 404
        assert client.post(f"/orgs/acme/settings/members/{foreign.pk}/remove/").status_code == 404
        assert Membership.objects.filter(pk=foreign.pk).exists()


class TestGeneral:
    def test_an_admin_renames_and_changes_the_timezone(self, admin, acme, events):
        response = signed_in(admin).post(
            "/orgs/acme/settings/", {"name": "Acme Corp", "timezone": "Asia/Tokyo"}
        )
        assert response.status_code == 302
        acme.refresh_from_db()
        assert (acme.name, acme.timezone) == ("Acme Corp", "Asia/Tokyo")
        (event,) = events(acme, action="organization.updated")
        assert event.changes == {"name": ["Acme", "Acme Corp"],
                                 "timezone": ["Europe/Berlin", "Asia/Tokyo"]}
        assert event.actor_label == "admin@acme.test" and event.project_id is None

    def test_saving_without_changes_records_nothing(self, admin, acme, events):
        signed_in(admin).post(
            "/orgs/acme/settings/", {"name": "Acme", "timezone": "Europe/Berlin"}
        )
        assert events(acme) == []

    def test_a_member_may_not_change_settings(self, member, acme, events):
        response = signed_in(member).post(
            "/orgs/acme/settings/", {"name": "Hacked", "timezone": "UTC"}
        )
        assert response.status_code == 403
        acme.refresh_from_db()
        assert acme.name == "Acme" and events() == []

    @pytest.mark.parametrize("data, message", [
        ({"name": "", "timezone": "UTC"}, "This field is required"),
        ({"name": "   ", "timezone": "UTC"}, "This field is required"),
        ({"name": "x" * 101, "timezone": "UTC"}, "at most 100 characters"),
        ({"name": "Acme", "timezone": "Mars/Olympus"}, "Select a valid choice"),
        ({"name": "Acme", "timezone": ["UTC", "Asia/Tokyo"]}, ""),
    ])
    def test_bad_input_shows_an_error_and_saves_nothing(self, owner, acme, events, data, message):
        response = signed_in(owner).post("/orgs/acme/settings/", data)
        assert response.status_code in (200, 302)
        if message:
            assert response.status_code == 200 and message in response.text
            acme.refresh_from_db()
            assert acme.name == "Acme" and acme.timezone == "Europe/Berlin"
            assert events() == []

    def test_script_tags_are_escaped(self, owner):
        client = signed_in(owner)
        client.post("/orgs/acme/settings/", {"name": "<script>x</script>", "timezone": "UTC"})
        response = client.get("/orgs/acme/settings/")
        assert "<script>x</script>" not in response.text and "&lt;script&gt;" in response.text


class TestMembers:
    def test_an_admin_invites_a_person_by_email(
        self, admin, beta, acme, events, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in(admin).post("/orgs/acme/settings/members/", {
                "email": "New@Acme.test", "role": "member", "projects": [beta.pk],
            })
        assert response.status_code == 302
        invitation = Invitation.objects.get(organization=acme, email="new@acme.test")
        assert list(invitation.projects.all()) == [beta]
        assert not Membership.objects.filter(user__email="new@acme.test").exists()
        (event,) = events(acme, action="member.invited")
        assert event.target_label == "new@acme.test" and event.severity == Severity.INFO
        assert event.metadata == {"role": "member", "projects": ["Beta"], "projects_count": 1}
        assert mailoutbox[0].to == ["new@acme.test"]

    def test_inviting_a_member_to_300_long_named_projects_records_one_bounded_event(
        self, admin, acme, events
    ):
        projects = Project.objects.bulk_create([
            Project(organization=acme, name=f"{n:03d} {'Прое́кт 🔒 ' * 12}"[:100],
                    slug=f"long-{n}")
            for n in range(300)
        ])
        response = signed_in(admin).post("/orgs/acme/settings/members/", {
            "email": "many@acme.test", "role": "member", "projects": [p.pk for p in projects],
        })
        assert response.status_code == 302
        (event,) = events(acme, action="member.invited")
        assert event.metadata["projects_count"] == 300
        assert 0 < len(event.metadata["projects"]) < 300

    @pytest.mark.parametrize("data, message", [
        ({"email": "", "role": "member"}, "This field is required"),
        ({"email": "not-an-email", "role": "member"}, "Enter a valid email address"),
        ({"email": "member@acme.test", "role": "member"}, "already a member"),
        ({"email": "x@acme.test", "role": "emperor"}, "Select a valid choice"),
        ({"email": "x@acme.test", "role": "member", "projects": ["999999"]},
         "Select a valid choice"),
        ({"email": "x@acme.test", "role": "owner"}, "Select a valid choice"),  # admins can't
    ])
    def test_bad_member_input(self, admin, acme, events, data, message):
        response = signed_in(admin).post("/orgs/acme/settings/members/", data)
        assert response.status_code == 200 and message in response.text
        assert Membership.objects.filter(organization=acme).count() == 3
        assert events() == []

    def test_another_organizations_project_cannot_be_assigned(self, admin, initech_project, events):
        response = signed_in(admin).post("/orgs/acme/settings/members/", {
            "email": "x@acme.test", "role": "member", "projects": [initech_project.pk],
        })
        assert response.status_code == 200 and "Select a valid choice" in response.text
        assert events() == []

    def test_a_role_change_is_a_warning_with_a_diff(self, owner, member_membership, acme, events):
        response = signed_in(owner).post(
            f"/orgs/acme/settings/members/{member_membership.pk}/", {"role": "admin"}
        )
        assert response.status_code == 302
        (event,) = events(acme, action="member.role_changed")
        assert event.changes == {"role": ["member", "admin"]}
        assert event.severity == Severity.WARNING and event.target_label == "member@acme.test"

    def test_changing_a_members_projects(self, admin, member_membership, beta, acme, events):
        signed_in(admin).post(
            f"/orgs/acme/settings/members/{member_membership.pk}/",
            {"assign": "1", "projects": [beta.pk]},
        )
        assert list(member_membership.projects.all()) == [beta]
        (event,) = events(acme, action="member.projects_changed")
        assert event.changes == {"projects": [["Alpha"], ["Beta"]]}

    def test_removing_a_member(self, admin, member_membership, acme, events):
        response = signed_in(admin).post(
            f"/orgs/acme/settings/members/{member_membership.pk}/remove/"
        )
        assert response.status_code == 302
        assert not Membership.objects.filter(pk=member_membership.pk).exists()
        (event,) = events(acme, action="member.removed")
        assert event.severity == Severity.WARNING and event.metadata == {"role": "member"}

    def test_admins_may_not_touch_owners(self, acme, admin, events):
        owner = Membership.objects.get(organization=acme, role=Role.OWNER)
        client = signed_in(admin)
        assert client.post(f"/orgs/acme/settings/members/{owner.pk}/",
                           {"role": "member"}).status_code == 403
        assert client.post(f"/orgs/acme/settings/members/{owner.pk}/remove/").status_code == 403
        owner.refresh_from_db()
        assert owner.role == Role.OWNER and events() == []

    def test_members_may_not_manage_members(self, member, acme, events):
        client = signed_in(member)
        assert client.post("/orgs/acme/settings/members/",
                           {"email": "x@acme.test", "role": "member"}).status_code == 403
        admin = Membership.objects.get(organization=acme, role=Role.ADMIN)
        assert client.post(f"/orgs/acme/settings/members/{admin.pk}/remove/").status_code == 403
        assert events() == []

    def test_the_last_owner_stays(self, acme, owner, events):
        ownership = Membership.objects.get(organization=acme, role=Role.OWNER)
        client = signed_in(owner)
        response = client.post(f"/orgs/acme/settings/members/{ownership.pk}/", {"role": "admin"})
        assert response.status_code == 200 and "at least one owner" in response.text
        client.post(f"/orgs/acme/settings/members/{ownership.pk}/remove/")
        assert Membership.objects.filter(pk=ownership.pk, role=Role.OWNER).exists()
        assert events() == []

    @only_on_postgresql
    @pytest.mark.django_db(transaction=True)
    @pytest.mark.parametrize("change, data, held", [
        ("", {"role": "admin"}, "update_and_record"),  # demoting each other
        ("remove/", {}, "record"),  # removing each other
    ], ids=["demote", "remove"])
    def test_two_owners_at_once_leave_one_owner(
        self, acme, owner, admin, monkeypatch, change, data, held
    ):
        """Each request counted the other owner as the one who stays; now the second waits
        for the first's change and is refused (both went through, leaving no owner)."""
        owners, admins = signed_in(owner), signed_in(admin)
        ownership = Membership.objects.get(organization=acme, user=owner)
        promoted = Membership.objects.get(organization=acme, user=admin)
        promoted.role = Role.OWNER
        promoted.save()

        with HeldAfterFirstCall(monkeypatch, org_services, held) as first_call:
            first = InThread(
                lambda: owners.post(f"/orgs/acme/settings/members/{promoted.pk}/{change}", data))
            first_call.wait()  # changed, not committed
            second = InThread(
                lambda: admins.post(f"/orgs/acme/settings/members/{ownership.pk}/{change}", data))
            wait_until_blocked(second)
        assert first.result().status_code == 302
        refused = second.result()
        refusals = [str(message) for message in get_messages(refused.wsgi_request)]
        if change:
            assert refused.status_code == 302 and refusals == [
                "An organization needs at least one owner."]
        else:
            assert refused.status_code == 200
            assert "An organization needs at least one owner." in refused.text
        assert list(Membership.objects.filter(organization=acme, role=Role.OWNER)) == [ownership]


class TestPlan:
    def test_an_owner_switches_the_plan(self, owner, acme, events):
        response = signed_in(owner).post("/orgs/acme/settings/plan/", {"plan": "team"})
        assert response.status_code == 302
        acme.refresh_from_db()
        assert acme.plan == "team"
        (event,) = events(acme, action="organization.plan_changed")
        assert event.changes == {"plan": ["enterprise", "team"]}
        assert event.severity == Severity.WARNING

    @pytest.mark.parametrize("persona", ["admin", "member"])
    def test_admins_and_members_may_not(self, personas, acme, events, persona):
        response = signed_in(personas[persona]).post(
            "/orgs/acme/settings/plan/", {"plan": "free"}
        )
        assert response.status_code == 403
        acme.refresh_from_db()
        assert acme.plan == "enterprise" and events() == []

    def test_an_unknown_plan_is_an_error(self, owner, events):
        response = signed_in(owner).post("/orgs/acme/settings/plan/", {"plan": "gold"})
        assert response.status_code == 200 and "Select a valid choice" in response.text
        assert events() == []
