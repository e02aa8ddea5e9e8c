from django import forms

from integrations import ssrf
from integrations.models import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, MIN_BATCH_SIZE, Destination
from orgs.validators import no_control_characters

URL_MAX_LENGTH = Destination._meta.get_field("url").max_length
EXPIRY_CHOICES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses it, e.g. “Splunk import”.",
        error_messages={"required": "Give the token a name."},
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")

    def clean_expires_in(self):
        value = self.cleaned_data["expires_in"]
        return int(value) if value else None


class DestinationForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        validators=[no_control_characters],
        error_messages={"required": "Give the destination a name."},
    )
    url = forms.CharField(
        max_length=URL_MAX_LENGTH, label="URL",
        help_text="An https address on the public internet.",
    )
    secret = forms.CharField(
        max_length=200,
        min_length=16,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs every delivery. Leave empty to generate one (new) or keep it (edit).",
    )
    batch_size = forms.IntegerField(
        min_value=MIN_BATCH_SIZE,
        max_value=MAX_BATCH_SIZE,
        required=False,
        initial=DEFAULT_BATCH_SIZE,
        label="Events per request",
        help_text=f"Each POST carries up to this many events in its list, {MIN_BATCH_SIZE} to "
        f"{MAX_BATCH_SIZE:,} (empty: {DEFAULT_BATCH_SIZE}); lower it if your receiver limits "
        f"the size of a request.",
        error_messages={
            key: f"Enter a whole number of events from {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE:,}."
            for key in ("invalid", "min_value", "max_value")
        },
    )
    paused = forms.BooleanField(required=False, label="Paused")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["paused"]

    def clean_batch_size(self):
        value = self.cleaned_data["batch_size"]
        return DEFAULT_BATCH_SIZE if value is None else value

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            # What is stored is the normalised URL (non-ASCII percent-encoded, an international
            # host as punycode), several times as long as what was typed: measure that, before
            # any DNS lookup.
            stored_length = len(ssrf.normalise(url))
            if stored_length > URL_MAX_LENGTH:
                raise forms.ValidationError(
                    f"The URL is too long: at most {URL_MAX_LENGTH:,} characters once encoded "
                    f"for sending (each non-ASCII character takes several), and this one takes "
                    f"{stored_length:,}."
                )
            return ssrf.validate(url)
        except ssrf.UnsafeDestination as error:
            raise forms.ValidationError(str(error)) from None


class AlertPreferenceForm(forms.Form):
    critical_events = forms.BooleanField(
        required=False, label="E-mail me about Critical events I can see"
    )
