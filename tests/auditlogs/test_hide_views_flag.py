"""`hide_views` means the same on the page and in the API: the words a boolean field takes
(1/0, true/false, on/off, yes/no, any case), and a clear error for anything else, never a
silent guess."""

import re

import pytest

from integrations import services
from tests.helpers.clients import signed_in

URL = "/orgs/acme/settings/audit-logs/"
API = "/api/v1/orgs/acme/audit-events"
SHOWS_VIEWS = ["0", "off", "no", "false", "False", "OFF", ""]
HIDES_VIEWS = ["1", "on", "yes", "true", "TRUE", "Yes"]
CHECKED = 'name="hide_views" value="1" checked'


@pytest.fixture
def viewed(acme, admin, events):
    """The admin's read of the page, an `audit_log.viewed` event."""
    signed_in(admin).get(URL)
    (view,) = events(acme, action="audit_log.viewed")
    return view


def shown_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="event-(\d+)"', html)}


def read_views_on_page(admin, value: str):
    return signed_in(admin).get(
        URL, {"range": "all", "action": "audit_log.viewed", "hide_views": value}
    )


def read_views_in_api(acme, owner, value: str):
    _, secret = services.api_token_create(
        organization=acme, name="SIEM", created_by=owner, expires_in_days=None
    )
    return signed_in(None).get(
        API, {"action": "audit_log.viewed", "hide_views": value},
        headers={"Authorization": f"Bearer {secret}"},
    )


@pytest.mark.parametrize("value", SHOWS_VIEWS)
def test_a_no_shows_the_views_on_the_page_unchecked(admin, viewed, value):
    page = read_views_on_page(admin, value)
    assert page.status_code == 200
    assert shown_ids(page.text) == {viewed.id}
    assert CHECKED not in page.text


@pytest.mark.parametrize("value", HIDES_VIEWS)
def test_a_yes_hides_the_views_on_the_page_checked(admin, viewed, value):
    page = read_views_on_page(admin, value)
    assert page.status_code == 200
    assert shown_ids(page.text) == set()
    assert CHECKED in page.text


@pytest.mark.parametrize("value", ["maybe", "t", "2"])
def test_another_word_is_a_form_error_on_the_page(admin, viewed, value):
    page = read_views_on_page(admin, value)
    assert page.status_code == 200
    assert (
        f"<strong>Hide views:</strong> “{value}” is neither yes nor no: use 1 or 0 "
        "(or true/false, on/off, yes/no)." in page.text
    )
    assert shown_ids(page.text) == set() and CHECKED not in page.text


@pytest.mark.parametrize("value", SHOWS_VIEWS)
def test_a_no_shows_the_views_in_the_api(acme, owner, viewed, value):
    response = read_views_in_api(acme, owner, value)
    assert response.status_code == 200, response.content
    assert [event["id"] for event in response.json()["events"]] == [viewed.id]


@pytest.mark.parametrize("value", HIDES_VIEWS)
def test_a_yes_hides_the_views_in_the_api(acme, owner, viewed, value):
    response = read_views_in_api(acme, owner, value)
    assert response.status_code == 200, response.content
    assert response.json()["events"] == []


@pytest.mark.parametrize("value", ["maybe", "t", "2"])
def test_another_word_is_a_400_in_the_api(acme, owner, viewed, value):
    response = read_views_in_api(acme, owner, value)
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"hide_views: “{value}” is neither yes nor no: use 1 or 0 "
        "(or true/false, on/off, yes/no).",
        "parameter": "hide_views",
    }
