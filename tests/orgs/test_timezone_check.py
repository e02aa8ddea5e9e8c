"""A stored time zone must be one the server knows (the check lives in clean_fields, not in a
field validator, so that migrations need not import orgs.models)."""

import pytest
from django.core.exceptions import ValidationError

from orgs.models import Organization, User


@pytest.mark.parametrize("model", [Organization, User])
def test_an_unknown_time_zone_is_refused_on_its_field(model):
    with pytest.raises(ValidationError) as refused:
        model(timezone="Mars/Olympus").clean_fields()
    assert refused.value.message_dict["timezone"] == [
        "“Mars/Olympus” is not a known time zone, such as Europe/Berlin."
    ]


@pytest.mark.parametrize("model", [Organization, User])
def test_a_known_time_zone_passes_and_an_excluded_field_is_not_checked(model):
    others = {"email", "password", "name", "slug"}
    model(timezone="Europe/Berlin").clean_fields(exclude=others)
    model(timezone="Mars/Olympus").clean_fields(exclude=others | {"timezone"})
