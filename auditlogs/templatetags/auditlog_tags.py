import json
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

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
def options(choices, current) -> SafeString:
    """`<option>`s for (value, label) pairs, the current choice (or choices) selected; the
    empty value (a select's "all" choice, written in the template) left out. One tag for a
    whole list: the event types are a hundred options on every page."""
    return mark_safe("".join(
        f'<option value="{escape(str(value))}" {selected_if(value, current)}>'
        f'{escape(str(label))}</option>'
        for value, label in choices if value
    ))


@register.filter
def rows_html(rows) -> SafeString:
    """The rows of the log's list (presenters.EventRow.html), one string for the template to
    place instead of a loop of fifty."""
    return SafeString("".join(row.html for row in rows))


@register.simple_tag
def datalist_options(values) -> SafeString:
    """`<option>`s of a `<datalist>`: the values only."""
    return SafeString("".join(f'<option value="{escape(str(value))}"></option>'
                              for value in values))


@register.simple_tag
def checked_if(value, current) -> str:
    """'checked' when value is the current choice (or among several)."""
    return "checked" if _is_current(value, current) else ""


@register.inclusion_tag("auditlogs/saved_views_nav.html", takes_context=True)
def saved_views_nav(context):
    """Saved views under Audit Logs in the settings sidebar: the person's own and the shared
    ones, on the pages of an organization with Audit Logs that the person is a member of."""
    request = context["request"]
    views = context.get("saved_views")  # the Audit Logs page has read them already
    if views is None:
        organization = getattr(request, "organization", None)
        views = []
        if getattr(request, "membership", None) is not None and organization.has_audit_logs:
            views = SavedView.objects.visible_to(request.user, organization).select_related(
                "organization")
    return {"views": views, "here": request.get_full_path()}
