"""Transient database trouble is a 503 with `Retry-After`, never a generic 500: an
organization's audit log busy (its chain lock held past AUDITLOG_CHAIN_LOCK_TIMEOUT_MS), or the
database out of reach. The page is rendered without the request, so it needs no database."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

from auditlogs.recording.recorder import ChainLockTimeout
from auditlogs.storage.backends import backend

logger = logging.getLogger(__name__)

BUSY = (
    2,
    "The audit log is busy",
    "Another change was being recorded at the same moment, so yours was not saved. Nothing "
    "was changed.",
)
UNREACHABLE = (
    30,
    "Audit Logs is briefly unavailable",
    "We cannot reach our database right now. Nothing you saved before is lost.",
)


def unavailable_response(request, error: BaseException | None) -> HttpResponse | None:
    """The 503 for a transient database error (JSON under /api/), or None for anything else."""
    if isinstance(error, ChainLockTimeout) or (
        isinstance(error, OperationalError) and backend().is_lock_timeout(error)
    ):
        retry_after, heading, explanation = BUSY
    elif isinstance(error, OperationalError | InterfaceError):
        retry_after, heading, explanation = UNREACHABLE
    else:
        return None
    logger.warning("503 for %s %s: %s", request.method, request.path, error)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": f"{heading}. {explanation}"}, status=503)
    else:
        context = {"heading": heading, "explanation": explanation, "retry_after": retry_after}
        response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class ServiceUnavailableMiddleware:
    """Views (and the API) that hit a transient database error answer 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return unavailable_response(request, exception)


def server_error(request):
    """handler500: the same 503 when a middleware (not a view) met the database down."""
    return unavailable_response(request, sys.exc_info()[1]) or defaults.server_error(request)
