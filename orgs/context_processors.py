from orgs.models import Organization


def account_menu(request):
    """The organizations in the top-right Account menu."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"account_organizations": Organization.objects.for_user(user).only("name", "slug")}
