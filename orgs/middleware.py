"""Organizations that require two-factor sign-in: their members set it up first."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from orgs.tenancy import memberships_of
from orgs.two_factor import has_two_factor


class TwoFactorRequiredMiddleware:
    """Any page of an organization (a URL with `org_slug`) that requires two-factor sign-in
    sends a member without it to the set-up page, and back once it is on. Non-members are
    left to the view's 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org_slug")
        if slug is None or not request.user.is_authenticated:
            return None
        requiring = next((m.organization for m in memberships_of(request)
                          if m.organization.slug == slug and m.organization.requires_two_factor),
                         None)
        if requiring is None or has_two_factor(request.user):
            return None
        messages.info(
            request,
            f"{requiring.name} requires two-factor sign-in: turn it on to continue.",
        )
        return redirect(f"{reverse('two_factor')}?{urlencode({'next': request.path})}")
