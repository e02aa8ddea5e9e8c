from django.utils.functional import SimpleLazyObject

from orgs.tenancy import memberships_of


def account_menu(request):
    """The organizations in the top-right Account menu: the memberships the request read for
    its organization's page, or read when the menu is drawn."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"account_organizations": SimpleLazyObject(
        lambda: [membership.organization for membership in memberships_of(request)])}
