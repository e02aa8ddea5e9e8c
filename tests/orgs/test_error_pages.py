"""403, 404 and 500 in the product's frame, saying what the person can do."""

import re
from unittest import mock

import pytest
from django.test import Client

from tests.helpers.clients import signed_in

pytestmark = pytest.mark.django_db


def without_tokens(response) -> str:
    """The page without its per-response CSRF tokens."""
    html = response.content.decode()
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_a_member_on_an_admin_page_gets_a_branded_403_with_a_way_back(member):
    response = signed_in(member).get("/orgs/acme/settings/api-tokens/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can't open this page" in html
    assert "Your role in Acme (Member) does not allow this page" in html
    assert 'href="/orgs/acme/"' in html  # back to the projects
    assert 'href="/orgs/acme/settings/members/"' in html
    assert 'class="topbar"' in html  # the product's frame, with the Account menu
    assert "Account" in html


def test_an_outsider_gets_the_same_branded_404_as_for_an_organization_that_does_not_exist(
    outsider,
):
    client = signed_in(outsider)
    member_only = client.get("/orgs/acme/settings/audit-logs/")
    missing = client.get("/orgs/no-such-org/settings/audit-logs/")
    assert member_only.status_code == missing.status_code == 404
    assert without_tokens(member_only) == without_tokens(missing)  # nothing hints it exists
    assert "Page not found" in missing.content.decode()
    assert "Go to your organization" in missing.content.decode()


def test_a_signed_out_visitor_on_a_missing_page_is_offered_sign_in(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert 'href="/accounts/login/"' in response.content.decode()


def test_a_server_error_shows_the_branded_500(owner):
    client = signed_in(owner)
    client.raise_request_exception = False
    with mock.patch("orgs.views.Organization.objects.for_user", side_effect=RuntimeError):
        response = client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "Try again" in html
