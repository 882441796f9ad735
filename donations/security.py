"""Security headers on every response, built once at start-up.

Flask-Talisman did this first, but it rebuilt the Content-Security-Policy string on every
response, a visible share of the support page's time (bench/support_page.py); these
headers never change, so they are computed once. Session cookie flags are plain Flask
settings (``config.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError

from donations.config import public_url

#: scripts and styles only from our own origin; images may be data: URIs
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self' 'unsafe-inline'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}

#: pages other sites may show in an iframe (the end-of-article appeal box)
FRAMEABLE_ENDPOINTS = frozenset({"support.appeal_box"})

HSTS_MAX_AGE = 31_556_926


def require_same_origin() -> None:
    """Refuse a form posted from another site (CSRFError, the same clear 400 as a missing
    token), for forms on pages that carry no CSRF token so that showing them sets no cookie.

    Browsers send ``Origin`` with every POST (``null`` from a sandboxed or privacy-stripped
    context, refused); without it the ``Referer`` must be ours; with neither, the post is
    refused, as Django does for HTTPS. Our origins: the one the request came to and
    ``PUBLIC_URL``'s.
    """
    sent = request.headers.get("Origin") or request.headers.get("Referer")
    ours = {_origin(request.host_url), _origin(public_url())}
    if not sent or _origin(sent) not in ours:
        raise CSRFError("The form was not sent from this site.")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _policy(overrides: dict[str, str] | None = None) -> str:
    return "; ".join(f"{k} {v}" for k, v in (CONTENT_SECURITY_POLICY | (overrides or {})).items())


def headers_for(
    *, frameable: bool, production: bool, sources: dict[str, str] | None = None
) -> dict[str, str]:
    """The fixed set of security headers for a page; ``sources`` widens the policy."""
    overrides = (sources or {}) | ({"frame-ancestors": "*"} if frameable else {})
    headers = {
        "Content-Security-Policy": _policy(overrides),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "browsing-topics=()",
    }
    if not frameable:
        headers["X-Frame-Options"] = "DENY"
    if production:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE}; includeSubDomains"
    return headers


def _captcha_sources(script_url: str) -> dict[str, str]:
    """A hosted captcha (off unless ``CAPTCHA_SCRIPT_URL`` is set) loads its script and
    frame from its own origin: the only third party a newsroom can choose to allow."""
    if not script_url:
        return {}
    parts = urlsplit(script_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return {
        "script-src": f"'self' {origin}",
        "frame-src": origin,
        "connect-src": f"'self' {origin}",
    }


def init_app(app: Flask) -> None:
    production = app.config["ENV_NAME"] == "production"
    captcha = _captcha_sources(app.config["CAPTCHA_SCRIPT_URL"])
    default = list(headers_for(frameable=False, production=production, sources=captcha).items())
    frameable = list(headers_for(frameable=True, production=production, sources=captcha).items())

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        chosen = frameable if request.endpoint in FRAMEABLE_ENDPOINTS else default
        for name, value in chosen:
            response.headers[name] = value
        return response
