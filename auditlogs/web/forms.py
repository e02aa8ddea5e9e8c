from django import forms

from orgs.models import Organization


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
