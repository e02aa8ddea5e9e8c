"""factory_boy factories for the product's models. Defaults make a valid row; a test names
only what it is about, e.g. `MembershipFactory(organization=acme, role=Role.ADMIN)`."""

import factory
from factory.django import DjangoModelFactory

from orgs.models import Membership, Organization, Plan, Role, User
from projects.models import Chatbot, Project

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    """A person who can sign in with PASSWORD (created through `User.objects.create_user`)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, **kwargs)


class OrganizationFactory(DjangoModelFactory):
    """An Enterprise organization (the plan with Audit Logs) in Europe/Berlin."""

    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda organization: organization.slug.title())
    plan = Plan.ENTERPRISE
    timezone = "Europe/Berlin"


class MembershipFactory(DjangoModelFactory):
    """A person's membership; `projects=[...]` assigns projects to a member."""

    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MEMBER

    @factory.post_generation
    def projects(membership, create, extracted, **kwargs):
        if create and extracted:
            membership.projects.set(extracted)


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = Project

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.LazyAttribute(
        lambda project: Project.unique_slug(project.organization, project.name)
    )


class ChatbotFactory(DjangoModelFactory):
    class Meta:
        model = Chatbot

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Bot {n}")
