"""System checks: the checkpoint keys must load (checked at start-up, not first use)."""

from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def signing_key_loads(app_configs=None, **kwargs):
    from auditlogs.integrity import signing

    return [
        checks.Error(problem, id="auditlogs.E001")
        for problem in signing.configuration_problems()
    ]
