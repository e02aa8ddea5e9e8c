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


def org_member_required(view):
    """Sets request.membership and request.organization for members; 404 for anyone else."""

    @login_required
    @wraps(view)
    def wrapper(request, org_slug, *args, **kwargs):
        request.membership = membership_for(request.user, org_slug)
        request.organization = request.membership.organization
        return view(request, *args, **kwargs)

    return wrapper


def require(allowed: bool) -> None:
    """A member who may read but not do this gets 403."""
    if not allowed:
        raise PermissionDenied
