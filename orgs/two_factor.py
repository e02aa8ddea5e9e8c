"""Two-factor sign-in: a TOTP authenticator app and single-use recovery codes (django-otp).

django-otp keeps the devices (`TOTPDevice`, `StaticDevice` for the recovery codes) and checks
codes, with its own per-device throttling and no reuse of a TOTP code. This module is the one
place that turns them on and off, each change an event in every organization of the person.
Signing in with a device is the second step of the sign-in page (orgs/views.py).
"""

from base64 import b32encode

import segno
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from orgs.services import record_for_person

RECOVERY_CODES = 10
APP_NAME = "Authenticator app"
CODES_NAME = "Recovery codes"


def has_two_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_device(user) -> TOTPDevice:
    """The not yet confirmed app of a person setting up, made on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)


def qr_code(device: TOTPDevice) -> str:
    """The app's setup link as an SVG data URI (the page loads nothing from elsewhere)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def secret(device: TOTPDevice) -> str:
    """The key in base32, for typing into an app that cannot scan."""
    return b32encode(device.bin_key).decode()


@transaction.atomic
def enable(user, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the pending app with a code from it; the new recovery codes, or None."""
    if not device.verify_token(code.strip().replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    record_for_person("user.two_factor_enabled", user)
    return codes


@transaction.atomic
def regenerate_recovery_codes(user) -> list[str]:
    codes = _new_recovery_codes(user)
    record_for_person("user.recovery_codes_regenerated", user)
    return codes


@transaction.atomic
def disable(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record_for_person("user.two_factor_disabled", user)


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def verified_device(user, code: str):
    """The device a sign-in code belongs to (the app's code, or an unused recovery code,
    which is then used up), or None."""
    code = code.strip().replace(" ", "").lower()
    if not code or len(code) > 16:
        return None
    for device in [*TOTPDevice.objects.filter(user=user, confirmed=True),
                   *StaticDevice.objects.filter(user=user, confirmed=True)]:
        if device.verify_token(code):
            if isinstance(device, StaticDevice):
                record_for_person("user.recovery_code_used", user,
                                  metadata={"codes_left": recovery_codes_left(user)})
            return device
    return None


def _new_recovery_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=CODES_NAME)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes
