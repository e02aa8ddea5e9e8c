"""Saved views: named filters of the log, each person's own, shared by admins; saving and
sharing are events; another organization's or person's view is 404; personas."""

import pytest
from django.contrib.messages import get_messages

from auditlogs.models import AuditEvent, SavedView
from tests.helpers.clients import signed_in
from tests.helpers.factories import OrganizationFactory

LOG = "/orgs/acme/settings/audit-logs/"
SAVE = f"{LOG}views/"


def save(client, name="Critical this month", query="severity=critical&range=30d&cursor=x",
         **extra):
    return client.post(SAVE, {"name": name, "query": query, **extra})


def told(response) -> list[str]:
    """The messages the next page shows."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def sidebar(client, url=LOG) -> str:
    text = client.get(url).text
    start = text.index('aria-label="Saved views"') if 'aria-label="Saved views"' in text else -1
    return text[start:text.index("</ul>", start)] if start >= 0 else ""


class TestSaving:
    def test_a_member_saves_the_current_filters_and_finds_them_in_the_sidebar(self, member):
        client = signed_in(member)
        response = save(client)
        assert response.status_code == 302
        assert response["Location"] == f"{LOG}?severity=critical&range=30d"  # no cursor
        view = SavedView.objects.get()
        assert (view.owner, view.shared) == (member, False)
        assert view.query == "severity=critical&range=30d"
        assert "Critical this month" in sidebar(client)
        event = AuditEvent.objects.get(action="saved_view.created")
        assert event.target_label == "Critical this month" and event.actor_label == member.email

    def test_views_are_each_persons_own(self, member, admin):
        save(signed_in(member))
        assert "Critical this month" not in sidebar(signed_in(admin))

    def test_an_admin_shares_one_with_the_organization(self, admin, member, owner):
        save(signed_in(admin), share="1")
        assert SavedView.objects.get().shared
        assert AuditEvent.objects.filter(action="saved_view.shared").count() == 1
        for person in (member, owner):
            assert "Critical this month" in sidebar(signed_in(person))

    def test_an_admin_shares_a_view_saved_earlier(self, admin, member):
        client = signed_in(admin)
        save(client)
        view = SavedView.objects.get()
        client.post(f"{SAVE}{view.id}/share/")
        view.refresh_from_db()
        assert view.shared and "Critical this month" in sidebar(signed_in(member))

    def test_a_member_may_not_share(self, member):
        assert save(signed_in(member), share="1").status_code == 403
        assert not SavedView.objects.exists()
        save(signed_in(member))
        view = SavedView.objects.get()
        assert signed_in(member).post(f"{SAVE}{view.id}/share/").status_code == 403

    def test_deleting_ones_own_view(self, member):
        client = signed_in(member)
        save(client)
        view = SavedView.objects.get()
        assert client.post(f"{SAVE}{view.id}/delete/").status_code == 302
        assert not SavedView.objects.exists()
        assert AuditEvent.objects.filter(action="saved_view.deleted").count() == 1

    def test_a_name_is_required(self, member):
        response = save(signed_in(member), name="")
        assert response.status_code == 302 and not SavedView.objects.exists()
        assert told(response) == ["Give the view a name."]

    def test_a_name_too_long_says_so(self, member):
        response = save(signed_in(member), name="n" * 81)
        assert not SavedView.objects.exists()
        assert told(response) == ["Give the view a name of at most 80 characters."]

    def test_filters_too_long_once_encoded_are_refused_and_the_message_says_so(self, admin):
        """1,000 characters as typed, but each é is stored as %C3%A9: six times as long as the
        column (PostgreSQL refused the insert with a 500; SQLite kept it whole)."""
        response = save(signed_in(admin), name="long", query="q=" + "é" * 990)
        assert response.status_code == 302 and response["Location"] == LOG
        assert not SavedView.objects.exists()
        (message,) = told(response)
        assert "filters are too long" in message and "name" not in message

    def test_filters_of_exactly_the_stored_length_are_saved(self, member):
        query = "q=" + "a" * 998
        save(signed_in(member), query=f"{query}&cursor={'c' * 200}")  # the cursor is not kept
        assert SavedView.objects.get().query == query


class TestWhoMay:
    def test_someone_elses_view_is_404_even_when_shared(self, admin, owner):
        save(signed_in(admin), share="1")
        view = SavedView.objects.get()
        for action in ("share", "delete"):
            assert signed_in(owner).post(f"{SAVE}{view.id}/{action}/").status_code == 404

    def test_a_view_of_another_organization_is_404(self, outsider, initech, admin):
        other = SavedView.objects.create(organization=initech, owner=outsider, name="Theirs")
        assert signed_in(outsider).post(
            f"/orgs/acme/settings/audit-logs/views/{other.id}/delete/").status_code == 404
        mine_elsewhere = SavedView.objects.create(
            organization=OrganizationFactory(slug="umbrella"), owner=admin, name="Elsewhere")
        assert signed_in(admin).post(f"{SAVE}{mine_elsewhere.id}/delete/").status_code == 404
        assert SavedView.objects.count() == 2

    def test_an_outsider_gets_404(self, outsider):
        assert save(signed_in(outsider)).status_code == 404

    def test_off_enterprise_saving_is_refused(self, globex_owner):
        response = signed_in(globex_owner).post(
            "/orgs/globex/settings/audit-logs/views/", {"name": "x"})
        assert response.status_code == 403 and not SavedView.objects.exists()

    def test_support_staff_cannot_save(self, staff, acme):
        client = signed_in(staff)
        client.post("/support/", {"organization": "acme", "reason": "Ticket 4242: bot vanished"})
        assert save(client).status_code == 403

    def test_only_post(self, member):
        assert signed_in(member).get(SAVE).status_code == 405

    @pytest.mark.parametrize("persona", ["owner", "admin", "member"])
    def test_the_log_offers_saving_to_every_member(self, persona, request):
        text = signed_in(request.getfixturevalue(persona)).get(LOG).text
        assert "Save this view" in text
        assert ("Share with the organization" in text) == (persona != "member")
