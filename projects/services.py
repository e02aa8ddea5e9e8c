"""Writes to projects and chatbots. Each records its audit event in the same transaction."""

from django.db import transaction

from auditlogs import record
from auditlogs.changes import diff, snapshot
from projects.models import Chatbot, Project

PROJECT_FIELDS = ("name", "description")
CHATBOT_FIELDS = ("name", "instructions", "model_name", "temperature", "api_key")


@transaction.atomic
def project_create(*, organization, name: str, description: str = "") -> Project:
    project = Project.objects.create(
        organization=organization,
        name=name,
        description=description,
        slug=Project.unique_slug(organization, name),
    )
    record("project.created", organization=organization, project=project, target=project)
    return project


@transaction.atomic
def project_update(*, project: Project, **values) -> bool:
    return _update_and_record(project, PROJECT_FIELDS, values, "project.updated", project)


@transaction.atomic
def project_delete(*, project: Project) -> None:
    chatbots = sorted(project.chatbots.values_list("name", flat=True))
    record(
        "project.deleted",
        organization=project.organization,
        project=project,
        target=project,
        metadata={"chatbots_deleted": chatbots},
    )
    project.delete()


def project_record_view(*, project: Project) -> None:
    record("project.viewed", organization=project.organization, project=project, target=project)


@transaction.atomic
def chatbot_create(*, project: Project, **values) -> Chatbot:
    chatbot = Chatbot.objects.create(project=project, **values)
    record(
        "chatbot.created",
        organization=project.organization,
        project=project,
        target=chatbot,
        changes=diff({}, snapshot(chatbot, CHATBOT_FIELDS)),
    )
    return chatbot


@transaction.atomic
def chatbot_update(*, chatbot: Chatbot, **values) -> bool:
    return _update_and_record(chatbot, CHATBOT_FIELDS, values, "chatbot.updated", chatbot.project)


@transaction.atomic
def chatbot_delete(*, chatbot: Chatbot) -> None:
    project = chatbot.project
    record("chatbot.deleted", organization=project.organization, project=project, target=chatbot)
    chatbot.delete()


def _update_and_record(instance, fields, values, action, project) -> bool:
    """Apply the values, save and record the diff; nothing is saved or recorded when nothing
    changed."""
    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    before = snapshot(instance, fields)
    for field, value in values.items():
        setattr(instance, field, value)
    changes = diff(before, snapshot(instance, fields))
    if not changes:
        return False
    instance.save(update_fields=list(changes))
    record(action, organization=project.organization, project=project, target=instance,
           changes=changes)
    return True
