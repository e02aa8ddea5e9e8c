"""`auditlogs.record`: the catalogue, the request context, masking, validation and atomicity."""

import pytest
from django.db import IntegrityError, transaction

from auditlogs import record
from auditlogs.models import AuditEvent, ImmutableEventError
from auditlogs.recording.catalogue import CATALOGUE, Severity, UnknownAction
from auditlogs.recording.changes import MASK
from auditlogs.recording.context import Actor, ActorType, acting_as
from auditlogs.recording.recorder import InvalidEventData
from projects import services as project_services
from projects.models import Project
from tests.helpers.events import as_stored


def test_it_records_with_the_catalogue_label_and_default_severity(acme, alpha, events):
    event = record("project.deleted", organization=acme, project=alpha)
    assert event.label == "Project deleted"
    assert event.severity == Severity.CRITICAL
    assert event.project_id == alpha.pk and event.project_name == "Alpha"
    assert events(acme) == [event]


def test_an_unknown_action_fails_loudly(acme, events):
    with pytest.raises(UnknownAction, match="not in the audit event catalogue"):
        record("project.exploded", organization=acme)
    assert events() == []


def test_every_catalogue_entry_has_label_severity_and_description():
    for key, kind in CATALOGUE.items():
        assert key == kind.key and kind.label and kind.description
        assert kind.severity in Severity


def test_outside_a_request_the_actor_is_the_system(acme):
    event = record("organization.updated", organization=acme)
    assert (event.actor_type, event.actor_id, event.actor_label) == ("system", None, "system")


def test_commands_name_their_actor(admin, acme):
    with acting_as(Actor.for_user(admin)):
        event = record("organization.updated", organization=acme)
    assert (event.actor_type, event.actor_id, event.actor_label) == (
        ActorType.USER, admin.pk, "admin@acme.test",
    )


def test_secrets_are_masked_in_changes_and_metadata(acme):
    event = record(
        "chatbot.updated",
        organization=acme,
        changes={"api_key": ["sk-old-secret", "sk-new-secret"], "name": ["a", "b"]},
        metadata={"token": "tok-123", "note": "fine"},
    )
    event.refresh_from_db()
    assert event.changes == {"api_key": [MASK, MASK], "name": ["a", "b"]}
    assert event.metadata == {"token": MASK, "note": "fine"}
    assert "secret" not in str(event.changes) and "tok-123" not in str(event.metadata)


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"when": object()}, "JSON-serializable"),
        ({"big": "x" * 9000}, "bytes"),
        ({"nan": float("nan")}, "JSON-serializable"),
        ({"nul": "a\x00b"}, "NUL"),
        ("not a dict", "must be a dict"),
    ],
)
def test_metadata_is_validated(acme, events, metadata, message):
    with pytest.raises(InvalidEventData, match=message):
        record("organization.updated", organization=acme, metadata=metadata)
    assert events() == []


def test_a_project_of_another_organization_is_refused(acme, initech_project, events):
    with pytest.raises(InvalidEventData, match="another organization"):
        record("project.viewed", organization=acme, project=initech_project)
    assert events() == []


def test_events_are_immutable_through_the_orm(acme):
    event = record("organization.updated", organization=acme)
    event.action = "project.deleted"
    with pytest.raises(ImmutableEventError):
        event.save()
    with pytest.raises(ImmutableEventError):
        event.delete()
    with pytest.raises(ImmutableEventError):
        AuditEvent.objects.filter(pk=event.pk).update(severity=Severity.INFO)
    with pytest.raises(ImmutableEventError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_sequences_are_per_organization_and_chained(acme, globex):
    first, other, second = as_stored([
        record("organization.updated", organization=acme),
        record("organization.updated", organization=globex),
        record("organization.updated", organization=acme),
    ])
    assert (first.sequence, second.sequence, other.sequence) == (1, 2, 1)
    assert second.prev_hash == first.hash and len(second.hash) == 64


@pytest.mark.django_db(transaction=True)
def test_when_the_change_fails_after_recording_neither_exists(acme, events):
    """Atomicity: the event commits if and only if the change does."""
    with pytest.raises(IntegrityError), transaction.atomic():
        project = project_services.project_create(organization=acme, name="Gamma")
        assert AuditEvent.objects.filter(action="project.created").exists()
        # Force an error inside the same transaction: a duplicate slug in this organization.
        Project.objects.create(organization=acme, name="Gamma 2", slug=project.slug)
    assert not Project.objects.filter(name="Gamma").exists()
    assert events(acme, action="project.created") == []


@pytest.mark.django_db(transaction=True)
def test_deleting_a_project_or_a_person_changes_nothing_in_the_log(alpha, admin, acme, events):
    project_id = alpha.pk
    project_services.project_record_view(project=alpha)
    with acting_as(Actor.for_user(admin)):
        project_services.project_delete(project=alpha)
    admin.delete()
    viewed, deleted = events(acme)
    assert viewed.project_id == deleted.project_id == project_id
    assert deleted.project_name == "Alpha" and deleted.actor_label == "admin@acme.test"
    assert deleted.actor_id is not None


def test_the_hashed_severity_names_match_the_catalogue():
    from auditlogs.recording.chain import SEVERITY_NAMES

    assert {int(severity): severity.key for severity in Severity} == SEVERITY_NAMES
