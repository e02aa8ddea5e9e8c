"""Validators for the names people give things, shared by the models (and so the admin) and
the forms."""

from django.core.validators import RegexValidator

# Names go into page titles, mail subjects and log lines: a line break or another control
# character in one would break a header or forge a line. A RegexValidator (not a function)
# so that migrations name only Django, never this module.
no_control_characters = RegexValidator(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029]",
    inverse_match=True,
    message="Names cannot contain line breaks, tabs or other control characters.",
)
