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
    and they join when they accept it (`invitation_accept`)."""
    invitation = Invitation.objects.create(
        organization=organization, email=User.objects.normalize_email(email).lower(),
        role=role, invited_by=invited_by,
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
def member_remove(*, membership: Membership) -> None:
    organization, user, role = membership.organization, membership.user, membership.role
    membership.delete()
    record("member.removed", organization=organization, target=user, metadata={"role": role})


def owners_left_after_removing(membership: Membership) -> int:
    return (
        Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )
