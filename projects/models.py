from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from orgs.validators import no_control_characters

# A double submit costs one more try; more tries than this are not people clicking twice.
SLUG_ATTEMPTS = 10


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """The projects a membership may see: all of the organization's for owners and admins,
        the assigned ones for members."""
        projects = self.filter(organization_id=membership.organization_id)
        if membership.sees_whole_organization:
            return projects
        return projects.filter(assigned_memberships=membership)


class Project(models.Model):
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=100, validators=[no_control_characters])
    slug = models.SlugField(max_length=60)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="project_slug_per_org")
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("project_detail", args=[self.organization.slug, self.slug])

    @classmethod
    def unique_slug(cls, organization, name: str) -> str:
        base = slugify(name)[:50] or "project"
        slug, n = base, 2
        while cls.objects.filter(organization=organization, slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def insert_with_unique_slug(self) -> None:
        """Insert this new project under the first slug of its name free in its organization.

        Two requests creating one name at once (a double submit) both find the same slug free;
        the one whose insert comes second fails on project_slug_per_org and takes the next
        slug, up to SLUG_ATTEMPTS times."""
        for attempt in range(1, SLUG_ATTEMPTS + 1):
            self.slug = self.unique_slug(self.organization, self.name)
            try:
                with transaction.atomic():  # a savepoint: the caller's transaction goes on
                    self.save(force_insert=True)
                return
            except IntegrityError:
                lost_the_slug = Project.objects.filter(
                    organization=self.organization, slug=self.slug
                ).exists()
                if not lost_the_slug or attempt == SLUG_ATTEMPTS:
                    raise


class ModelName(models.TextChoices):
    GPT_4O = "gpt-4o", "GPT-4o"
    GPT_4O_MINI = "gpt-4o-mini", "GPT-4o mini"
    CLAUDE_SONNET = "claude-sonnet", "Claude Sonnet"
    LLAMA_3 = "llama-3-70b", "Llama 3 70B"


class Chatbot(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="chatbots")
    name = models.CharField(max_length=100, validators=[no_control_characters])
    instructions = models.TextField(max_length=4000, blank=True)
    model_name = models.CharField(
        max_length=40, choices=ModelName.choices, default=ModelName.GPT_4O_MINI
    )
    temperature = models.FloatField(
        default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)]
    )
    api_key = models.CharField(
        "API key",
        max_length=200,
        blank=True,
        help_text="The provider key this chatbot uses. Never shown in the Audit Logs.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name
