"""System checks: the checkpoint signing key must load (checked at start-up, not first use)."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=False)
def signing_key_loads(app_configs=None, **kwargs):
    from auditlogs.integrity import signing

    try:
        signing.verification_keys()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="auditlogs.E001")]
    return []
