from django import forms

from orgs.validators import no_control_characters
from projects.models import Chatbot, ModelName


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[no_control_characters])
    description = forms.CharField(max_length=500, required=False, widget=forms.Textarea(
        attrs={"rows": 3}))


class ChatbotForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[no_control_characters])
    instructions = forms.CharField(
        max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    model_name = forms.ChoiceField(choices=ModelName.choices, label="Model")
    temperature = forms.FloatField(min_value=0.0, max_value=2.0, initial=0.7)
    api_key = forms.CharField(
        label="API key",
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current key.",
    )

    def __init__(self, *args, chatbot: Chatbot | None = None, **kwargs):
        if chatbot is not None:
            kwargs.setdefault(
                "initial",
                {f: getattr(chatbot, f) for f in ("name", "instructions", "model_name",
                                                  "temperature")},
            )
        super().__init__(*args, **kwargs)
        self.editing = chatbot is not None

    def values(self) -> dict:
        """What to save: an empty key field keeps the current key when editing."""
        values = dict(self.cleaned_data)
        if self.editing and not values["api_key"]:
            del values["api_key"]
        return values
