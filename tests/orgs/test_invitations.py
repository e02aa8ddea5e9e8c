"""Invitations: e-mailed, signed, expiring, single-use links; listed, resent, revoked."""

import re

import pytest
from django.urls import reverse

from auditlogs.recording.catalogue import Severity
from auditlogs.recording.context import Actor, acting_as
from orgs import invitations, services
from orgs.models import Invitation, Membership, Role, User
from tests.helpers.clients import signed_in
from tests.helpers.concurrency import (
    HeldAfterFirstCall,
    InThread,
    only_on_postgresql,
    wait_until_blocked,
)
from tests.helpers.factories import PASSWORD

NEW_PASSWORD = "a-long-new-password-42"


@pytest.fixture
def invite(acme, admin, mailoutbox, django_capture_on_commit_callbacks):
    def make(email="new@example.test", role=Role.MEMBER, projects=(), by=None):
        by = by or admin
        with django_capture_on_commit_callbacks(execute=True), acting_as(Actor.for_user(by)):
            invitation = services.member_invite(
                organization=acme, email=email, role=role, projects=projects,
                invited_by=by,
            )
        return invitation, link_path(mailoutbox[-1].body)

    return make


def link_path(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/invitation/\S+/)", body).group(1)


def accept(client, path, password=NEW_PASSWORD):
    return client.post(path, {"new_password1": password, "new_password2": password})


def test_the_invited_person_sets_a_password_and_is_signed_in(
    beta, acme, invite, client, events
):
    invitation, path = invite(projects=[beta])
    page = client.get(path)
    assert page.status_code == 200 and "Join Acme" in page.text
    response = accept(client, path)
    assert response.status_code == 302 and response["Location"] == "/orgs/acme/"
    user = User.objects.get(email="new@example.test")
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(user=user, organization=acme)
    assert membership.role == Role.MEMBER and list(membership.projects.all()) == [beta]
    assert client.get("/orgs/acme/").status_code == 200
    invited, accepted = events(acme, action__startswith="member.invit")
    assert (invited.action, invited.actor_label) == ("member.invited", "admin@acme.test")
    assert (accepted.action, accepted.actor_label) == (
        "member.invitation_accepted", "new@example.test")
    assert accepted.severity == Severity.INFO


def test_a_link_works_once(invite, client):
    _, path = invite()
    accept(client, path)
    other = signed_in(None)
    assert other.get(path).status_code == 404
    assert accept(other, path, "another-password-77").status_code == 404
    assert User.objects.get(email="new@example.test").check_password(NEW_PASSWORD)


def test_a_link_expires(invite, client, settings, monkeypatch):
    import time

    from django.core import signing

    invitation, path = invite()
    old = time.time() - (settings.INVITATION_MAX_AGE_DAYS * 24 * 3600 + 60)
    monkeypatch.setattr(signing.time, "time", lambda: old)
    stale = reverse("invitation_accept", args=[invitations.token_for(invitation)])
    monkeypatch.undo()
    assert client.get(stale).status_code == 404
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("token", ["nonsense", "a" * 300, "eyJpbnZpdGF0aW9uIjoxfQ:x:y"])
def test_a_forged_link_is_refused(db, client, token):
    response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 404 and "does not work" in response.text


def test_sending_again_ends_the_old_link(
    admin, acme, invite, client, mailoutbox, events, django_capture_on_commit_callbacks
):
    invitation, old = invite()
    admin_client = signed_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        url = reverse("settings_invitation_resend", args=["acme", invitation.pk])
        assert admin_client.post(url).status_code == 302
    new = link_path(mailoutbox[-1].body)
    assert new != old and client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert events(acme, action="member.invited")[-1].metadata["resent"] is True


def test_revoking_ends_the_link_and_is_recorded(owner, acme, invite, client, events):
    invitation, path = invite()
    url = reverse("settings_invitation_revoke", args=["acme", invitation.pk])
    assert signed_in(owner).post(url).status_code == 302
    assert client.get(path).status_code == 404
    (revoked,) = events(acme, action="member.invitation_revoked")
    assert revoked.target_label == "new@example.test" and revoked.actor_label == "owner@acme.test"


def test_pending_invitations_are_listed_for_every_member(owner, admin, member, invite):
    invite(email="pending@example.test")
    for user in (owner, admin, member):
        page = signed_in(user).get("/orgs/acme/settings/members/")
        assert "Pending invitations" in page.text and "pending@example.test" in page.text
    assert "Resend" in signed_in(admin).get("/orgs/acme/settings/members/").text
    assert "Resend" not in signed_in(member).get("/orgs/acme/settings/members/").text


def test_who_may_resend_or_revoke(owner, member, admin, outsider, invite):
    invitation, _ = invite(email="future-owner@example.test", role=Role.OWNER, by=owner)
    for name in ("settings_invitation_resend", "settings_invitation_revoke"):
        url = reverse(name, args=["acme", invitation.pk])
        assert signed_in(member).post(url).status_code == 403
        assert signed_in(admin).post(url).status_code == 403  # may not make owners
        assert signed_in(outsider).post(url).status_code == 404
        foreign = reverse(name, args=["initech", invitation.pk])
        assert signed_in(outsider).post(foreign).status_code == 404
        assert signed_in(owner).get(url).status_code == 405
    assert Invitation.objects.get(pk=invitation.pk).is_pending


def test_a_free_plan_organization_invites_too(
    globex_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(globex_owner).post(
            "/orgs/globex/settings/members/", {"email": "x@globex.test", "role": "member"})
    assert response.status_code == 302 and mailoutbox[0].to == ["x@globex.test"]


def test_inviting_twice_is_refused(admin, invite):
    invite(email="twice@example.test")
    response = signed_in(admin).post(
        "/orgs/acme/settings/members/", {"email": "TWICE@example.test", "role": "member"})
    assert response.status_code == 200 and "already invited" in response.text


@only_on_postgresql
@pytest.mark.django_db(transaction=True)
def test_inviting_twice_at_once_sends_one_invitation(admin, acme, mailoutbox, monkeypatch):
    """A double submit: each request found no pending invitation and made its own, each
    mailed and working. Now the second waits for the first and is refused."""
    client = signed_in(admin)

    def invite_race():
        return client.post("/orgs/acme/settings/members/",
                           {"email": "race@example.com", "role": "member"})

    with HeldAfterFirstCall(monkeypatch, services, "record") as first_call:
        first = InThread(invite_race)
        first_call.wait()  # invited, not committed
        second = InThread(invite_race)
        wait_until_blocked(second)
    assert first.result().status_code == 302
    refused = second.result()
    assert refused.status_code == 200 and "already invited" in refused.text
    assert Invitation.objects.filter(organization=acme, email="race@example.com").count() == 1
    assert [mail.to for mail in mailoutbox] == [["race@example.com"]]


def test_someone_with_an_account_signs_in_to_join(outsider, acme, invite, client):
    _, path = invite(email=outsider.email)
    page = client.get(path)
    assert "sign in to join" in page.text and "new_password1" not in page.text
    assert accept(client, path).status_code == 200  # no password is set this way
    assert outsider.__class__.objects.get(pk=outsider.pk).check_password(PASSWORD)
    assert signed_in(outsider).post(path).status_code == 302
    assert Membership.objects.filter(user=outsider, organization=acme).exists()


def test_a_weak_password_is_refused(invite, client):
    _, path = invite()
    response = accept(client, path, "12345678")
    assert response.status_code == 200 and "too common" in response.text
    assert not User.objects.filter(email="new@example.test").exists()


def test_the_token_names_only_the_invitation(invite):
    invitation, path = invite()
    assert invitations.invitation_for(path.split("/")[-2]) == invitation
    assert "new@example.test" not in path


def test_a_look_alike_address_cannot_take_over_an_account_without_a_password(
    acme, invite, client
):
    """An invitation to "bob@ınitech.test" (dotless i, another domain and mailbox) matches
    bob@initech.test in PostgreSQL's case-insensitive comparison: accepting it must make its
    own account, never give bob's account the inviter's chosen password."""
    bob = User.objects.create_user(email="bob@initech.test")
    assert not bob.has_usable_password()
    _, path = invite(email="bob@ınitech.test")
    assert accept(client, path).status_code == 302
    bob.refresh_from_db()
    assert not bob.has_usable_password()
    assert not Membership.objects.filter(user=bob, organization=acme).exists()
    assert client.session["_auth_user_id"] != str(bob.pk)
