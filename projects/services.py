"""Writes to projects and chatbots. Each records its audit event in the same transaction."""

from django.db import transaction

from auditlogs import record
from auditlogs.recording.changes import diff, listing, snapshot, update_and_record
from projects.models import Chatbot, Project

PROJECT_FIELDS = ("name", "description")
CHATBOT_FIELDS = ("name", "instructions", "model_name", "temperature", "api_key")


@transaction.atomic
def project_create(*, organization, name: str, description: str = "") -> Project:
    project = Project(organization=organization, name=name, description=description)
    project.insert_with_unique_slug()
    record("project.created", organization=organization, project=project, target=project)
    return project


@transaction.atomic
def project_update(*, project: Project, **values) -> bool:
    return update_and_record(
        project, PROJECT_FIELDS, values, "project.updated",
        organization=project.organization, project=project,
    )


@transaction.atomic
def project_delete(*, project: Project) -> None:
    chatbots = sorted(project.chatbots.values_list("name", flat=True))
    record(
        "project.deleted",
        organization=project.organization,
        project=project,
        target=project,
        metadata=listing("chatbots_deleted", chatbots),
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
    return update_and_record(
        chatbot, CHATBOT_FIELDS, values, "chatbot.updated",
        organization=chatbot.project.organization, project=chatbot.project,
    )


@transaction.atomic
def chatbot_delete(*, chatbot: Chatbot) -> None:
    project = chatbot.project
    record("chatbot.deleted", organization=project.organization, project=project, target=chatbot)
    chatbot.delete()
