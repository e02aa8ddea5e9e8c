"""Operators are recorded like everyone else: what the Django admin changes in an organization's
data goes into that organization's log, with the operator as a `staff` actor and the diff.

A ModelAdmin (and each of its inlines) declares an `AuditSpec`: which organization (and
project) an object belongs to and which catalogue action its creation, change and deletion
are. `StaffRecordedAdmin` does the rest, in the admin's own transaction: a change goes through
`update_and_record` (auditlogs/recording/changes.py), so the row and its event commit together.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models

from auditlogs import record
from auditlogs.recording.changes import diff, update_and_record
from auditlogs.recording.context import Actor, ActorType, acting_as


def _itself(obj):
    return obj


@dataclass(frozen=True)
class AuditSpec:
    organization: Callable[[models.Model], models.Model]
    updated: str
    created: str | None = None  # None: adding is not recorded (nor offered, see the admins)
    deleted: str | None = None
    project: Callable[[models.Model], models.Model | None] | None = None
    target: Callable[[models.Model], models.Model] = _itself
    # A field whose change is an event of its own (a plan change is not a rename).
    field_actions: dict[str, str] = field(default_factory=dict)

    def action_for(self, field_name: str) -> str:
        return self.field_actions.get(field_name, self.updated)

    def where(self, obj) -> dict:
        """The organization, project and target arguments of `record` for `obj`."""
        return {
            "organization": self.organization(obj),
            "project": self.project(obj) if self.project else None,
            "target": self.target(obj),
        }


class StaffRecordedAdmin:
    """Mix into a ModelAdmin whose objects belong to an organization; set `audit_spec`, and
    `audit_spec` on each inline."""

    audit_spec: AuditSpec

    def save_model(self, request, obj, form, change):
        with _as_operator(request):
            if change:
                form.audit_many_before = _many_to_many(obj, form.changed_data)
                _record_changes(self.audit_spec, obj, form.changed_data)
            else:
                obj.save()
                _record_event(self.audit_spec, self.audit_spec.created, obj)

    def save_related(self, request, form, formsets, change):
        with _as_operator(request):
            super().save_related(request, form, formsets, change)
            before = getattr(form, "audit_many_before", {})
            after = _many_to_many(form.instance, before)
            changes = diff(before, after)
            for field_name, pair in changes.items():
                record(
                    self.audit_spec.action_for(field_name), **self.audit_spec.where(form.instance),
                    changes={field_name: pair},
                )

    def save_formset(self, request, form, formset, change):
        spec = next(i.audit_spec for i in self.inlines if i.model is formset.model)
        with _as_operator(request):
            formset.save(commit=False)
            for obj in formset.deleted_objects:
                _delete(spec, obj)
            for obj, changed in formset.changed_objects:
                _record_changes(spec, obj, changed)
            for obj in formset.new_objects:
                obj.save()
                _record_event(spec, spec.created, obj)

    def delete_model(self, request, obj):
        delete_and_record(request, self.audit_spec, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # one event per object, like the product's own deletes
            self.delete_model(request, obj)

    def has_add_permission(self, request):
        return self.audit_spec.created is not None and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.audit_spec.deleted is not None and super().has_delete_permission(request, obj)


class StaffRecordedInline:
    """Mix into an inline of a StaffRecordedAdmin; set `audit_spec`."""

    audit_spec: AuditSpec

    def has_add_permission(self, request, obj=None):
        return self.audit_spec.created is not None and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.audit_spec.deleted is not None and super().has_delete_permission(request, obj)


def delete_and_record(request, spec: AuditSpec, obj) -> None:
    """Record the deletion (as the operator) and delete, in the caller's transaction."""
    with _as_operator(request):
        _delete(spec, obj)


def _as_operator(request):
    return acting_as(Actor.for_user(request.user, ActorType.STAFF))


def _record_changes(spec: AuditSpec, obj, changed: list[str]) -> None:
    """Save the form's changed columns through `update_and_record`, one event per action."""
    model = type(obj)
    concrete = {f.name for f in model._meta.concrete_fields}
    columns = [name for name in changed if name in concrete]
    if not columns:
        return
    stored = model._default_manager.get(pk=obj.pk)
    by_action: dict[str, list[str]] = {}
    for name in columns:
        by_action.setdefault(spec.action_for(name), []).append(name)
    for action, names in by_action.items():
        values = {name: getattr(obj, name) for name in names}
        update_and_record(stored, names, values, action, **spec.where(stored))


def _record_event(spec: AuditSpec, action: str | None, obj) -> None:
    if action is not None:
        record(action, **spec.where(obj))


def _delete(spec: AuditSpec, obj) -> None:
    _record_event(spec, spec.deleted, obj)
    obj.delete()


def _many_to_many(obj, names) -> dict:
    fields = {f.name for f in type(obj)._meta.many_to_many}
    return {
        name: sorted(str(item) for item in getattr(obj, name).all())
        for name in names if name in fields
    }
