"""Styled error pages: a reader never sees a bare traceback or a blank 400."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to do that.",
    404: "We could not find that page.",
    405: "That action is not allowed here.",
    429: "Too many attempts. Please wait a little and try again.",
    500: "Something went wrong on our side. Nothing was charged. Please try again.",
}


def _render(status: int, message: str):
    if request.path.startswith("/webhooks/"):
        return {"error": message}, status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(
            400,
            "Your form expired or was sent from another page (security check failed). "
            "Please go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        return _render(status, MESSAGES.get(status, error.description or "Error"))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _render(500, MESSAGES[500])
