"""The event catalogue: every action the log knows, with its label and default severity.

To add an event type, add one `EventType` to `EVENT_TYPES` below and call
`auditlogs.record("<key>", organization=..., ...)` where it happens. An action that is not
here is a programming error: `record` raises `UnknownAction`.

Each type's `sentence` is how a row of the log reads, built from the names stored in the event
when it happened (auditlogs/web/presenters.py fills it in):

- `{actor}` the actor's label, `{target}` the target's label, `{project}` the project's name;
- `{before:FIELD}` and `{after:FIELD}` a value of `changes`, `{fields}` the changed fields;
- `{meta:KEY}` a value of `metadata`;
- `[...]` a part left out when a value inside it is missing.
"""

from dataclasses import dataclass

from django.db import models


class Severity(models.IntegerChoices):
    # Stored as numbers so that ordering and "at least Warning" are plain comparisons.
    INFO = 10, "Info"
    WARNING = 20, "Warning"
    CRITICAL = 30, "Critical"

    @classmethod
    def from_name(cls, name: str) -> "Severity":
        return cls[name.upper()]

    @property
    def key(self) -> str:
        return self.name.lower()


class UnknownAction(LookupError):
    pass


@dataclass(frozen=True)
class EventType:
    key: str
    label: str
    severity: Severity
    description: str
    sentence: str = ""  # see the module docstring; without one: "{actor}: <label>"

    @property
    def row_sentence(self) -> str:
        return self.sentence or f"{{actor}}: {self.label}"


EVENT_TYPES = [
    EventType(
        "user.logged_in", "Signed in", Severity.INFO, "A member signed in.",
        sentence="{actor} signed in",
    ),
    EventType(
        "user.logged_out", "Signed out", Severity.INFO, "A member signed out.",
        sentence="{actor} signed out",
    ),
    EventType(
        "user.login_failed",
        "Sign-in failed",
        Severity.WARNING,
        "Someone tried to sign in as a member with a wrong password (recorded once per "
        "throttle window; a lock-out follows repeated failures).",
        sentence="A sign-in as {target} failed",
    ),
    EventType(
        "user.login_locked",
        "Sign-in locked out",
        Severity.WARNING,
        "Sign-in to a member's account was paused after repeated wrong passwords (the count "
        "is in the details); attempts while paused are refused and not recorded.",
        sentence="Sign-in as {target} was locked out after repeated wrong passwords",
    ),
    EventType(
        "user.password_changed",
        "Password changed",
        Severity.INFO,
        "A member changed their password, or set a new one through a reset link.",
        sentence="{target}'s password was changed[ ({meta:how})]",
    ),
    EventType(
        "user.password_reset_requested",
        "Password reset requested",
        Severity.INFO,
        "A password reset link was sent to a member's e-mail address.",
        sentence="A password reset link was sent to {target}",
    ),
    EventType(
        "user.two_factor_enabled",
        "Two-factor sign-in turned on",
        Severity.INFO,
        "A member turned on two-factor sign-in with an authenticator app.",
        sentence="{actor} turned on two-factor sign-in",
    ),
    EventType(
        "user.two_factor_disabled",
        "Two-factor sign-in turned off",
        Severity.WARNING,
        "A member turned off two-factor sign-in.",
        sentence="{actor} turned off two-factor sign-in",
    ),
    EventType(
        "user.recovery_codes_regenerated",
        "Recovery codes replaced",
        Severity.INFO,
        "A member replaced their two-factor recovery codes; the old ones no longer work.",
        sentence="{actor} replaced their two-factor recovery codes",
    ),
    EventType(
        "user.recovery_code_used",
        "Recovery code used",
        Severity.WARNING,
        "A member signed in with a two-factor recovery code instead of their app.",
        sentence="{target} signed in with a recovery code[ ({meta:codes_left} left)]",
    ),
    EventType(
        "project.viewed", "Project viewed", Severity.INFO, "Someone opened a project.",
        sentence="{actor} viewed project {project}",
    ),
    EventType(
        "project.created", "Project created", Severity.INFO, "A project was created.",
        sentence="{actor} created project {project}",
    ),
    EventType(
        "project.updated", "Project updated", Severity.INFO, "A project's settings changed.",
        sentence="{actor} changed {fields} of project {project}",
    ),
    EventType(
        "project.deleted",
        "Project deleted",
        Severity.CRITICAL,
        "A project and its chatbots were deleted.",
        sentence="{actor} deleted project {project} and its chatbots",
    ),
    EventType(
        "chatbot.created", "Chatbot created", Severity.INFO, "A chatbot was created.",
        sentence="{actor} created chatbot “{target}” in {project}",
    ),
    EventType(
        "chatbot.updated", "Chatbot updated", Severity.INFO, "A chatbot's settings changed.",
        sentence="{actor} changed {fields} of chatbot “{target}” in {project}",
    ),
    EventType(
        "chatbot.deleted", "Chatbot deleted", Severity.CRITICAL, "A chatbot was deleted.",
        sentence="{actor} deleted chatbot “{target}” in {project}",
    ),
    EventType(
        "member.added", "Member added", Severity.INFO, "A person joined the organization.",
        sentence="{actor} added {target}[ as {meta:role}]",
    ),
    EventType(
        "member.invited",
        "Member invited",
        Severity.INFO,
        "An invitation to join the organization was e-mailed (or sent again).",
        sentence="{actor} invited {target}[ as {meta:role}]",
    ),
    EventType(
        "member.invitation_accepted",
        "Invitation accepted",
        Severity.INFO,
        "A person accepted an invitation and joined the organization.",
        sentence="{target} accepted the invitation[ as {meta:role}]",
    ),
    EventType(
        "member.invitation_revoked",
        "Invitation revoked",
        Severity.INFO,
        "A pending invitation was revoked; its link no longer works.",
        sentence="{actor} revoked the invitation of {target}",
    ),
    EventType(
        "member.role_changed",
        "Member role changed",
        Severity.WARNING,
        "A member's role, and with it their permissions, changed.",
        sentence="{actor} changed {target}'s role from {before:role} to {after:role}",
    ),
    EventType(
        "member.projects_changed",
        "Member projects changed",
        Severity.INFO,
        "The projects a member is assigned to changed.",
        sentence="{actor} changed {target}'s projects from {before:projects} to {after:projects}",
    ),
    EventType(
        "member.removed",
        "Member removed",
        Severity.WARNING,
        "A person was removed from the organization.",
        sentence="{actor} removed {target}[ ({meta:role})]",
    ),
    EventType(
        "organization.created",
        "Organization created",
        Severity.INFO,
        "The organization was created (by an operator, in the Django admin).",
        sentence="{actor} created the organization",
    ),
    EventType(
        "organization.updated",
        "Organization updated",
        Severity.INFO,
        "The organization's name or time zone changed.",
        sentence="{actor} changed the organization's {fields}",
    ),
    EventType(
        "organization.two_factor_required",
        "Two-factor requirement changed",
        Severity.WARNING,
        "An owner required two-factor sign-in for every member, or stopped requiring it.",
        sentence=(
            "{actor} changed whether two-factor sign-in is required from "
            "{before:requires_two_factor} to {after:requires_two_factor}"
        ),
    ),
    EventType(
        "organization.plan_changed",
        "Plan changed",
        Severity.WARNING,
        "The organization's plan changed.",
        sentence="{actor} changed the plan from {before:plan} to {after:plan}",
    ),
    EventType(
        "organization.retention_changed",
        "Retention changed",
        Severity.WARNING,
        "How long the organization's audit events are kept changed.",
        sentence=(
            "{actor} changed the retention period[ from "
            "{before:audit_retention_days} days][ to {after:audit_retention_days} days]"
        ),
    ),
    EventType(
        "audit_log.viewed",
        "Audit Logs viewed",
        Severity.INFO,
        "Someone opened the Audit Logs (recorded once per person per day).",
        sentence="{actor} viewed the Audit Logs",
    ),
    EventType(
        "support.access_granted",
        "Support access granted",
        Severity.WARNING,
        "Support staff opened this organization's Audit Logs, stating a reason.",
        sentence="Support staff {actor} opened the Audit Logs[: “{meta:reason}”]",
    ),
    EventType(
        "support.admin_viewed",
        "Viewed by an operator",
        Severity.WARNING,
        "An operator read this organization's events or IP addresses in the Django admin "
        "(recorded once per operator per day).",
        sentence="Staff {actor} viewed this log in the admin",
    ),
    EventType(
        "audit_log.exported",
        "Audit Logs exported",
        Severity.INFO,
        "Someone downloaded the Audit Logs (the filters are in the event's details).",
        sentence="{actor} exported the Audit Logs[ as {meta:format}]",
    ),
    EventType(
        "api_token.created",
        "API token created",
        Severity.WARNING,
        "An organization API token that can read the Audit Logs was created.",
        sentence="{actor} created the API token “{target}”",
    ),
    EventType(
        "api_token.revoked", "API token revoked", Severity.INFO, "An API token was revoked.",
        sentence="{actor} revoked the API token “{target}”",
    ),
    EventType(
        "api_token.updated",
        "API token changed",
        Severity.WARNING,
        "An API token's name or expiry changed.",
        sentence="{actor} changed {fields} of the API token “{target}”",
    ),
    EventType(
        "destination.created",
        "Log destination created",
        Severity.WARNING,
        "A webhook destination that receives every event of the organization was added.",
        sentence="{actor} added the log destination “{target}”[ to {meta:url}]",
    ),
    EventType(
        "destination.updated",
        "Log destination updated",
        Severity.WARNING,
        "A webhook destination's address, secret or state changed.",
        sentence="{actor} changed {fields} of the log destination “{target}”",
    ),
    EventType(
        "destination.deleted", "Log destination deleted", Severity.INFO,
        "A webhook destination was removed.",
        sentence="{actor} removed the log destination “{target}”",
    ),
    EventType(
        "destination.paused",
        "Log destination paused",
        Severity.WARNING,
        "Deliveries to a webhook destination kept failing, so it was paused.",
        sentence="Deliveries to the log destination “{target}” were paused after failing",
    ),
    EventType(
        "alerts.paused",
        "Alert mails paused",
        Severity.WARNING,
        "E-mails about Critical events to a person kept failing, so they were paused.",
        sentence="Alert e-mails to {target} were paused after failing",
    ),
    EventType(
        "audit_log.integrity_failed",
        "Integrity check failed",
        Severity.CRITICAL,
        "Verification found the log altered: an event modified, missing, inserted or "
        "reordered, or its newest events cut (the details name the event).",
        sentence="Verification found the log altered",
    ),
    EventType(
        "audit_log.retention_applied",
        "Retention applied",
        Severity.WARNING,
        "Events older than the organization's retention period were removed; a signed "
        "retention cut vouches for the first event kept.",
        sentence="{actor} removed [{meta:removed} ]events older than [{meta:retention_days} days]",
    ),
    EventType(
        "audit_log.partitions_dropped",
        "Storage months dropped",
        Severity.INFO,
        "An operator dropped month partitions of the event table that no longer held any "
        "event (every organization's retention had removed them).",
        sentence="{actor} dropped the empty storage months[ {meta:months}]",
    ),
    EventType(
        "audit_log.verification_requested",
        "Verification requested",
        Severity.INFO,
        "An operator asked the worker to verify this organization's hash chain.",
        sentence="{actor} asked for the log to be verified",
    ),
    EventType(
        "audit_log.verification_finished",
        "Verification finished",
        Severity.INFO,
        "The worker verified the chain an operator asked about (Critical when it is broken).",
        sentence="A requested verification of the log finished",
    ),
    EventType(
        "audit_log.checkpoint_requested",
        "Checkpoint requested",
        Severity.INFO,
        "An operator asked the worker to verify the chain and sign a checkpoint of its head.",
        sentence="{actor} asked for a signed checkpoint",
    ),
    EventType(
        "audit_log.checkpoint_finished",
        "Checkpoint request finished",
        Severity.INFO,
        "The worker signed the checkpoint an operator asked for, or found the chain broken "
        "and signed nothing (then Critical).",
        sentence="A requested signed checkpoint was made",
    ),
    EventType(
        "audit_log.integrity_exported",
        "Integrity export downloaded",
        Severity.INFO,
        "Someone downloaded the events and signed checkpoints to verify them offline.",
        sentence="{actor} downloaded [the {meta:part} ]to verify the log offline",
    ),
]

EVENT_TYPES += [
    EventType(
        "saved_view.created", "View saved", Severity.INFO,
        "Someone named a view of the Audit Logs (its filters) to open it again.",
        sentence="{actor} saved the view “{target}”",
    ),
    EventType(
        "saved_view.shared", "View shared", Severity.INFO,
        "An admin shared a saved view with the whole organization.",
        sentence="{actor} shared the view “{target}” with the organization",
    ),
    EventType(
        "saved_view.deleted", "View deleted", Severity.INFO, "A saved view was deleted.",
        sentence="{actor} deleted the view “{target}”",
    ),
]

CATALOGUE: dict[str, EventType] = {event_type.key: event_type for event_type in EVENT_TYPES}


def event_type(key: str) -> EventType:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise UnknownAction(
            f"{key!r} is not in the audit event catalogue (auditlogs/recording/catalogue.py)."
        ) from None


def label_for(key: str) -> str:
    known = CATALOGUE.get(key)
    return known.label if known else key


def actions_matching(text: str) -> list[str]:
    """The action keys whose label or key contains the text (for free-text search)."""
    needle = text.casefold()
    return [
        t.key for t in EVENT_TYPES if needle in t.label.casefold() or needle in t.key.casefold()
    ]
