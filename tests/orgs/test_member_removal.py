"""Settings → Members → a person → Remove: a page asks first (as deleting a project does), and
only its POST removes."""

import re

import pytest
from django.contrib.messages import get_messages

from orgs.models import Membership, Role
from tests.helpers.clients import signed_in


def member_page(membership) -> str:
    return f"/orgs/acme/settings/members/{membership.pk}/"


def removal_page(membership) -> str:
    return f"/orgs/acme/settings/members/{membership.pk}/remove/"


def removed(membership) -> bool:
    return not Membership.objects.filter(pk=membership.pk).exists()


def test_the_member_page_links_to_the_confirmation_and_removes_no_one(
    owner, member_membership, events
):
    client = signed_in(owner)
    page = client.get(member_page(member_membership)).text
    link = f'<a class="button danger" href="{removal_page(member_membership)}">'
    assert f"{link}Remove member@acme.test</a>" in page
    forms = re.findall(r"<form[^>]*>", page)
    assert forms and not any("remove" in form for form in forms)  # no one-click removal left
    assert not removed(member_membership) and events() == []


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_are_asked_first_then_remove(personas, member_membership, acme,
                                                       events, who):
    client = signed_in(personas[who])
    asked = client.get(removal_page(member_membership))
    assert asked.status_code == 200
    assert "Remove “member@acme.test” from Acme?" in asked.text
    assert "They lose access to Acme and its projects at once" in asked.text
    assert "The removal is recorded in the Audit Logs." in asked.text
    assert f'<a class="button" href="{member_page(member_membership)}">Cancel</a>' in asked.text
    assert not removed(member_membership) and events() == []

    confirmed = client.post(removal_page(member_membership))
    assert confirmed.status_code == 302 and confirmed["Location"] == "/orgs/acme/settings/members/"
    assert removed(member_membership)
    assert [str(m) for m in get_messages(confirmed.wsgi_request)] == [
        "member@acme.test was removed."]
    (event,) = events(acme, action="member.removed")
    assert event.actor_label == f"{who}@acme.test" and event.metadata == {"role": "member"}
    listed = client.get("/orgs/acme/settings/members/").text
    assert '<td data-label="Person">member@acme.test</td>' not in listed
    assert '<td data-label="Person">admin@acme.test</td>' in listed


def test_members_get_403_and_outsiders_404(member, outsider, staff, globex_owner, acme, events):
    admin = Membership.objects.get(organization=acme, role=Role.ADMIN)
    client = signed_in(member)
    assert client.get(removal_page(admin)).status_code == 403
    assert client.post(removal_page(admin)).status_code == 403
    for stranger in (outsider, staff, globex_owner):
        client = signed_in(stranger)
        assert client.get(removal_page(admin)).status_code == 404
        assert client.post(removal_page(admin)).status_code == 404
    assert signed_in(None).get(removal_page(admin)).status_code == 302
    assert signed_in(None).post(removal_page(admin)).status_code == 302
    assert not removed(admin) and events() == []


def test_admins_are_not_asked_about_owners(admin, acme, events):
    ownership = Membership.objects.get(organization=acme, role=Role.OWNER)
    client = signed_in(admin)
    assert client.get(removal_page(ownership)).status_code == 403
    assert client.post(removal_page(ownership)).status_code == 403
    assert not removed(ownership) and events() == []


def test_the_confirmation_is_404_across_organizations(admin, initech, events):
    foreign = Membership.objects.get(organization=initech)
    client = signed_in(admin)
    assert client.get(removal_page(foreign)).status_code == 404
    assert client.post(removal_page(foreign)).status_code == 404
    assert not removed(foreign) and events() == []


def test_the_last_owner_is_asked_then_refused(owner, acme, events):
    ownership = Membership.objects.get(organization=acme, role=Role.OWNER)
    client = signed_in(owner)
    asked = client.get(removal_page(ownership))
    assert asked.status_code == 200 and "You lose access to Acme" in asked.text
    refused = client.post(removal_page(ownership), follow=True)
    assert "An organization needs at least one owner." in refused.text
    assert not removed(ownership) and events() == []


def test_an_admin_removing_themselves_is_told_so_and_leaves(admin, acme, events):
    ownership = Membership.objects.get(organization=acme, user=admin)
    client = signed_in(admin)
    asked = client.get(removal_page(ownership))
    assert "Remove “admin@acme.test” from Acme?" in asked.text
    assert "You lose access to Acme" in asked.text and "They lose" not in asked.text
    left = client.post(removal_page(ownership))
    assert left.status_code == 302 and left["Location"] == "/"
    assert removed(ownership)
    assert client.get("/orgs/acme/settings/members/").status_code == 404
