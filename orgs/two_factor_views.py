"""Two-factor sign-in pages: one's own set-up, the sign-in step, and an owner's requirement."""

import time

from django.contrib import messages
from django.contrib.auth import login, user_login_failed
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from auditlogs.recording.context import current_context
from orgs import forms, services, sign_in_limits, two_factor
from orgs.models import Organization, User
from orgs.tenancy import org_member_required, require

PENDING = "two_factor_pending"
PENDING_SECONDS = 300


def start_sign_in(request, user, next_url: str):
    """The password was right; the code comes next, within five minutes."""
    request.session[PENDING] = {"user": user.pk, "at": time.time(), "next": next_url}
    return redirect("sign_in_two_factor")


def sign_in_step(request):
    """The second step of signing in: a code from the app, or a recovery code."""
    pending = request.session.get(PENDING) or {}
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in again: the two-factor step has to follow at once.")
        return redirect("login")
    form = forms.TwoFactorCodeForm(request.POST or None)
    context = {"title": "Two-factor sign-in", "submit_label": "Sign in", "form": form,
               "intro": f"Signing in as {user.email}. Open your authenticator app and enter "
                        "the code it shows, or use one of your recovery codes."}
    if request.method == "POST" and form.is_valid():
        ip = current_context().ip
        attempt = sign_in_limits.begin_attempt(user.email, ip)
        if isinstance(attempt, sign_in_limits.Lock):
            response = render(request, "orgs/account_form.html",
                              {**context, "lock_message": attempt.message}, status=429)
            response["Retry-After"] = str(attempt.retry_after)
            return response
        request.sign_in_attempt = attempt
        device = two_factor.verified_device(user, form.cleaned_data["code"])
        if device is None:
            # Counted and recorded like a wrong password (orgs/sign_in_limits.py).
            user_login_failed.send(__name__, credentials={"username": user.email},
                                   request=request)
            form.add_error("code", "That code is not right, or was already used.")
        else:
            sign_in_limits.give_back(user.email, ip)
            request.session.pop(PENDING, None)
            login(request, user, backend="orgs.auth.EmailBackend")
            otp_login(request, device)
            return redirect(pending.get("next") or "home")
    return render(request, "orgs/account_form.html", context)


@login_required
def two_factor_page(request):
    """Turn two-factor sign-in on (scan, confirm with a code, keep the recovery codes), or,
    once on, replace the recovery codes or turn it off."""
    user = request.user
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if two_factor.has_two_factor(user):
        return _manage(request, user)
    device = two_factor.pending_device(user)
    form = forms.TwoFactorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.enable(user, device, form.cleaned_data["code"])
        if codes is not None:
            messages.success(request, "Two-factor sign-in is on.")
            return render(request, "orgs/two_factor.html",
                          {"codes": codes, "enabled": True, "next_url": next_url})
        form.add_error("code", "That code is not right: check the app's clock and try the "
                               "newest code.")
    return render(request, "orgs/two_factor.html", {
        "form": form, "qr_code": two_factor.qr_code(device), "secret": two_factor.secret(device),
        "next_url": next_url,
    })


def _manage(request, user):
    off_form = forms.TwoFactorOffForm(
        request.POST if request.POST.get("action") == "off" else None, user=user
    )
    required_by = list(Organization.objects.for_user(user).filter(requires_two_factor=True))
    codes = None
    if request.method == "POST" and request.POST.get("action") == "codes":
        codes = two_factor.regenerate_recovery_codes(user)
        messages.success(request, "New recovery codes: the old ones no longer work.")
    elif request.method == "POST" and off_form.is_valid():
        if required_by:
            messages.error(request, f"{required_by[0].name} requires two-factor sign-in.")
        else:
            two_factor.disable(user)
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("two_factor")
    return render(request, "orgs/two_factor.html", {
        "enabled": True, "codes": codes, "off_form": off_form, "required_by": required_by,
        "codes_left": two_factor.recovery_codes_left(user),
    })


@require_POST
@org_member_required
def settings_two_factor_requirement(request):
    """An owner requires two-factor sign-in for the organization, or stops requiring it."""
    require(request.membership.is_owner)
    form = forms.TwoFactorRequirementForm(request.POST)
    form.is_valid()
    required = form.cleaned_data.get("requires_two_factor", False)
    if required and not two_factor.has_two_factor(request.user):
        messages.error(request, "Turn on two-factor sign-in for yourself first.")
    elif services.organization_require_two_factor(
        organization=request.organization, required=required
    ):
        messages.success(request, "Two-factor sign-in is now required." if required
                         else "Two-factor sign-in is no longer required.")
    return redirect("settings_general", request.organization.slug)
