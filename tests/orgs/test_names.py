"""Names of organizations, projects and chatbots refuse control characters, in the forms and
in the models (so in the admin too): they end up in mail headers and log lines."""

import pytest
from django.core.exceptions import ValidationError

from orgs.models import Organization
from projects.models import Chatbot, Project
from tests.helpers.clients import signed_in


@pytest.mark.parametrize("name", ["Acme\nBcc: x@example.com", "Ac\rme", "Acme\x07", "A\u2028B"])
def test_the_general_settings_refuse_a_name_with_control_characters(acme, owner, events, name):
    response = signed_in(owner).post(
        "/orgs/acme/settings/", {"name": name, "timezone": "UTC"}
    )
    assert response.status_code == 200
    assert "cannot contain line breaks" in response.text
    acme.refresh_from_db()
    assert acme.name == "Acme" and events(acme) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda acme, alpha: Organization(name="Acme\nInc", slug="acme-2"),
        lambda acme, alpha: Project(organization=acme, name="Alpha\tBeta", slug="ab"),
        lambda acme, alpha: Chatbot(project=alpha, name="Helper\r\n"),
    ],
    ids=["organization", "project", "chatbot"],
)
def test_the_models_refuse_names_with_control_characters(acme, alpha, make):
    with pytest.raises(ValidationError) as refused:
        make(acme, alpha).full_clean()
    assert "cannot contain line breaks" in str(refused.value.message_dict["name"])


def test_ordinary_names_with_unicode_and_punctuation_are_kept(personas):
    Organization(name="Ünïcode & Söhne — «Test» 🔒", slug="unicode").full_clean()
