"""A strict Content-Security-Policy: the pages load nothing but their own static files.

The Django admin gets the same policy, with no exception for /admin/. Its templates carry no
inline script or style (Django moved them to static files; change_list.html's one `<style>` is
for a list with `actions_on_top` and `actions_on_bottom` both off, which no admin here sets).
The inline styles its widgets show (select2's widths and dropdown position, the calendar and
clock boxes) are set by its static scripts through the CSSOM (`element.style`, jQuery's
`.css()`), which `style-src` does not govern: only `style` attributes in markup or set with
`setAttribute` are. A nonce covers `<style>` elements, never attributes, and `'unsafe-hashes'`
would have to list every width select2 computes, so neither is needed or would fit; a per-path
`'unsafe-inline'` would only weaken the pages operators use. tests/browser/test_admin_pages.py
drives those widgets and fails on any blocked inline style or script.
"""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
