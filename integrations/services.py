"""Writes that change integrations, each recorded in the organization's log in one transaction."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from auditlogs import record
from auditlogs.models import ChainHead
from integrations.models import (
    DEFAULT_BATCH_SIZE,
    AlertSubscription,
    ApiToken,
    DeliveryStatus,
    Destination,
    hash_token,
)


def api_token_create(*, organization, name: str, created_by, expires_in_days: int | None):
    """A new token and its secret, which is shown once and never stored."""
    secret = ApiToken.new_secret()
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            organization=organization,
            name=name,
            token_hash=hash_token(secret),
            prefix=secret[:10],
            created_by=created_by,
            expires_at=expires_at,
        )
        record(
            "api_token.created",
            organization=organization,
            target=token,
            metadata={
                "name": name,
                "prefix": token.prefix,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, secret


def api_token_revoke(*, token: ApiToken) -> bool:
    if token.revoked_at is not None:
        return False
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            "api_token.revoked",
            organization=token.organization,
            target=token,
            metadata={"name": token.name, "prefix": token.prefix},
        )
    return True


def destination_create(*, organization, name: str, url: str, secret: str, created_by,
                       batch_size: int = DEFAULT_BATCH_SIZE):
    with transaction.atomic():
        destination = Destination.objects.create(
            organization=organization,
            name=name,
            url=url,
            secret=secret or Destination.new_secret(),
            batch_size=batch_size,
            created_by=created_by,
            # Every event from now on: what is already in the log can be exported instead.
            cursor=ChainHead.sequence_for(organization.pk),
        )
        record(
            "destination.created",
            organization=organization,
            target=destination,
            metadata={"name": name, "url": url, "batch_size": batch_size},  # masked by record()
        )
    return destination


def destination_update(*, destination: Destination, name: str, url: str, secret: str,
                       paused: bool, batch_size: int | None = None) -> bool:
    before = {
        "name": destination.name, "url": destination.url, "secret": destination.secret,
        "batch_size": destination.batch_size, "paused": destination.is_paused,
    }
    after = {"name": name, "url": url, "secret": secret or destination.secret,
             "batch_size": batch_size or destination.batch_size, "paused": paused}
    changes = {
        field: [before[field], after[field]] for field in before if before[field] != after[field]
    }
    if not changes:
        return False
    with transaction.atomic():
        destination.name, destination.url, destination.secret = name, url, after["secret"]
        destination.batch_size = after["batch_size"]
        # Never the worker's cursor or failure counters.
        saved = ["name", "url", "secret", "batch_size"]
        if paused and not destination.is_paused:
            destination.status = DeliveryStatus.PAUSED
            destination.paused_at = timezone.now()
            saved += ["status", "paused_at"]
        elif not paused and destination.is_paused:
            saved += destination.resume()
        destination.save(update_fields=saved)
        record(
            "destination.updated",
            organization=destination.organization,
            target=destination,
            changes=changes,  # the secret and the URL's credentials are masked by record()
        )
    return True


def destination_delete(*, destination: Destination) -> None:
    with transaction.atomic():
        record(
            "destination.deleted",
            organization=destination.organization,
            target=destination,
            metadata={"name": destination.name, "url": destination.url},
        )
        destination.delete()


def alert_preference_set(*, membership, critical_events: bool) -> AlertSubscription:
    subscription, _ = AlertSubscription.objects.get_or_create(membership=membership)
    if critical_events and not subscription.critical_events:
        # Alerts are about what happens from now on, not the log's history.
        subscription.cursor = ChainHead.sequence_for(membership.organization_id)
    if critical_events:
        subscription.resume()  # saving the choice again retries mails that were failing
    subscription.critical_events = critical_events
    subscription.save()
    return subscription
