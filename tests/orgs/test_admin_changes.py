"""What operators change in the Django admin enters the organization's log as `staff`, with the
diff; deleting a project or a person there never touches the log."""

from datetime import datetime

import pytest
from django import forms
from django.utils.timezone import localtime

from auditlogs import record
from auditlogs.models import AuditEvent
from auditlogs.recording.context import Actor
from integrations.models import ApiToken, Destination
from orgs.models import Membership, Organization, Plan, Role
from projects.models import Project
from tests.helpers.clients import signed_in
from tests.helpers.factories import UserFactory

OPS = "ops@auditlogs.test"


@pytest.fixture
def ops(personas):
    return signed_in(UserFactory(email=OPS, is_staff=True, is_superuser=True))


def form_data(response) -> dict:
    """The admin change form's current values (and its inlines'), as the browser posts them."""
    data = {}

    def add(form):
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(field, forms.SplitDateTimeField):
                value = localtime(value) if isinstance(value, datetime) else None
                data[f"{key}_0"] = value.date().isoformat() if value else ""
                data[f"{key}_1"] = value.time().isoformat() if value else ""
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif value is not None:
                data[key] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            add(form)
    return data


def change(ops, path: str, **values):
    data = {**form_data(ops.get(path)), **values}
    response = ops.post(path, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def staff_events(organization, action):
    found = list(AuditEvent.objects.filter(organization=organization, action=action))
    assert all((e.actor_type, e.actor_label) == ("staff", OPS) for e in found)
    return found


def test_organization_plan_retention_and_name_each_recorded_with_the_diff(acme, ops):
    change(ops, f"/admin/orgs/organization/{acme.pk}/change/",
           name="Acme Corp", plan=Plan.FREE, audit_retention_days="1")
    (plan,) = staff_events(acme, "organization.plan_changed")
    assert plan.changes == {"plan": ["enterprise", "free"]}
    (retention,) = staff_events(acme, "organization.retention_changed")
    assert retention.changes == {"audit_retention_days": [None, 1]}
    (renamed,) = staff_events(acme, "organization.updated")
    assert renamed.changes == {"name": ["Acme", "Acme Corp"]}
    acme.refresh_from_db()
    assert (acme.name, acme.plan, acme.audit_retention_days) == (
        "Acme Corp", Plan.FREE, 1
    )


def test_saving_without_changes_records_nothing(acme, ops):
    before = AuditEvent.objects.count()
    change(ops, f"/admin/orgs/organization/{acme.pk}/change/")
    assert AuditEvent.objects.count() == before


def test_a_promotion_and_project_assignment(acme, alpha, beta, member_membership, ops):
    membership = member_membership
    change(ops, f"/admin/orgs/membership/{membership.pk}/change/",
           role=Role.ADMIN, projects=[alpha.pk, beta.pk])
    (promoted,) = staff_events(acme, "member.role_changed")
    assert promoted.changes == {"role": ["member", "admin"]}
    assert promoted.target_label == "member@acme.test"
    (assigned,) = staff_events(acme, "member.projects_changed")
    assert assigned.changes == {"projects": [["Alpha"], ["Alpha", "Beta"]]}


def test_memberships_added_changed_and_removed_inline(acme, admin, member_membership, ops):
    newcomer = UserFactory(email="newcomer@acme.test")
    path = f"/admin/orgs/organization/{acme.pk}/change/"
    data = form_data(ops.get(path))
    forms_now = int(data["memberships-TOTAL_FORMS"])
    for n in range(forms_now):
        if data.get(f"memberships-{n}-id") == member_membership.pk:
            data[f"memberships-{n}-role"] = Role.ADMIN
        if data.get(f"memberships-{n}-user") == admin.pk:
            data[f"memberships-{n}-DELETE"] = "on"
    data.update({
        "memberships-TOTAL_FORMS": forms_now + 1,
        f"memberships-{forms_now}-user": newcomer.pk,
        f"memberships-{forms_now}-role": Role.MEMBER,
        f"memberships-{forms_now}-organization": acme.pk,
    })
    assert ops.post(path, data).status_code == 302
    assert [e.target_label for e in staff_events(acme, "member.added")] == [
        "newcomer@acme.test"
    ]
    assert len(staff_events(acme, "member.role_changed")) == 1
    assert [e.target_label for e in staff_events(acme, "member.removed")] == [
        "admin@acme.test"
    ]
    assert not Membership.objects.filter(user=admin, organization=acme).exists()


def test_projects_and_chatbots(acme, alpha, ops):
    change(ops, f"/admin/projects/project/{alpha.pk}/change/", name="Alpha Two",
           **{"chatbots-0-temperature": "0.9"})
    (updated,) = staff_events(acme, "project.updated")
    assert updated.changes == {"name": ["Alpha", "Alpha Two"]}
    assert updated.project_id == alpha.pk
    (tuned,) = staff_events(acme, "chatbot.updated")
    assert list(tuned.changes) == ["temperature"] and tuned.project_id == alpha.pk


def test_deleting_a_project_records_it_and_keeps_its_events(acme, alpha, ops):
    viewed = record("project.viewed", organization=acme, project=alpha)
    path = f"/admin/projects/project/{alpha.pk}/delete/"
    assert ops.post(path, {"post": "yes"}).status_code == 302
    assert not Project.objects.filter(pk=alpha.pk).exists()
    viewed.refresh_from_db()
    assert viewed.project_id == alpha.pk and viewed.project_name == "Alpha"
    (deleted,) = staff_events(acme, "project.deleted")
    assert deleted.project_name == "Alpha"


def test_deleting_a_person_records_their_removal_and_keeps_their_events(acme, admin, ops):
    event = record("organization.updated", organization=acme,
                   actor=Actor.for_user(admin))
    admin_id = admin.pk
    path = f"/admin/orgs/user/{admin_id}/delete/"
    assert ops.post(path, {"post": "yes"}).status_code == 302
    event.refresh_from_db()
    assert (event.actor_id, event.actor_label) == (admin_id, "admin@acme.test")
    (removed,) = staff_events(acme, "member.removed")
    assert removed.target_id == str(admin_id) and removed.target_label == "admin@acme.test"


def test_an_organization_created_in_the_admin_starts_its_log_with_that(ops):
    response = ops.post("/admin/orgs/organization/add/", {
        "name": "Umbrella", "slug": "umbrella", "plan": Plan.ENTERPRISE, "timezone": "UTC",
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302
    umbrella = Organization.objects.get(slug="umbrella")
    (created,) = staff_events(umbrella, "organization.created")
    assert created.sequence == 1 and created.target_label == "Umbrella"


def test_organizations_are_not_deleted_from_the_admin(acme, ops):
    event = record("organization.updated", organization=acme)
    path = f"/admin/orgs/organization/{acme.pk}/delete/"
    assert ops.post(path, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    listed = ops.post("/admin/orgs/organization/",
                      {"action": "delete_selected", "_selected_action": [acme.pk],
                       "post": "yes"})
    assert listed.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_tokens_and_destinations(acme, ops):
    token = ApiToken.objects.create(organization=acme, name="SIEM", token_hash="a" * 64,
                                    prefix="alog_abc")
    change(ops, f"/admin/integrations/apitoken/{token.pk}/change/",
           revoked_at_0="2026-11-30", revoked_at_1="12:00:00")
    (revoked,) = staff_events(acme, "api_token.revoked")
    assert revoked.changes["revoked_at"][0] is None
    destination = Destination.objects.create(organization=acme, name="Splunk",
                                             url="https://siem.example.com/hook", secret="s" * 20)
    change(ops, f"/admin/integrations/destination/{destination.pk}/change/", name="Splunk EU")
    (renamed,) = staff_events(acme, "destination.updated")
    assert renamed.changes == {"name": ["Splunk", "Splunk EU"]}
    edit = f"/admin/integrations/destination/{destination.pk}/change/"
    refused = ops.post(edit, {**form_data(ops.get(edit)), "batch_size": "0"})
    assert refused.status_code == 200
    assert "greater than or equal to 1" in refused.content.decode()
    change(ops, edit, batch_size="250")
    assert {"batch_size": [100, 250]} in [
        event.changes for event in staff_events(acme, "destination.updated")
    ]
    path = f"/admin/integrations/destination/{destination.pk}/delete/"
    assert ops.post(path, {"post": "yes"}).status_code == 302
    assert len(staff_events(acme, "destination.deleted")) == 1
    assert ops.get("/admin/integrations/apitoken/add/").status_code == 403
