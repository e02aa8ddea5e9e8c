"""Writes to organizations and memberships. Each records its audit event in the same
transaction as the change."""

from django.db import transaction

from auditlogs import record
from auditlogs.recording.changes import update_and_record
from orgs.models import Membership, Organization, Role, User

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
def member_add(*, organization: Organization, email: str, role: str, projects=()) -> Membership:
    """Add a person by e-mail; someone new gets an account without a password until they
    set one."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None)
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    membership.projects.set(projects)
    record(
        "member.added",
        organization=organization,
        target=membership.user,
        metadata={"role": role, "projects": sorted(p.name for p in projects)},
    )
    return membership


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
