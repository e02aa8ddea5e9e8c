"""Create the demo organizations, people, projects and ninety days of history.

Idempotent: people, organizations and memberships are brought to the demo state; the history
is written once, through the same services a person's actions use, so labels, diffs and
severities are real.

Only on a database of the demo's own: it makes a superuser and a staff member with a public
password and turns two-factor sign-in off for the demo's people and organizations, so a
database holding anybody or any organization else (a real one) is refused, whatever DEBUG says.
"""

import random
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from auditlogs import record
from auditlogs.integrity.checkpointing import checkpoint
from auditlogs.models import AuditEvent
from auditlogs.recording.context import Actor, ActorType, AuditContext, using_context
from auditlogs.storage import partitions
from orgs import services as org_services
from orgs.models import Membership, Organization, Plan, Role, User
from projects import services as project_services
from projects.models import ModelName

PASSWORD = "auditlogs-demo"
HISTORY_DAYS = 90
HISTORY_EVENTS = 2000

PEOPLE = [
    # email, staff, superuser
    ("owner@acme.test", False, False),
    ("admin@acme.test", False, False),
    ("member@acme.test", False, False),
    ("owner@globex.test", False, False),
    ("support@auditlogs.test", True, False),
    ("ops@auditlogs.test", True, True),
]
ORGANIZATIONS = [
    # slug, name, plan, timezone, [(email, role)]
    ("acme", "Acme", Plan.ENTERPRISE, "Europe/Berlin", [
        ("owner@acme.test", Role.OWNER),
        ("admin@acme.test", Role.ADMIN),
        ("member@acme.test", Role.MEMBER),
    ]),
    ("globex", "Globex", Plan.FREE, "America/New_York", [("owner@globex.test", Role.OWNER)]),
]
ACME_PROJECTS = {
    "Customer Support": ["Support Bot", "Returns Helper"],
    "Sales Assistant": ["Lead Qualifier", "Pricing Bot"],
    "Internal Tools": ["HR Helper"],
}
MEMBER_PROJECT = "Customer Support"
DELETED_PROJECT = ("Legacy Experiments", ["Prototype Bot"])
CLIENTS = [
    ("203.0.113.9", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"),
    ("198.51.100.23", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.0 Safari/605.1.15"),
    ("192.0.2.77", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/141.0 Safari/537.36"),
]


class Command(BaseCommand):
    help = "Create the demo organizations, users (password auditlogs-demo) and history."

    def handle(self, *args, **options):
        with transaction.atomic():
            _refuse_a_database_not_the_demos()
            users = {email: self._person(email, staff, su) for email, staff, su in PEOPLE}
            for slug, name, plan, tz, members in ORGANIZATIONS:
                organization, _ = Organization.objects.update_or_create(
                    slug=slug, defaults={"name": name, "plan": plan, "timezone": tz,
                                         "requires_two_factor": False}
                )
                for email, role in members:
                    Membership.objects.update_or_create(
                        user=users[email], organization=organization, defaults={"role": role}
                    )
            acme = Organization.objects.get(slug="acme")
            if AuditEvent.objects.filter(organization=acme).exists():
                self.stdout.write("The demo history exists already; nothing to add.")
            else:
                written = History(acme, users, random.Random(20261127)).write()
                signed, _ = checkpoint(acme)
                self.stdout.write(
                    f"Wrote {written} events of demo history for Acme; signed a checkpoint "
                    f"through event #{signed.sequence}."
                )
        self._print_logins()

    def _person(self, email, staff, superuser) -> User:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.is_staff, user.is_superuser, user.is_active = staff, superuser, True
        if not user.pk or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
        user.save()
        # The demo's people sign in with their password alone, whatever was tried before.
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        return user

    def _print_logins(self):
        self.stdout.write(self.style.SUCCESS("Demo logins (password: auditlogs-demo):"))
        for line in [
            "owner@acme.test       owner of Acme (Enterprise)",
            "admin@acme.test       admin of Acme (Enterprise)",
            "member@acme.test      member of Acme, assigned to Customer Support",
            "owner@globex.test     owner of Globex (free plan)",
            "support@auditlogs.test  support staff: /support/",
            "ops@auditlogs.test    superuser: /admin/",
        ]:
            self.stdout.write(f"  {line}")


def _refuse_a_database_not_the_demos() -> None:
    strangers = User.objects.exclude(email__in=[email for email, _, _ in PEOPLE])
    others = Organization.objects.exclude(slug__in=[slug for slug, *_ in ORGANIZATIONS])
    found = [f"{count} {one if count == 1 else many}" for count, one, many in (
        (strangers.count(), "person", "people"),
        (others.count(), "organization", "organizations"),
    ) if count]
    if found:
        raise CommandError(
            f"seed_demo is refused: this database holds {' and '.join(found)} besides the "
            "demo's. It would add a superuser and staff with the public password "
            f"{PASSWORD!r} and turn two-factor sign-in off; run it on a database of its own.",
            returncode=1,
        )


class History:
    """Ninety days of Acme's life, replayed through the services in time order."""

    def __init__(self, organization, users, rng: random.Random):
        self.org = organization
        self.users = users
        self.rng = rng
        self.now = timezone.now()
        self.start = self.now - timedelta(days=HISTORY_DAYS)

    def moments(self, count: int):
        span = (self.now - timedelta(minutes=5) - self.start).total_seconds()
        offsets = sorted(self.rng.uniform(0, span) for _ in range(count))
        return [self.start + timedelta(seconds=offset) for offset in offsets]

    def at(self, when, email):
        ip, agent = self.rng.choice(CLIENTS)
        user = self.users[email]
        return using_context(
            AuditContext(
                actor=Actor.for_user(user), ip=ip, user_agent=agent,
                request_id=uuid.UUID(int=self.rng.getrandbits(128)).hex, occurred_at=when,
            )
        )

    def write(self) -> int:
        # On PostgreSQL, ninety days back are months before the ones migrate created: give
        # them their partitions first, or the history would land in the default partition.
        partitions.ensure_partitions(self.start, self.now)
        before = AuditEvent.objects.filter(organization=self.org).count()
        moments = iter(self.moments(HISTORY_EVENTS))
        owner, admin, member = "owner@acme.test", "admin@acme.test", "member@acme.test"

        # Day one: the owner sets up projects and chatbots, the team gets its roles.
        projects = {}
        for name, bots in [*ACME_PROJECTS.items(), DELETED_PROJECT]:
            with self.at(next(moments), owner):
                projects[name] = project_services.project_create(
                    organization=self.org, name=name
                )
            for bot in bots:
                with self.at(next(moments), owner):
                    project_services.chatbot_create(
                        project=projects[name], name=bot,
                        instructions=f"You are {bot}, a helpful assistant for Acme.",
                        model_name=ModelName.GPT_4O_MINI, temperature=0.7,
                        api_key=f"sk-demo-{uuid.UUID(int=self.rng.getrandbits(128)).hex}",
                    )
        member_membership = Membership.objects.get(organization=self.org, user=self.users[member])
        with self.at(next(moments), owner):
            org_services.member_set_projects(
                membership=member_membership, projects=[projects[MEMBER_PROJECT]]
            )
        with self.at(next(moments), owner):
            org_services.organization_update(
                organization=self.org, name="Acme Inc.", timezone="Europe/Berlin"
            )
        with self.at(next(moments), owner):
            org_services.organization_update(
                organization=self.org, name="Acme", timezone="Europe/Berlin"
            )

        remaining = list(moments)
        deleted_at = len(remaining) - len(remaining) // 30  # about three days ago
        live = dict(projects)
        for i, when in enumerate(remaining):
            if i == deleted_at:
                with self.at(when, admin):
                    project_services.project_delete(project=live.pop(DELETED_PROJECT[0]))
                continue
            self.step(when, live, owner, admin, member)
        return AuditEvent.objects.filter(organization=self.org).count() - before

    def step(self, when, live, owner, admin, member):
        roll = self.rng.random()
        member_project = live[MEMBER_PROJECT]
        if roll < 0.50:
            email = self.rng.choice([owner, admin, admin, member])
            project = member_project if email == member else self.rng.choice(list(live.values()))
            with self.at(when, email):
                project_services.project_record_view(project=project)
        elif roll < 0.70:
            email = self.rng.choice([owner, admin, member])
            with self.at(when, email):
                record("user.logged_in", organization=self.org, target=self.users[email])
        elif roll < 0.74:
            with self.at(when, admin):
                record(
                    "user.login_failed", organization=self.org, target=self.users[admin],
                    metadata={"attempted_email": admin},
                    # as auditlogs/web/sign_in.py records it: nobody proved who they were
                    actor=Actor(type=ActorType.USER, id=None, label=admin),
                )
        elif roll < 0.90:
            email = self.rng.choice([admin, member])
            project = member_project if email == member else self.rng.choice(list(live.values()))
            chatbots = list(project.chatbots.all())
            if not chatbots:
                return
            chatbot = self.rng.choice(chatbots)
            with self.at(when, email):
                project_services.chatbot_update(
                    chatbot=chatbot,
                    temperature=round(self.rng.uniform(0.1, 1.2), 1),
                    instructions=f"{chatbot.instructions.split(' Version')[0]} "
                    f"Version {self.rng.randint(2, 40)}.",
                )
        elif roll < 0.95:
            email = self.rng.choice([admin, member])
            project = member_project if email == member else self.rng.choice(list(live.values()))
            with self.at(when, email):
                chatbot = project_services.chatbot_create(
                    project=project, name=f"Draft bot {self.rng.randint(100, 999)}",
                    model_name=self.rng.choice(ModelName.values), temperature=0.5,
                )
            if self.rng.random() < 0.6:
                with self.at(when + timedelta(seconds=30), email):
                    project_services.chatbot_delete(chatbot=chatbot)
        elif roll < 0.98:
            # A member is made admin for a moment, then back (the demo member stays a member).
            membership = Membership.objects.get(organization=self.org, user=self.users[member])
            with self.at(when, owner):
                org_services.member_change_role(membership=membership, role=Role.ADMIN)
            with self.at(when + timedelta(seconds=45), owner):
                org_services.member_change_role(membership=membership, role=Role.MEMBER)
        else:
            with self.at(when, self.rng.choice([owner, admin])):
                record("audit_log.viewed", organization=self.org)
