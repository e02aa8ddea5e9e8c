"""Password change and reset: Django's own views, in the product's pages, each an event."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.urls import reverse_lazy

from auditlogs.conf import app_settings
from config import ratelimit
from orgs import forms
from orgs.services import record_for_person, unknown_actor

# At most this many reset e-mails per address per sign-in window: no mailbox or log flood.
RESETS_PER_WINDOW = 3


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.ChangePasswordForm
    template_name = "orgs/account_form.html"
    success_url = reverse_lazy("home")
    extra_context = {"title": "Change your password", "submit_label": "Change password"}

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            record_for_person("user.password_changed", self.request.user,
                              metadata={"how": "changed while signed in"})
        messages.success(self.request, "Your password was changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "orgs/account_form.html"
    email_template_name = "orgs/password_reset_email.txt"
    subject_template_name = "orgs/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")
    extra_context = {
        "title": "Reset your password",
        "intro": "Enter the e-mail address you sign in with; we send a link to choose a new "
                 "password.",
        "submit_label": "Send the link",
    }

    @property
    def extra_email_context(self):
        # The link carries the token: it names the configured site, never the request's Host
        # header (which a requester chooses), like the invitation links.
        return {"base_url": app_settings.BASE_URL.rstrip("/")}

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        key = "password-reset:" + hashlib.sha256(email.lower().encode()).hexdigest()[:40]
        if ratelimit.hit(key, settings.SIGN_IN_WINDOW_SECONDS).over(RESETS_PER_WINDOW):
            return super(auth_views.PasswordResetView, self).form_valid(form)  # no e-mail
        for user in form.get_users(email):
            record_for_person("user.password_reset_requested", user, unknown_actor(email))
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "orgs/account_message.html"
    extra_context = {
        "title": "Check your e-mail",
        "text": "If an account uses that address, a link to choose a new password is on its "
                "way. It works once and expires within the hour.",
    }


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.ChoosePasswordForm
    template_name = "orgs/account_form.html"
    success_url = reverse_lazy("password_reset_complete")
    extra_context = {"title": "Choose a new password", "submit_label": "Set password"}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context["validlink"]:
            context["intro"] = ("This link does not work: it expired or was already used. "
                                "Ask for a new one.")
        return context

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            record_for_person("user.password_changed", form.user,
                              metadata={"how": "reset link"})
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "orgs/account_message.html"
    extra_context = {
        "title": "Your password was set",
        "text": "Sign in with your new password.",
        "link_url": reverse_lazy("login"),
        "link_label": "Sign in",
    }
