"""Organizations that require two-factor sign-in: their members set it up first."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from auditlogs.models import SupportAccess
from orgs.tenancy import memberships_of
from orgs.two_factor import has_two_factor


class TwoFactorRequiredMiddleware:
    """Any page of an organization (a URL with `org_slug`) that requires two-factor sign-in
    sends a member without it to the set-up page, and back once it is on; so does its log to
    support staff reading it under a support access. Others are left to the view's 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org_slug")
        if slug is None or not request.user.is_authenticated:
            return None
        requiring = _requiring_two_factor(request, slug)
        if requiring is None or has_two_factor(request.user):
            return None
        messages.info(
            request,
            f"{requiring.name} requires two-factor sign-in: turn it on to continue.",
        )
        return redirect(f"{reverse('two_factor')}?{urlencode({'next': request.path})}")


def _requiring_two_factor(request, slug: str):
    """The organization `slug` if it requires two-factor sign-in of this person: as one of its
    members, or (members of it never) as support staff reading its log."""
    membership = next((m for m in memberships_of(request) if m.organization.slug == slug), None)
    if membership is None:
        return _read_by_support(request.user, slug)
    return membership.organization if membership.organization.requires_two_factor else None


def _read_by_support(user, slug: str):
    """The organization `user`, as support staff, has an open access to and that requires
    two-factor sign-in; None otherwise (the support access form refuses to open one without
    it, and this covers a requirement turned on, or a device removed, meanwhile)."""
    if not user.is_staff:
        return None
    access = SupportAccess.objects.open_to(user, slug).filter(
        organization__requires_two_factor=True
    ).first()
    return access.organization if access else None
