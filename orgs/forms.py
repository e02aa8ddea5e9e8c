from django import forms

from orgs.models import Membership, Organization, Plan, Role, available_timezones


def timezone_choices():
    return [(name, name) for name in sorted(available_timezones())]


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100)
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
        self.organization = organization
        self.fields["role"].choices = acting.assignable_roles()
        self.fields["projects"].queryset = organization.projects.all()

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if Membership.objects.filter(organization=self.organization, user__email__iexact=email):
            raise forms.ValidationError("This person is already a member.")
        return email


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
