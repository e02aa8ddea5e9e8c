from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm

from orgs.models import Membership, Organization, Plan, Role, available_timezones
from orgs.validators import no_control_characters


def timezone_choices():
    return [(name, name) for name in sorted(available_timezones())]


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[no_control_characters])
    timezone = forms.ChoiceField(choices=timezone_choices, label="Time zone")


class PlanForm(forms.Form):
    plan = forms.ChoiceField(choices=Plan.choices)


class MemberAddForm(forms.Form):
    email = forms.EmailField(max_length=254, label="E-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    projects = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members see only these projects; owners and admins see all.",
    )

    def __init__(self, *args, organization: Organization, acting: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = acting.assignable_roles()
        self.fields["projects"].queryset = organization.projects.all()

    def clean_email(self):
        # Whether they are a member or invited already is checked by services.member_invite,
        # under a lock: checked here, two submissions at once would both pass.
        return self.cleaned_data["email"].lower()


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args, acting: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = acting.assignable_roles()


class MemberProjectsForm(forms.Form):
    projects = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["projects"].queryset = organization.projects.all()


PASSWORD_HELP = (
    "At least 8 characters; not a common password, not only digits, not like your e-mail."
)


class PlainPasswordHelp:
    """The validators' rules as one plain sentence (Django's help text is an HTML list)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP


class ChoosePasswordForm(PlainPasswordHelp, SetPasswordForm):
    """A new password, twice: accepting an invitation, or a reset link."""


class ChangePasswordForm(PlainPasswordHelp, PasswordChangeForm):
    """The current password and a new one, twice."""


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        max_length=20,
        label="Code",
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class TwoFactorSetupForm(forms.Form):
    code = forms.CharField(
        max_length=20,
        label="Code from the app",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )


class TwoFactorOffForm(forms.Form):
    password = forms.CharField(
        label="Your password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your password.")
        return self.cleaned_data["password"]


class TwoFactorRequirementForm(forms.Form):
    requires_two_factor = forms.BooleanField(
        required=False, label="Require two-factor sign-in for every member"
    )
