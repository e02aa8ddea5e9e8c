"""Tenancy: people, organizations and what each person may do in each organization."""

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone as django_timezone

from orgs.validators import no_control_characters


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone, such as Europe/Berlin.")


def clean_fields_and_timezone(instance, clean_fields, exclude=None) -> None:
    """A model's clean_fields() plus the check of its `timezone` field, errors together. The
    check is not a field validator so that migrations need not import this module."""
    errors = {}
    try:
        clean_fields(exclude)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if instance.timezone and "timezone" not in errors and "timezone" not in (exclude or ()):
        try:
            validate_timezone(instance.timezone)
        except ValidationError as error:
            errors["timezone"] = error.error_list
    if errors:
        raise ValidationError(errors)


def available_timezones() -> set[str]:
    return zoneinfo.available_timezones()


class UserManager(BaseUserManager):

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        user = self.by_email(email)
        if user is None:
            raise self.model.DoesNotExist(f"No account uses {email!r}.")
        return user

    def by_email(self, email: str):
        """The account of this e-mail address in any letter case, or None.

        The database's case-insensitive match is wider than Python's: PostgreSQL's
        upper('ı') is 'I', so `email__iexact` matches "admın@acme.test" (dotless i) to
        admin@acme.test. Such a look-alike is another address (another mailbox), so a match
        must also be equal after lower(): one account per address for signing in, sign-in
        throttling and invitations."""
        email = email.strip().lower()
        return next(
            (user for user in self.filter(email__iexact=email) if user.email.lower() == email),
            None,
        )


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address and a password."""

    email = models.EmailField(unique=True, max_length=254)
    name = models.CharField(max_length=150, blank=True)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        help_text="Times are shown in this zone; empty means the organization's zone.",
    )
    times_in_utc = models.BooleanField(
        default=False, help_text="Show every time in UTC instead of the time zone above."
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Support staff: may open any organization's log with a reason."
    )
    date_joined = models.DateTimeField(default=django_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def clean_fields(self, exclude=None):
        clean_fields_and_timezone(self, super().clean_fields, exclude)

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email


class Plan(models.TextChoices):
    FREE = "free", "Free"
    TEAM = "team", "Team"
    ENTERPRISE = "enterprise", "Enterprise"


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user):
        """The organizations the user is a member of."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Organization(models.Model):
    name = models.CharField(max_length=100, validators=[no_control_characters])
    slug = models.SlugField(max_length=50, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    timezone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(default=django_timezone.now)
    audit_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Audit events older than this many days are removed by the retention "
        "command (apply_audit_retention); empty keeps them forever.",
    )
    synthetic_data = models.BooleanField(
        default=False,
        help_text="A demonstration or benchmark organization: generate_audit_events may write "
        "made-up events into its log. Set by operators in Django admin, never by its members.",
    )
    requires_two_factor = models.BooleanField(
        default=False,
        help_text="Members must turn on two-factor sign-in before they see the organization.",
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        clean_fields_and_timezone(self, super().clean_fields, exclude)

    @property
    def has_audit_logs(self) -> bool:
        return self.plan == Plan.ENTERPRISE


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class MembershipQuerySet(models.QuerySet):
    def active(self):
        """Memberships of people whose account is active: a deactivated person (is_active off)
        loses every organization's pages, alerts and mails at once, without losing the
        membership itself (turning the account back on restores them)."""
        return self.filter(user__is_active=True)


class Membership(models.Model):
    """A person's place in an organization: a role and, for members, the projects assigned.

    Every rule of who may do what in the organization lives here, so views and templates ask
    one place. Which projects it sees is `Project.objects.visible_to(membership)`.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    projects = models.ManyToManyField(
        "projects.Project",
        blank=True,
        related_name="assigned_memberships",
        help_text="The projects a member works on (owners and admins see every project).",
    )
    created_at = models.DateTimeField(default=django_timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_admin_or_owner(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)

    # Organization-wide permissions.
    @property
    def can_manage_organization(self) -> bool:
        return self.is_admin_or_owner

    @property
    def can_manage_projects(self) -> bool:
        return self.is_admin_or_owner

    @property
    def can_manage_members(self) -> bool:
        return self.is_admin_or_owner

    @property
    def can_change_plan(self) -> bool:
        return self.is_owner

    @property
    def sees_whole_organization(self) -> bool:
        return self.is_admin_or_owner

    def assignable_roles(self) -> list[tuple[str, str]]:
        """Owners may hand out any role; admins may not make owners."""
        if self.is_owner:
            return list(Role.choices)
        return [(value, label) for value, label in Role.choices if value != Role.OWNER]

    def can_change_membership(self, other: "Membership") -> bool:
        """Admins manage admins and members; only owners touch owners."""
        if not self.can_manage_members:
            return False
        return self.is_owner or not other.is_owner


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An e-mailed offer to join an organization with a role (and, for members, projects).

    The link carries a signed token naming the invitation and when it was sent: it expires
    after INVITATION_MAX_AGE_DAYS, works once (accepting ends it), and sending the invitation
    again or revoking it ends the links sent before (orgs/invitations.py).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    projects = models.ManyToManyField("projects.Project", blank=True, related_name="+")
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=django_timezone.now)
    sent_at = models.DateTimeField(default=django_timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self):
        return self.email

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class SecurityLogQuerySet(models.QuerySet):
    def note(self, kind: str, *, attempted_email: str, ip, user_agent: str, window_start):
        """Count one more attempt in this window's row, making it on the first."""
        key = {"kind": kind, "attempted_email": attempted_email[:254], "ip": ip,
               "window_start": window_start}
        now = django_timezone.now()
        with transaction.atomic():
            if self.filter(**key).update(attempts=models.F("attempts") + 1, last_at=now):
                return
            try:
                with transaction.atomic():
                    self.create(**key, user_agent=user_agent[:512], first_at=now, last_at=now)
            except IntegrityError:  # another process made it first
                self.filter(**key).update(attempts=models.F("attempts") + 1, last_at=now)


class SecurityLogEntry(models.Model):
    """The operators' security log: failed sign-ins that no organization's log can take
    (unknown e-mail addresses, people in no organization) and client addresses locked out.

    One row per kind, e-mail address, client address and throttle window, counting the
    attempts, so a flood adds rows only as fast as the throttle lets it. Seen in the Django
    admin."""

    class Kind(models.TextChoices):
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        ACCOUNT_LOCKED = "account_locked", "Account locked out"
        ADDRESS_LOCKED = "address_locked", "Address locked out"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    attempted_email = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    window_start = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField(default=django_timezone.now)
    last_at = models.DateTimeField(default=django_timezone.now)

    objects = SecurityLogQuerySet.as_manager()

    class Meta:
        ordering = ["-last_at"]
        verbose_name = "security log entry"
        verbose_name_plural = "security log"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "attempted_email", "ip", "window_start"],
                name="one_security_log_entry_per_window",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.attempted_email or self.ip}"
