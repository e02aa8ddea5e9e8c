"""A person's own profile: how they see times (their time zone, Local or UTC)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from orgs.forms import timezone_choices


class ProfileForm(forms.Form):
    timezone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=lambda: [("", "The organization's time zone"), *timezone_choices()],
        help_text="Times on every page are shown in this zone.",
    )
    times_in_utc = forms.BooleanField(
        label="Show times in UTC instead", required=False,
        help_text="The Local/UTC switch above the Audit Logs changes this too.",
    )


@login_required
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={"timezone": user.timezone, "times_in_utc": user.times_in_utc},
    )
    if request.method == "POST" and form.is_valid():
        user.timezone = form.cleaned_data["timezone"]
        user.times_in_utc = form.cleaned_data["times_in_utc"]
        user.save(update_fields=["timezone", "times_in_utc"])
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "orgs/profile.html", {"form": form})


@login_required
@require_POST
def profile_times(request):
    """The Local/UTC switch: remembered on the person, then back to the page it was on."""
    request.user.times_in_utc = request.POST.get("times") == "utc"
    request.user.save(update_fields=["times_in_utc"])
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "profile"
    return redirect(back)
