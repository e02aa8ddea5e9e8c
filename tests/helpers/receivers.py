"""What a webhook receiver checks, written out independently of the sender's code
(docs/integrations.md): the tests read deliveries the way a customer's receiver would."""

import hashlib
import hmac


def is_signed(request: dict, secret: str) -> bool:
    """Whether a captured request's body carries its signature: HMAC-SHA256 of
    "timestamp.body" with the destination's secret."""
    timestamp = request["headers"]["X-AuditLogs-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(request["headers"]["X-AuditLogs-Signature"], f"v1={expected}")
