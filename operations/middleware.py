import logging
import time

from operations import metrics

logger = logging.getLogger("auditlogs.requests")


class RequestLogMiddleware:
    """One JSON log line and one latency observation per request (inside the audit context, so
    the line carries the request id its events were recorded with)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        view = metrics.view_name(request)
        metrics.observe_request(request.method, view, response.status_code, seconds)
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "view": view,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response
