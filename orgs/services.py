"""Writes to organizations, memberships, invitations and people. Each records its audit
event in the same transaction as the change."""

from django.db import transaction
from django.utils import timezone

from auditlogs import record
from auditlogs.recording.changes import listing, update_and_record
from auditlogs.recording.context import Actor, ActorType, acting_as
from orgs import invitations
from orgs.models import Invitation, Membership, Organization, Role, User

ORGANIZATION_FIELDS = ("name", "timezone")


@transaction.atomic
def organization_update(*, organization: Organization, name: str, timezone: str) -> bool:
    return update_and_record(
        organization, ORGANIZATION_FIELDS, {"name": name, "timezone": timezone},
        "organization.updated", organization=organization,
    )


@transaction.atomic
def organization_change_plan(*, organization: Organization, plan: str) -> bool:
    return update_and_record(
        organization, ("plan",), {"plan": plan}, "organization.plan_changed",
        organization=organization,
    )


@transaction.atomic
def organization_require_two_factor(*, organization: Organization, required: bool) -> bool:
    return update_and_record(
        organization, ("requires_two_factor",), {"requires_two_factor": required},
        "organization.two_factor_required", organization=organization,
    )


@transaction.atomic
def member_invite(
    *, organization: Organization, email: str, role: str, projects=(), invited_by: User
) -> Invitation:
    """Invite a person by e-mail: the invitation is e-mailed once this transaction commits,
    and they join when they accept it (`invitation_accept`). MembershipRefused when they are
    a member or invited already."""
    email = User.objects.normalize_email(email).lower()
    _lock_people_of(organization.pk)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise MembershipRefused("This person is already a member.")
    if organization.invitations.pending().filter(email__iexact=email).exists():
        raise MembershipRefused("This person is already invited: send the invitation again below.")
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=invited_by,
    )
    invitation.projects.set(projects)
    record(
        "member.invited", organization=organization, target=invitation,
        metadata={"role": role, **listing("projects", sorted(p.name for p in projects))},
    )
    transaction.on_commit(lambda: invitations.send(invitation))
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation) -> None:
    """A new link (the earlier ones stop working), e-mailed again."""
    invitation.sent_at = timezone.now()
    invitation.save(update_fields=["sent_at"])
    record(
        "member.invited", organization=invitation.organization, target=invitation,
        metadata={"role": invitation.role, "resent": True},
    )
    transaction.on_commit(lambda: invitations.send(invitation))


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(
        "member.invitation_revoked", organization=invitation.organization, target=invitation,
        metadata={"role": invitation.role},
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """The person (signed in, or just given a password) joins with the invited role."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise InvitationUsed
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    membership.projects.set(invitation.projects.all())
    with acting_as(Actor.for_user(user)):
        record(
            "member.invitation_accepted", organization=invitation.organization, target=user,
            metadata={"role": membership.role,
                      "invited_by": invitation.invited_by.email if invitation.invited_by else ""},
        )
    return membership


class InvitationUsed(Exception):
    """Accepted or revoked meanwhile (two tabs, or an admin's revoke)."""


def account_for_invitation(*, invitation: Invitation, password: str) -> User:
    """The invited person's account with the password they chose (new, or one that never
    had a usable password)."""
    user = User.objects.by_email(invitation.email)
    if user is None:
        return User.objects.create_user(email=invitation.email, password=password)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def unknown_actor(attempted: str) -> Actor:
    """Someone who has not proved who they are, named by the address they typed."""
    return Actor(type=ActorType.USER, id=None, label=f"unknown (tried {attempted})")


def record_for_person(action: str, user: User, actor: Actor | None = None,
                      metadata: dict | None = None) -> None:
    """Record an event about a person in each of their organizations."""
    with transaction.atomic():
        for organization in Organization.objects.filter(memberships__user=user):
            record(action, organization=organization, actor=actor or Actor.for_user(user),
                   target=user, metadata=metadata)


@transaction.atomic
def member_change_role(*, membership: Membership, role: str) -> bool:
    """False when nothing changed (or the membership is gone); MembershipRefused when the
    organization would be left without an owner."""
    if not _lock_people_and_reread(membership):
        return False
    if role != membership.role:
        _keep_an_owner(membership)
    return update_and_record(
        membership, ("role",), {"role": role}, "member.role_changed",
        organization=membership.organization, target=membership.user,
    )


@transaction.atomic
def member_set_projects(*, membership: Membership, projects) -> bool:
    before = sorted(p.name for p in membership.projects.all())
    after = sorted(p.name for p in projects)
    if before == after:
        return False
    membership.projects.set(projects)
    record(
        "member.projects_changed", organization=membership.organization,
        target=membership.user, changes={"projects": [before, after]},
    )
    return True


@transaction.atomic
def member_remove(*, membership: Membership) -> bool:
    """False when it was removed meanwhile; MembershipRefused for the last owner."""
    if not _lock_people_and_reread(membership):
        return False
    _keep_an_owner(membership)
    organization, user, role = membership.organization, membership.user, membership.role
    membership.delete()
    record("member.removed", organization=organization, target=user, metadata={"role": role})
    return True


class MembershipRefused(Exception):
    """A change to who belongs to an organization that its rules refuse; the message says why,
    for the person who asked."""


def _lock_people_of(organization_id: int) -> None:
    """Make the checks of this transaction about the organization's people hold until it
    commits: two owners demoting each other at once would each count the other as the owner
    who stays, and one invitation sent twice at once would each find none pending. Whoever
    comes second waits here, then checks what the first committed. FOR NO KEY UPDATE, so that
    inserts merely referring to the organization (its audit events) never wait for it. SQLite
    has no row locks and needs none: it runs one writing transaction at a time."""
    Organization.objects.select_for_update(no_key=True).values_list("pk").get(pk=organization_id)


def _lock_people_and_reread(membership: Membership) -> bool:
    """`_lock_people_of` its organization, then `membership` as it is now; False if gone."""
    _lock_people_of(membership.organization_id)
    try:
        membership.refresh_from_db(fields=["role"])
    except Membership.DoesNotExist:
        return False
    return True


def _keep_an_owner(membership: Membership) -> None:
    """Refuse that `membership` stop being an owner when it is the organization's only one
    (under `_lock_people_of`, so that no other change of owners is under way)."""
    others = Membership.objects.filter(
        organization_id=membership.organization_id, role=Role.OWNER
    ).exclude(pk=membership.pk)
    if membership.is_owner and not others.exists():
        raise MembershipRefused("An organization needs at least one owner.")
