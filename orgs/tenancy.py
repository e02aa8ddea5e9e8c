"""The one place that turns a URL's organization slug into the viewer's membership.

Views never fetch a tenant object by a bare id: they start from `request.membership` and the
querysets scoped to it. Anyone who is not a member gets 404, exactly as for an organization
that does not exist.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from orgs.models import Membership


def membership_for(user, org_slug: str) -> Membership:
    if not user.is_authenticated:
        raise Http404
    try:
        return Membership.objects.active().select_related("organization", "user").get(
            user=user, organization__slug=org_slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such organization.") from None


def memberships_of(request) -> list[Membership]:
    """The signed-in person's memberships with their organizations, by organization name:
    read once per request, for the two-factor check, the page's membership and the Account
    menu (the same rule as `membership_for`: an account turned off has none)."""
    memberships = getattr(request, "_memberships", None)
    if memberships is None:
        user = request.user
        memberships = []
        if user.is_authenticated:
            memberships = list(
                Membership.objects.active().filter(user=user).select_related("organization")
                .order_by("organization__name")
            )
        for membership in memberships:
            membership.user = user  # the row read with the session: no second read
        request._memberships = memberships
    return memberships


def request_membership(request, org_slug: str) -> Membership:
    """`membership_for` the signed-in person, from the memberships this request has read."""
    for membership in memberships_of(request):
        if membership.organization.slug == org_slug:
            return membership
    raise Http404("No such organization.")


def org_member_required(view):
    """Sets request.membership and request.organization for members; 404 for anyone else."""

    @login_required
    @wraps(view)
    def wrapper(request, org_slug, *args, **kwargs):
        request.membership = request_membership(request, org_slug)
        request.organization = request.membership.organization
        return view(request, *args, **kwargs)

    return wrapper


def require(allowed: bool) -> None:
    """A member who may read but not do this gets 403."""
    if not allowed:
        raise PermissionDenied
