from auditlogs.recording.context import context_from_request, using_context


class AuditContextMiddleware:
    """Puts the actor, IP address, user agent and a request id where `record` finds them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = context_from_request(request)
        request.audit_request_id = context.request_id
        with using_context(context):
            response = self.get_response(request)
        response.headers["X-Request-ID"] = context.request_id
        return response
