from django import forms

from orgs.models import Organization
from orgs.two_factor import has_two_factor


class SupportAccessForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.all(),
        to_field_name="slug",
        empty_label="Choose an organization",
        error_messages={"invalid_choice": "Choose an organization from the list."},
    )
    reason = forms.CharField(
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The organization's admins see this reason in their Audit Logs.",
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff

    def clean_organization(self):
        """An organization that requires two-factor sign-in of its own people requires it of
        the staff who read its log too."""
        organization = self.cleaned_data["organization"]
        if organization.requires_two_factor and not has_two_factor(self.staff):
            raise forms.ValidationError(
                f"{organization.name} requires two-factor sign-in: turn yours on (Account → "
                "Two-factor sign-in) before opening its log."
            )
        return organization
