import json

from django import template

from auditlogs.models import SavedView

register = template.Library()


@register.filter
def as_json(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=None)


def _is_current(value, current) -> bool:
    if isinstance(current, list | tuple):
        return str(value) in [str(c) for c in current]
    return str(value) == str(current if current is not None else "")


@register.simple_tag
def selected_if(value, current) -> str:
    """'selected' when value is the current choice (or among several)."""
    return "selected" if _is_current(value, current) else ""


@register.simple_tag
def checked_if(value, current) -> str:
    """'checked' when value is the current choice (or among several)."""
    return "checked" if _is_current(value, current) else ""


@register.inclusion_tag("auditlogs/saved_views_nav.html", takes_context=True)
def saved_views_nav(context):
    """Saved views under Audit Logs in the settings sidebar: the person's own and the shared
    ones, on the pages of an organization with Audit Logs that the person is a member of."""
    request = context["request"]
    organization = getattr(request, "organization", None)
    views = []
    if getattr(request, "membership", None) is not None and organization.has_audit_logs:
        views = SavedView.objects.visible_to(request.user, organization).select_related(
            "organization")
    return {"views": views, "here": request.get_full_path()}
